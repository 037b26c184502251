"""The staff roles of docs/specification.md as groups, and the permissions each holds: the one table.

Data migrations call ``sync_roles`` when a feature adds permissions, and it runs
again after every ``migrate`` and test-database flush (``post_migrate``), so the
groups always hold exactly what this table says (extra grants made by an
administrator in the admin are left alone).
"""

from __future__ import annotations

MANAGERS = "Managers"
LEADS = "Complaints leads"
DIRECTORS = "Directors"

_CASE_READ = ["view_complaint", "view_attachment", "view_category"]
_INVESTIGATE = [
    "change_complaint",
    "work_complaint",
    "view_note",
    "add_note",
    "view_action",
    "change_action",
    "view_informationrequest",
]

# (app label, codename) per group.
ROLES: dict[str, list[tuple[str, str]]] = {
    MANAGERS: [("cases", c) for c in [*_CASE_READ, *_INVESTIGATE]],
    LEADS: [
        ("cases", c)
        for c in [
            *_CASE_READ,
            *_INVESTIGATE,
            "manage_all_complaints",
            "log_complaint",
            "add_category",
            "change_category",
        ]
    ]
    + [("appeals", "view_appeal"), ("appeals", "log_appeal")]
    + [("inbound", "view_inboundemail"), ("inbound", "handle_inboundemail")],
    DIRECTORS: [("cases", c) for c in _CASE_READ]
    + [("appeals", c) for c in ["view_appeal", "decide_appeal"]]
    # The yearly summary of complaint handling: the Director approves and publishes it (reports.annual).
    + [("reports", "publish_annualreport")],
}


# How a role is named in settings (OIDC_ROLE_MAP: the identity provider's groups that give each role).
ROLE_KEYS = {"manager": MANAGERS, "lead": LEADS, "director": DIRECTORS}


# How a role is named to a client ("Responsible: Complaints lead"): staff names stay inside the firm.
ROLE_TITLES = {DIRECTORS: "Director", LEADS: "Complaints lead", MANAGERS: "Manager"}


def role_title(group_names) -> str:
    """The title of the most senior role among ``group_names`` (the user's groups), or "Our team"."""
    names = set(group_names)
    return next((title for group, title in ROLE_TITLES.items() if group in names), "Our team")


def sync_roles(apps=None, *, verbosity: int = 0) -> None:
    """Create the groups and grant the table's permissions (idempotent).

    ``apps`` is a migration's historical registry, or None for the live one.
    """
    from django.contrib.auth.management import create_permissions

    if apps is None:
        from django.apps import apps as live_apps

        apps = live_apps
    app_labels = {app_label for grants in ROLES.values() for app_label, _ in grants}
    for app_label in app_labels:
        try:
            app_config = apps.get_app_config(app_label)
        except LookupError:  # an app whose first migration has not run yet: its own migration grants
            continue
        if getattr(app_config, "models_module", None) is None:
            app_config.models_module = True  # a migration state's stub lacks it
        create_permissions(app_config, apps=apps, verbosity=verbosity)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in grants:
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:  # a permission of a later migration not applied yet
                group.permissions.add(permission)


def sync_roles_after_migrate(sender, **kwargs) -> None:
    sync_roles(verbosity=kwargs.get("verbosity", 0))
