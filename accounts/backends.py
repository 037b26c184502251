"""Django's ModelBackend, reading who the user is, what they may do and their second-factor devices in one query.

Every staff request asks who the user is (``get_user``), what they may do (``has_perm``) and whether
the session has passed the second factor (``accounts.middleware``). ModelBackend reads the user, then
the permissions given to the user and to their groups, and django-otp's middleware reads the
session's device: three queries before the page asks anything of its own. On PostgreSQL this
backend's ``get_user`` reads them in one: the user's row, with the names of their permissions and
the ids of their confirmed devices as arrays beside it (``ArraySubquery``). They are kept on the user
object for the rest of the request, under names of this module's own. Elsewhere (SQLite on a laptop)
it reads the user alone and the rest when first asked, one query each, as before.

Nothing is kept between requests, so nothing needs forgetting: a role, a permission or a device
taken away, an account switched off or a password changed applies from the next request.
Otherwise this is ModelBackend: ``with_perm``, superusers and inactive users unchanged; sign-in too,
except that while single sign-on is on an account linked to the identity provider signs in only
there (``accounts.identity.password_sign_in_problem``).
"""

from __future__ import annotations

import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connections, router
from django.db.models import CharField, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Concat
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import identity

# What the user object carries for the rest of the request (names of this module's own, never Django's).
PERMISSIONS_ATTRIBUTE = "_accounts_permissions"
DEVICES_ATTRIBUTE = "_accounts_confirmed_devices"
# The kinds of second factor the product uses (accounts.two_factor): the app's codes and the recovery codes.
DEVICE_MODELS = (TOTPDevice, StaticDevice)

_PERMISSION_NAME = Concat("content_type__app_label", Value("."), "codename", output_field=CharField())


def granted(user) -> QuerySet[Permission]:
    """The permissions given to ``user`` (a user, or ``OuterRef("pk")``) directly or through a group."""
    return Permission.objects.filter(Q(user=user) | Q(group__user=user))


def permission_names(user) -> set[str]:
    """``granted(user)`` as "app_label.codename" names, in one query."""
    return set(granted(user).values_list(_PERMISSION_NAME, flat=True).distinct())


def confirmed_devices(model, user) -> QuerySet:
    """``user``'s (a user, or ``OuterRef("pk")``) confirmed devices of one kind (``DEVICE_MODELS``): those
    that may verify a session."""
    return model.objects.filter(user=user, confirmed=True)


def confirmed_device_ids(user) -> set[str]:
    """The persistent ids (django-otp's "app_label.model/pk") of ``user``'s confirmed devices: read with the user
    by ``PermissionBackend.get_user``, or now (one query per kind of device) for a user loaded otherwise."""
    ids = getattr(user, DEVICES_ATTRIBUTE, None)
    if ids is None:
        ids = {
            f"{model.model_label()}/{pk}"
            for model in DEVICE_MODELS
            for pk in confirmed_devices(model, user).values_list("pk", flat=True)
        }
        setattr(user, DEVICES_ATTRIBUTE, ids)
    return ids


def _device_array(model) -> str:
    return f"_confirmed_{model._meta.model_name}_ids"


@functools.cache
def users_with_access() -> QuerySet:
    """Users, each row with the names of their permissions and the ids of their confirmed devices (PostgreSQL).

    Built once per process and filtered by each request: building these annotations costs more than
    running the query (bench/RESULTS.md, issue 21), and they never change; the rows are read afresh each time.
    """
    return get_user_model()._default_manager.annotate(
        _granted=ArraySubquery(granted(OuterRef("pk")).values(permission_name=_PERMISSION_NAME)),
        **{
            _device_array(model): ArraySubquery(confirmed_devices(model, OuterRef("pk")).values("pk"))
            for model in DEVICE_MODELS
        },
    )


class PermissionBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        # While single sign-on is on, an account linked to the identity provider signs in only there.
        if user is not None and identity.password_sign_in_problem(user):
            return None
        return user

    def get_user(self, user_id):
        together = connections[router.db_for_read(get_user_model())].vendor == "postgresql"
        users = users_with_access() if together else get_user_model()._default_manager.all()
        try:
            user = users.get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        if not self.user_can_authenticate(user):
            return None
        if together:
            setattr(user, PERMISSIONS_ATTRIBUTE, set(getattr(user, "_granted")))  # noqa: B009 - an annotation
            devices = {
                f"{model.model_label()}/{pk}" for model in DEVICE_MODELS for pk in getattr(user, _device_array(model))
            }
            setattr(user, DEVICES_ATTRIBUTE, devices)
        return user

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None or user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        permissions = getattr(user_obj, PERMISSIONS_ATTRIBUTE, None)
        if permissions is None:
            # A user object this backend's get_user did not load (SQLite, or one a view fetched): read them now.
            permissions = permission_names(user_obj)
            setattr(user_obj, PERMISSIONS_ATTRIBUTE, permissions)
        return permissions
