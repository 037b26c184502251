import pytest
from django.contrib.auth.models import Group

from cases import services
from cases.models import Complaint


@pytest.mark.django_db
def test_roles_exist_with_intake_permission_only_for_leads():
    leads = Group.objects.get(name="Complaints leads")
    managers = Group.objects.get(name="Managers")
    assert leads.permissions.filter(codename="log_complaint").exists()
    assert not managers.permissions.filter(codename="log_complaint").exists()


@pytest.mark.django_db
def test_submit_creates_received_complaint_with_reference_and_outbox_row():
    details = services.ComplaintDetails(name="Ada", email="ada@example.com", description="Broken backup")
    complaint = services.complaint_submit(details=details)
    assert complaint.status == Complaint.Status.RECEIVED
    assert complaint.reference.startswith("JPD-")
    assert complaint.messages.get().kind == "complaint_acknowledgement"
