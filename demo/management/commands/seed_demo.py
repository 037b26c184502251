"""Demo data for `make run`: one user per staff role, a client with a complaint (with a duplicate merged into it
and a related complaint), and an appeal; an API token for the complaints lead (its key printed when it is made)
and a webhook endpoint, switched off, to try.

Idempotent: a second run finds what the first made, creates nothing twice and
prints the same logins. The complaint is filed through ``cases.services``, exactly
as the public form files one, so it has a reference number and its
acknowledgement is queued in the outbox (the Celery worker sends it to var/mail/).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from api import services as api_services
from api.models import ApiToken
from appeals.services import appeal_lodge
from cases import business_days, links, services
from cases.models import Category, Complaint, Paragraph, RootCause
from notifications.models import WebhookEndpoint
from reports import annual
from reports.models import AnnualReport


@dataclass(frozen=True)
class DemoUser:
    role: str
    username: str
    password: str
    first_name: str
    last_name: str
    group: str | None = None
    superuser: bool = False


# Fixed passwords: this command refuses to run outside DEBUG unless forced.
DEMO_USERS = (
    DemoUser("Complaints lead", "lead", "demo-lead-2026!", "Priya", "Shah", group="Complaints leads"),
    DemoUser("Manager", "manager", "demo-manager-2026!", "Tom", "Bennett", group="Managers"),
    DemoUser("Director", "director", "demo-director-2026!", "Helen", "Price", group="Directors"),
    DemoUser("Administrator", "admin", "demo-admin-2026!", "Sam", "Okafor", superuser=True),
)

CHANGED_SINCE_SEEDING = "(changed since seeding; manage.py seed_demo --reset-passwords sets it back)"

DEMO_CATEGORIES = ("Billing", "Data protection", "Security incident response", "Service quality", "Staff conduct")
# Reusable paragraphs staff insert into updates, questions and findings (the administrator keeps them in the admin).
# Why complaints arise (the administrator's list; each outcome names one).
DEMO_ROOT_CAUSES = (
    "Booking or scheduling error",
    "Contact details out of date",
    "Process not followed",
    "System or tool failure",
    "Third-party supplier",
    "No fault found",
)
DEMO_PARAGRAPHS = {
    "Apology for a delay": "We are sorry that this is taking longer than we said. We are still working on it and "
    "will write again as soon as we have news.",
    "Which site?": "So that we look at the right records, please tell us which of your sites or offices was "
    "affected, and the date and rough time it happened.",
    "Engineer's report": "We have read the engineer's report of the visit and spoken to the engineer and their "
    "manager about what happened.",
}

DEMO_CLIENT = services.ComplaintDetails(
    name="Alex Morgan",
    email="alex.morgan@example.com",
    phone="01494 000123",
    organisation="Morgan & Webb Dental Practice",
    preferred_contact=Complaint.ContactMethod.EMAIL,
    description=(
        "Our quarterly penetration test report arrived three weeks late and listed findings for a "
        "network that is not ours. We raised this with our account manager twice and heard nothing back."
    ),
    desired_outcome="A corrected report, an explanation of how another client's findings reached us, and a refund.",
)

# The demo client sent the same complaint again by email a day later (a duplicate, merged into the first by the
# lead), and a partner of the same practice complained about the same report (linked as related): the case
# page's related complaints.
DEMO_DUPLICATE = services.ComplaintDetails(
    name="Alex Morgan",
    email="alex.morgan@example.com",
    organisation="Morgan & Webb Dental Practice",
    description=(
        "I am writing again about our penetration test report: it is now four weeks late and still lists "
        "another network's findings."
    ),
)
DEMO_COLLEAGUE = services.ComplaintDetails(
    name="Sam Webb",
    email="sam.webb@example.com",
    organisation="Morgan & Webb Dental Practice",
    description="Our practice's penetration test report names servers we do not have. Who else has seen ours?",
)

# A second client whose complaint was answered and appealed: the Director's demo work.
DEMO_APPELLANT = services.ComplaintDetails(
    name="Jo Fletcher",
    email="jo.fletcher@example.com",
    phone="01494 000456",
    organisation="Fletcher Architects",
    preferred_contact=Complaint.ContactMethod.EMAIL,
    description=(
        "Our firewall was reconfigured during a maintenance window without notice and our remote staff "
        "could not connect for a whole morning."
    ),
    desired_outcome="An apology and a credit for the lost morning.",
    # Someone complaining alongside the client: both get our letters and emails.
    representative=services.RepresentativeDetails(
        name="Priya Shah",
        relationship="the practice's IT consultant",
        email="priya.shah@example.com",
        consent_note="Jo Fletcher named Priya in the complaint and asked us to copy her in.",
        consent_given_on=date(2026, 1, 5),
        correspondence_to=Complaint.Correspondence.BOTH,
    ),
)
DEMO_TOKEN_NAME = "Demo reporting system"  # noqa: S105 - a token's name, not its key
# Switched off: nothing listens there until a developer runs a receiver (docs/webhooks.md), then ticks "active".
DEMO_ENDPOINT = {
    "name": "Demo receiver",
    "url": "http://127.0.0.1:8765/jpdit-webhooks",
    "events": [
        "complaint.received",
        "complaint.acknowledged",
        "complaint.outcome_issued",
        "appeal.lodged",
        "appeal.decided",
        "deadline.breached",
    ],
    "active": False,
}
DEMO_FINDINGS = (
    "The maintenance window was announced in the monthly bulletin, but the bulletin went to an address "
    "that had left your firm. The change itself followed our change procedure."
)
DEMO_REASONS = "Notice was given under the contract to the contact address we held at the time."
DEMO_APPEAL_REASONS = (
    "We told your account manager about the new contact address in August. The notice went to the wrong "
    "place because of your records, not ours."
)

# The Director's words in last year's published annual report (reports.annual).
DEMO_FOREWORD = (
    "Every complaint tells us something about how we work. This report sets out how we handled the "
    "complaints we received last year, and what we changed because of them."
)
DEMO_CHANGES = (
    "Contact details out of date: we now ask every client to confirm their notice address at each contract "
    "renewal, and maintenance notices go to two named contacts.\n\n"
    "Booking or scheduling error: engineers' visits are confirmed by text the working day before."
)


class Command(BaseCommand):
    help = "Create (or reuse) demo staff users and a demo client complaint, and print how to sign in."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even though DEBUG is off (the demo passwords are public: never on a real site).",
        )
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Set the demo users' passwords back to the printed demo passwords.",
        )

    def handle(self, *args, force: bool, reset_passwords: bool, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates users with published passwords, so it only runs with DEBUG on "
                "(DJANGO_ENV=local). Use --force if you really mean it."
            )
        with transaction.atomic():
            users = [(spec, *self._ensure_user(spec, reset_passwords)) for spec in DEMO_USERS]
            for name in DEMO_CATEGORIES:
                Category.objects.get_or_create(name=name)
            for name in DEMO_ROOT_CAUSES:
                RootCause.objects.get_or_create(name=name)
            for title, text in DEMO_PARAGRAPHS.items():
                Paragraph.objects.get_or_create(title=title, defaults={"text": text})
            WebhookEndpoint.objects.get_or_create(name=DEMO_ENDPOINT["name"], defaults=DEMO_ENDPOINT)
            api_key = self._ensure_token()
        # Filed in its own transaction so the acknowledgement is queued once it commits.
        complaint, complaint_created = self._ensure_complaint()
        self._ensure_related(complaint)
        appealed = self._ensure_appeal()
        report = self._ensure_annual_report()
        self._print(users, complaint, complaint_created)
        self.stdout.write(
            f"Demo appeal for the Director: complaint {appealed.reference} ({appealed.name}), "
            f"{appealed.get_status_display().lower()}: {settings.SITE_URL}/admin/appeals/appeal/ "
            "(deciding it closes the complaint, and the client's satisfaction survey goes to var/mail/)"
        )
        self.stdout.write(
            f"Annual report {report.year}, published by the Director: {settings.SITE_URL}"
            f"{reverse('public:annual_report', args=[report.year])} (staff: {settings.SITE_URL}"
            f"{reverse('reports:annual_list')})"
        )
        self._print_integration(api_key)
        self.stdout.write("")

    def _ensure_token(self) -> str:
        """The lead's demo API token: its key the first time (shown once, as the admin shows one), else ""."""
        if ApiToken.objects.filter(name=DEMO_TOKEN_NAME).exists():
            return ""
        _, key = api_services.token_issue(
            name=DEMO_TOKEN_NAME,
            user=get_user_model().objects.get(username="lead"),
            scopes=[ApiToken.Scope.CASES, ApiToken.Scope.REPORTS],
            expires_at=timezone.now() + timedelta(days=90),
            issued_by=get_user_model().objects.get(username="admin"),
        )
        return key

    def _print_integration(self, api_key: str) -> None:
        write = self.stdout.write
        write("")
        write(f"API (docs/api.md): {settings.SITE_URL}/api/v1/cases/, schema {settings.SITE_URL}/api/v1/schema/")
        if api_key:
            write(f"  The lead's demo token (shown this once): curl -H 'Authorization: Bearer {api_key}' ...")
        else:
            write(
                f"  The lead's demo token was printed when it was made; issue another in the admin ({DEMO_TOKEN_NAME})."
            )
        write(
            f"Webhooks (docs/webhooks.md): the endpoint '{DEMO_ENDPOINT['name']}' ({DEMO_ENDPOINT['url']}) is "
            "registered, switched off: run a receiver there and switch it on in the admin."
        )

    def _ensure_user(self, spec: DemoUser, reset_password: bool) -> tuple[bool, bool]:
        """Returns (created, password_is_demo)."""
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": f"{spec.username}@demo.jpditservices.invalid",
                "is_staff": True,
                "is_superuser": spec.superuser,
            },
        )
        if created or reset_password:
            user.set_password(spec.password)
            user.save()
            password_is_demo = True
        else:
            password_is_demo = user.check_password(spec.password)
        if spec.group:
            user.groups.add(Group.objects.get(name=spec.group))
        return created, password_is_demo

    def _ensure_complaint(self) -> tuple[Complaint, bool]:
        existing = (
            Complaint.objects.filter(email=DEMO_CLIENT.email, channel=Complaint.Channel.WEB).order_by("pk").first()
        )
        if existing is not None:
            return existing, False
        details = services.ComplaintDetails.from_mapping(
            {
                **DEMO_CLIENT.as_model_fields(),
                "incident_date": business_days.london_today() - timedelta(days=12),
            }
        )
        return services.complaint_submit(details=details), True

    def _ensure_related(self, complaint: Complaint) -> None:
        """The demo client's duplicate, merged into their complaint, and a colleague's complaint linked to it."""
        if complaint.duplicates.exists() or complaint.status not in Complaint.OPEN_STATUSES:
            return
        lead = get_user_model().objects.get(username="lead")
        duplicate = services.complaint_submit(details=DEMO_DUPLICATE)
        colleague = services.complaint_submit(details=DEMO_COLLEAGUE)
        services.complaint_merge(actor=lead, complaint=duplicate, into=complaint.reference)
        services.complaint_link_related(actor=lead, complaint=complaint, reference=colleague.reference)

    def _ensure_appeal(self) -> Complaint:
        """A complaint taken through acknowledgement, investigation and outcome to an appeal, by the services."""

        existing = Complaint.objects.filter(email=DEMO_APPELLANT.email).order_by("pk").first()
        if existing is not None:
            return existing
        manager = get_user_model().objects.get(username="manager")
        # Each step in its own transaction, as the site takes them (filing and appealing may keep documents,
        # so they must be outermost: cases.services.documents_stored).
        complaint = services.complaint_submit(details=DEMO_APPELLANT)
        with transaction.atomic():
            complaint = services.complaint_acknowledge(complaint=complaint, at=complaint.received_at)
            complaint = services.complaint_start_investigation(actor=manager, complaint=complaint)
            complaint = services.complaint_issue_outcome(
                actor=manager,
                complaint=complaint,
                outcome="not_upheld",
                findings=DEMO_FINDINGS,
                reasons=DEMO_REASONS,
                root_cause_id=RootCause.objects.get(name="Contact details out of date").pk,
                lesson="Ask clients to confirm their notice address at each contract renewal.",
            )
        appeal_lodge(complaint=complaint, reasons=DEMO_APPEAL_REASONS)
        complaint.refresh_from_db()
        return complaint

    def _ensure_annual_report(self) -> AnnualReport:
        """Last year's annual report, published by the Director through the services (its PDF is made on commit)."""
        year = business_days.london_today().year - 1
        existing = AnnualReport.objects.filter(year=year, state=AnnualReport.State.PUBLISHED).first()
        if existing is not None:
            return existing
        director = get_user_model().objects.get(username="director")
        report = annual.annual_report_start(actor=director, year=year)
        with transaction.atomic():
            report = annual.annual_report_edit(
                actor=director, report=report, foreword=DEMO_FOREWORD, changes=DEMO_CHANGES
            )
            report = annual.annual_report_approve(actor=director, report=report)
            return annual.annual_report_publish(actor=director, report=report)

    def _print(self, users, complaint: Complaint, complaint_created: bool) -> None:
        write = self.stdout.write
        created = sum(1 for _spec, was_created, _ok in users if was_created)
        write("")
        write(
            self.style.SUCCESS(
                f"Demo data ready: {created} user(s) created, {len(users) - created} reused; "
                f"demo complaint {'created' if complaint_created else 'reused'}."
            )
        )
        write("")
        write(f"Staff sign-in: {settings.SITE_URL}{reverse('staff:login')}   Admin: {settings.SITE_URL}/admin/")
        write(f"  {'role':<17}{'username':<11}password")
        for spec, _created, password_is_demo in users:
            password = spec.password if password_is_demo else CHANGED_SINCE_SEEDING
            write(f"  {spec.role:<17}{spec.username:<11}{password}")
        write("")
        write(f"Demo client: {complaint.name} <{complaint.email}>")
        write(f"  Complaint {complaint.reference}, {complaint.get_status_display().lower()}")
        write(f"  Client's secure link: {links.client_url(complaint)}")
        if settings.EMAIL_BACKEND == "django.core.mail.backends.filebased.EmailBackend":
            write(f"Emails (the acknowledgement included) are written to {settings.EMAIL_FILE_PATH}/")
        write("")
