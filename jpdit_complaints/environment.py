"""Which settings module to load: one rule for manage.py, WSGI and Celery."""

import os

SETTINGS_BY_ENV = {
    "local": "jpdit_complaints.settings.local",
    "test": "jpdit_complaints.settings.test",
    "production": "jpdit_complaints.settings.production",
}


def use_default_settings() -> None:
    """Point DJANGO_SETTINGS_MODULE at the module named by DJANGO_ENV (default: local)."""
    env_name = os.environ.get("DJANGO_ENV", "local")
    try:
        module = SETTINGS_BY_ENV[env_name]
    except KeyError:
        choices = ", ".join(SETTINGS_BY_ENV)
        raise SystemExit(f"DJANGO_ENV={env_name!r} is not one of: {choices}") from None
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", module)
