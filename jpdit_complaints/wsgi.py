"""WSGI entry point for gunicorn."""

from django.core.wsgi import get_wsgi_application

from jpdit_complaints.environment import use_default_settings

use_default_settings()
application = get_wsgi_application()
