"""A page that fails, for tests/test_logging.py's error-reporting test."""

from django.urls import path


def fails(request, token):
    raise ValueError(f"could not open /track/{token}/ for {request.POST.get('email')}")


urlpatterns = [path("track/<str:token>/boom/", fails)]
