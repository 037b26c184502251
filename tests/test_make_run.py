"""What `make run` relies on: the demo data command and the process list it serves.

`make run` itself (virtualenv, install, honcho) is exercised by hand and in the
README's instructions; these tests pin the parts that can break quietly.
"""

from __future__ import annotations

import re
import shlex
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from cases.models import Category, Complaint
from demo.management.commands.seed_demo import DEMO_CLIENT, DEMO_USERS
from notifications.models import OutboundMessage
from tests.test_settings import load

ROOT = Path(__file__).resolve().parent.parent


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--force", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_creates_one_user_per_staff_role_and_prints_their_logins():
    output = seed()

    users = get_user_model().objects
    for spec in DEMO_USERS:
        user = users.get(username=spec.username)
        assert user.is_staff
        assert user.check_password(spec.password)
        assert re.search(rf"{re.escape(spec.role)}\s+{spec.username}\s+{re.escape(spec.password)}", output)
    assert list(users.get(username="lead").groups.values_list("name", flat=True)) == ["Complaints leads"]
    assert list(users.get(username="manager").groups.values_list("name", flat=True)) == ["Managers"]
    assert list(users.get(username="director").groups.values_list("name", flat=True)) == ["Directors"]
    assert users.get(username="admin").is_superuser
    assert not users.get(username="lead").is_superuser


@pytest.mark.django_db
def test_seed_demo_files_the_client_complaint_through_the_intake_service():
    output = seed()

    complaint, duplicate = Complaint.objects.filter(email=DEMO_CLIENT.email).order_by("pk")
    assert complaint.channel == Complaint.Channel.WEB
    # The demo shows related complaints: the client's duplicate merged in, and a colleague's linked.
    assert (duplicate.status, duplicate.merged_into) == (Complaint.Status.MERGED, complaint)
    assert complaint.related_links.count() == 1
    assert complaint.events.filter(kind="submitted").exists()
    assert OutboundMessage.objects.filter(complaint=complaint, kind="complaint_acknowledgement").exists()
    assert complaint.reference in output
    assert f"{settings.SITE_URL}/track/" in output
    assert Category.objects.exists()


@pytest.mark.django_db
def test_second_seed_demo_reuses_everything_and_still_prints_the_logins():
    seed()
    counts = (get_user_model().objects.count(), Complaint.objects.count(), OutboundMessage.objects.count())

    output = seed()

    assert (get_user_model().objects.count(), Complaint.objects.count(), OutboundMessage.objects.count()) == counts
    assert "0 user(s) created, 4 reused; demo complaint reused" in output
    assert all(spec.password in output for spec in DEMO_USERS)


@pytest.mark.django_db
def test_seed_demo_never_prints_a_password_that_no_longer_works():
    seed()
    lead = get_user_model().objects.get(username="lead")
    lead.set_password("a private password of the developer")
    lead.save()

    output = seed()

    assert "demo-lead-2026!" not in output
    assert "changed since seeding" in output
    assert "demo-lead-2026!" in seed("--reset-passwords")


@pytest.mark.django_db
def test_seed_demo_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", stdout=StringIO())

    assert not get_user_model().objects.exists()


def procfile() -> dict[str, list[str]]:
    entries = {}
    for line in (ROOT / "Procfile.dev").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            entries[name.strip()] = shlex.split(command)
    return entries


def test_make_run_serves_the_site_a_worker_one_beat_and_the_mail_reader():
    entries = procfile()

    assert list(entries) == ["web", "worker", "beat", "mail"]  # honcho gives the first entry the port
    assert entries["web"][-2:] == ["runserver", "127.0.0.1:$PORT"]
    assert entries["worker"][:4] == ["celery", "-A", "jpdit_complaints", "worker"]
    assert entries["beat"][:4] == ["celery", "-A", "jpdit_complaints", "beat"]
    assert entries["mail"] == ["python", "manage.py", "read_mail"]


def test_make_run_creates_the_folders_the_embedded_broker_and_mail_need():
    makefile = (ROOT / "Makefile").read_text()
    runtime_dirs = re.search(r"^RUNTIME_DIRS := (.+)$", makefile, re.MULTILINE)[1].split()

    # The folders the settings of `make run` name (the test settings use memory:// instead).
    loaded = load({})
    needed = {
        loaded["broker_options"]["data_folder_in"],
        loaded["broker_options"]["data_folder_out"],
        loaded["broker_options"]["processed_folder"],
        loaded["email_file_path"],
    }
    assert {str(Path(path).relative_to(ROOT)) for path in needed} <= set(runtime_dirs)
    # The Maildirs of complaints@ and appeals@, with the new/ folder where a developer drops .eml files.
    maildirs = {
        str(Path(url.removeprefix("maildir://")).relative_to(ROOT)) for url in loaded["inbound_mailboxes"].values()
    }
    assert {f"{maildir}/new" for maildir in maildirs} <= set(runtime_dirs)


@pytest.mark.django_db
def test_demo_data_gives_the_director_an_appeal_to_decide_by_someone_else():
    from appeals.models import Appeal
    from appeals.permissions import independence_problem

    call_command("seed_demo", "--force", stdout=StringIO())
    call_command("seed_demo", "--force", stdout=StringIO())

    appeal = Appeal.objects.get()
    assert appeal.complaint.status == "under_appeal"
    assert independence_problem(get_user_model().objects.get(username="director"), appeal.complaint) == ""
