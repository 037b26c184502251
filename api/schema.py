"""The token scheme, as the OpenAPI schema states it (drf-spectacular; imported by ``ApiConfig.ready``)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from the administrator (Authorization: Bearer jpdit_...); its scopes "
            "(cases:read, personal_data:read, reports:read) say what it may read. See docs/api.md.",
        }
