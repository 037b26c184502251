"""URLs of the appeals app, per audience (composed into namespaces in jpdit_complaints/urls.py).

The Director's pages are in the admin (appeals/admin.py).
"""

from django.urls import path

from appeals import views

client_patterns = [
    path("<str:token>/appeal/", views.client_appeal, name="appeal"),
]

staff_patterns = [
    path("complaints/<str:reference>/appeal/log/", views.appeal_log, name="appeal_log"),
]
