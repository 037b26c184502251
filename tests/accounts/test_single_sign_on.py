"""Staff single sign-on through OpenID Connect (issue 20, point 8), against a provider run inside the test.

The whole flow goes through Django's test client and the provider of tests/accounts/oidc_provider.py: the
sign-in page's button, the redirect to the provider (which the test follows, as a browser would), the
callback, the code exchanged for tokens by the product's own server, the ID token checked against the
provider's keys, userinfo read. The second factor is required throughout, as in production.
"""

from __future__ import annotations

from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import identity
from accounts.models import IdentityLink
from tests.accounts.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from tests.factories import UserFactory, lead

pytestmark = pytest.mark.django_db
User = get_user_model()
PASSWORD = "correct horse battery staple"
HOME = reverse("staff:home")
ROLE_MAP = {"complaints-managers": "manager", "complaints-leads": "lead", "directors": "director"}


@pytest.fixture(scope="module")
def provider():
    running = Provider().start()
    yield running
    running.stop()


@pytest.fixture
def sso(settings, provider):
    """Single sign-on on, pointed at the test's provider; the second factor required."""
    provider.reset()
    settings.STAFF_REQUIRE_2FA = True
    settings.OIDC_ENABLED = True
    settings.OIDC_PROVIDER_NAME = "Contoso ID"
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = provider.url("/authorize")
    settings.OIDC_OP_TOKEN_ENDPOINT = provider.url("/token")
    settings.OIDC_OP_USER_ENDPOINT = provider.url("/userinfo")
    settings.OIDC_OP_JWKS_ENDPOINT = provider.url("/jwks")
    settings.OIDC_ROLE_MAP = ROLE_MAP
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "accounts.oidc.IdentityProviderBackend"]
    assert identity.configuration_problems() == []
    return provider


def person(sub="u-1", email="ada@jpditservices.com", groups=("complaints-leads",), **claims) -> dict:
    return {
        "sub": sub,
        "email": email,
        "email_verified": True,
        "given_name": "Ada",
        "family_name": "Lovelace",
        "groups": list(groups),
        **claims,
    }


def through_provider(client, provider, who: dict | None, next_url: str = ""):
    """Click "Sign in with ...", sign in at the provider (the browser following its redirect), come back."""
    if who is not None:
        provider.person = who
    start = client.get(reverse("staff:sso_start"), {"next": next_url} if next_url else {})
    assert start.status_code == 302
    assert start["Location"].startswith(provider.url("/authorize?"))
    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302
    back = urlsplit(at_provider.headers["Location"])
    assert back.path == reverse("staff:sso_callback")
    return client.get(back.path, dict(parse_qsl(back.query)))


def roles_of(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def test_the_first_sign_in_creates_the_account_with_its_role_and_the_providers_second_factor_counts(client, sso):
    page = client.get(reverse("staff:login")).content.decode()
    assert "Sign in with Contoso ID" in page

    response = through_provider(client, sso, person(groups=["complaints-leads", "everyone"]))

    assert response.status_code == 302
    assert response["Location"] == HOME
    user = User.objects.get(identity_link__subject="u-1")
    assert (user.username, user.email, user.get_full_name()) == ("ada@jpditservices.com", user.email, "Ada Lovelace")
    assert roles_of(user) == {"Complaints leads"}
    assert user.is_staff
    assert not user.has_usable_password()
    assert IdentityLink.objects.get(user=user).issuer == sso.issuer
    # No code asked here: the provider checked the second factor. On PostgreSQL, one query for the user, their
    # roles and second factor, as after a password (tests/accounts/test_fixed_cost.py), then the page's count.
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("staff:recovery_codes")).status_code == 200
    assert len(queries) == (2 if connection.vendor == "postgresql" else 3)


def test_a_role_changed_at_the_provider_applies_at_the_next_sign_in(client, sso):
    through_provider(client, sso, person(groups=["complaints-leads"]))
    user = User.objects.get(identity_link__subject="u-1")
    other_group = Group.objects.create(name="Newsletter")  # not a role: given in the admin, left alone
    user.groups.add(other_group)
    client.post(reverse("staff:logout"))

    through_provider(client, sso, person(groups=["complaints-managers"]))

    assert roles_of(user) == {"Managers", "Newsletter"}
    assert client.get(reverse("staff:complaint_log")).status_code == 403  # a lead's page, no longer theirs
    assert client.get(HOME).status_code == 200


def test_someone_in_no_mapped_group_is_refused_with_a_clear_page_and_loses_any_role(client, sso):
    response = through_provider(client, sso, person(sub="u-2", email="stranger@jpditservices.com", groups=["sales"]))

    assert response.status_code == 403
    assert "none of the groups that give a role" in response.content.decode()
    assert not User.objects.filter(email="stranger@jpditservices.com").exists()
    assert client.get(HOME).status_code == 302  # not signed in

    through_provider(client, sso, person(groups=["directors"]))
    client.post(reverse("staff:logout"))
    refused = through_provider(client, sso, person(groups=[]))  # left every group at the provider
    assert refused.status_code == 403
    assert roles_of(User.objects.get(identity_link__subject="u-1")) == set()


@pytest.mark.parametrize(
    "forgery",
    ["state", "nonce", "audience", "signature"],
)
def test_a_forged_or_replayed_sign_in_is_refused(client, sso, forgery):
    sso.person = person()
    if forgery == "state":
        start = client.get(reverse("staff:sso_start"))
        at_provider = requests.get(start["Location"], allow_redirects=False, timeout=10)
        query = parse_qs(urlsplit(at_provider.headers["Location"]).query)
        response = client.get(reverse("staff:sso_callback"), {"code": query["code"][0], "state": "forged"})
    else:
        sso.tamper = {
            "nonce": {"nonce": "forged"},
            "audience": {"aud": "another-client"},
            "signature": {"key": "other"},
        }[forgery]
        response = through_provider(client, sso, None)

    assert response.status_code == 400
    assert "could not be completed" in response.content.decode()
    assert not User.objects.filter(email="ada@jpditservices.com").exists()
    assert client.get(HOME).status_code == 302


def test_a_callback_used_twice_signs_nobody_in_the_second_time(client, sso):
    sso.person = person()
    start = client.get(reverse("staff:sso_start"))
    back = urlsplit(requests.get(start["Location"], allow_redirects=False, timeout=10).headers["Location"])
    assert client.get(back.path, dict(parse_qsl(back.query))).status_code == 302
    client.post(reverse("staff:logout"))

    again = client.get(back.path, dict(parse_qsl(back.query)))

    assert again.status_code == 400
    assert client.get(HOME).status_code == 302


def test_with_the_mfa_claim_required_a_sign_in_without_a_second_factor_is_refused(client, sso, settings):
    settings.OIDC_REQUIRE_MFA = True

    refused = through_provider(client, sso, person(amr=["pwd"]))
    assert refused.status_code == 403
    assert "did not confirm a second factor" in refused.content.decode()
    assert client.get(HOME).status_code == 302

    assert through_provider(client, sso, person(amr=["pwd", "otp", "mfa"])).status_code == 302
    assert client.get(HOME).status_code == 200


def test_the_provider_down_is_said_so(client, sso):
    sso.down = True
    response = through_provider(client, sso, person())
    assert response.status_code == 503
    assert "Contoso ID could not be reached" in response.content.decode()


def test_signing_out_ends_the_session_here_and_at_the_provider(client, sso, settings):
    settings.OIDC_OP_LOGOUT_ENDPOINT = sso.url("/logout")
    settings.OIDC_STORE_ID_TOKEN = True
    through_provider(client, sso, person(), next_url=reverse("staff:recovery_codes"))
    assert client.get(reverse("staff:recovery_codes")).status_code == 200

    response = client.post(reverse("staff:logout"))

    assert client.get(HOME).status_code == 302
    target = urlsplit(response["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == sso.url("/logout")
    query = parse_qs(target.query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/staff/login/"]
    assert query["client_id"] == [CLIENT_ID]
    assert query["id_token_hint"][0].count(".") == 2


def test_while_on_a_linked_account_signs_in_only_through_the_provider_and_others_keep_password_and_code(client, sso):
    local = lead(email="ada@jpditservices.com")
    # Not linked yet: the password works, and the code is owed; going through the provider instead pays it.
    password = client.post(reverse("staff:login"), {"username": local.username, "password": PASSWORD})
    assert password["Location"].startswith(reverse("staff:two_factor"))
    through_provider(client, sso, person())
    assert IdentityLink.objects.get(subject="u-1").user == local  # linked by its email address
    assert client.get(HOME).status_code == 200
    client.post(reverse("staff:logout"))

    refused = client.post(reverse("staff:login"), {"username": local.username, "password": PASSWORD})
    assert refused.status_code == 200
    assert client.get(HOME).status_code == 302

    # An account never linked, and an administrator, still sign in with the password, then the code.
    for account in (lead(), UserFactory(is_superuser=True)):
        signed_in = client.post(reverse("staff:login"), {"username": account.username, "password": PASSWORD})
        assert signed_in.status_code == 302
        assert signed_in["Location"].startswith(reverse("staff:two_factor"))
        assert client.get(HOME)["Location"].startswith(reverse("staff:two_factor"))
        client.post(reverse("staff:logout"))


def test_failed_passwords_still_lock_out_and_refused_provider_sign_ins_do_not(client, sso, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(3):
        through_provider(client, sso, person(sub="u-9", email="sales@jpditservices.com", groups=["sales"]))
    assert through_provider(client, sso, person()).status_code == 302  # the address is not locked out
    client.post(reverse("staff:logout"))

    account = lead()
    for _ in range(2):
        client.post(reverse("staff:login"), {"username": account.username, "password": "wrong"})
    locked = client.post(reverse("staff:login"), {"username": account.username, "password": PASSWORD})
    assert locked.status_code == 429


def test_with_single_sign_on_off_its_pages_do_not_exist_and_the_password_and_code_work_as_before(client, settings):
    settings.STAFF_REQUIRE_2FA = True
    assert client.get(reverse("staff:sso_start")).status_code == 404
    assert client.get(reverse("staff:sso_callback"), {"code": "x", "state": "y"}).status_code == 404
    assert "Sign in with" not in client.get(reverse("staff:login")).content.decode()

    account = lead()
    TOTPDevice.objects.create(user=account, name="Authenticator app", confirmed=True)
    signed_in = client.post(reverse("staff:login"), {"username": account.username, "password": PASSWORD})
    assert signed_in["Location"].startswith(reverse("staff:two_factor"))
    assert client.get(HOME)["Location"].startswith(reverse("staff:two_factor"))


def test_a_configuration_that_cannot_work_is_refused_at_start_up(settings):
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = ""
    settings.OIDC_ROLE_MAP = {"complaints-leads": "boss"}
    problems = identity.configuration_problems()
    assert "OIDC_ENABLED needs OIDC_RP_CLIENT_ID" in problems
    assert any("roles are director, lead, manager" in problem for problem in problems)
    with pytest.raises(ImproperlyConfigured):
        identity.role_map()
