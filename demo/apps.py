from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for `make run` (``manage.py seed_demo``): the top layer, it may use every app."""

    name = "demo"
    verbose_name = "Demo data"
