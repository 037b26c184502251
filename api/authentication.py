"""The API's one way in: ``Authorization: Bearer <key>`` (``api.services.token_for_key``); no session, no password."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from api.services import TokenRefused, token_for_key

KEYWORD = "Bearer"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """The token's user becomes ``request.user`` and the token ``request.auth``; a bad key is answered 401."""

    def authenticate(self, request):
        words = authentication.get_authorization_header(request).split()
        if not words or words[0].lower() != KEYWORD.lower().encode():
            return None
        if len(words) != 2:
            raise exceptions.AuthenticationFailed("Give the key after Bearer, with no spaces in it.")
        try:
            token = token_for_key(words[1].decode("ascii"))
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        except TokenRefused as refusal:
            raise exceptions.AuthenticationFailed(str(refusal)) from None
        return token.user, token

    def authenticate_header(self, request) -> str:
        # Makes an unauthenticated call a 401 with this challenge (not a 403).
        return f'{KEYWORD} realm="api"'
