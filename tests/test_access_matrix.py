"""The access matrix: every URL of the site, for every kind of visitor (issue 7, point 1).

The URL list is read from the URLconf (``get_resolver()``, walked recursively: the
public form, the client's /track/<token>/ pages, the staff pages, the reports and
every admin page). ``MATRIX`` says, for each URL, who may use it; a URL without an
entry fails ``test_every_url_has_an_entry_in_the_matrix`` with its name, so a new page
cannot be added without deciding who may open it.

Actors, against one data set (``world``): case A is filed by ``client`` (who holds its
secure link) and worked by ``assigned_manager``; ``other_client`` holds the link to case B,
which belongs to ``manager_not_assigned``; plus a complaints ``lead``, a ``director`` and a
``superuser``. Case A is answered and under appeal, so every kind of object exists: its
documents, its outcome letter, an action, the appeal.

For each URL and actor, one request (GET; POST with an empty form for POST-only views,
which must also answer GET with 405 to everyone):

* allowed: 2xx or 3xx (a POST with an empty form may also be refused as invalid: 400/409);
* refused: 403 or 404, or the sign-in page for a visitor without a staff session on a
  staff or admin page (the admin shows a missing object as a redirect to its index,
  Django's own rule, which then also holds for an object the user may not see);
* a URL that names a case (or an object of one) answers a refused actor exactly as it
  answers for a case or object that does not exist (status, Location and body, after
  blanking the reference or id and the CSRF token), with as many database queries (the
  work that could make one slower than the other); a forged client link is compared with
  a forged link to no case;
* nobody who has no business with case A (``shows_case`` of the entry) gets its reference,
  its complainant's name, email or organisation, or its description, whatever the status:
  a page a manager may open (the dashboard, the admin's complaint list) must not list it.

The walk of ``tests/cases/test_staff_url_permissions.py`` covers two more staff actors
(signed in without a staff role, a staff account without a group); this file covers
every URL and the client's side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import IdentityLink
from api import services as api_services
from audit.models import AuditEntry
from cases import links, services
from cases.business_days import add_business_days, london_today
from cases.models import Action, Complaint, Paragraph, RootCause
from jpdit_complaints.storage import private_storage
from notifications.models import OutboundMessage, WebhookEndpoint
from reports.annual import annual_figures
from reports.models import AnnualReport
from satisfaction import links as survey_links
from satisfaction.models import Survey
from tests.appeals.helpers import lodged, responded
from tests.factories import (
    AcknowledgedComplaintFactory,
    AttachmentFactory,
    CategoryFactory,
    ClosureDayFactory,
    UserFactory,
    business_days_from_today,
    director,
    lead,
    manager,
)
from tests.inbound import mail
from tests.inbound.helpers import waiting_email

pytestmark = pytest.mark.django_db

ANONYMOUS, CLIENT, OTHER_CLIENT = "anonymous", "client", "other_client"
MANAGER_NOT_ASSIGNED, ASSIGNED_MANAGER, LEAD, DIRECTOR, SUPERUSER = (
    "manager_not_assigned",
    "assigned_manager",
    "lead",
    "director",
    "superuser",
)
ACTORS = (ANONYMOUS, CLIENT, OTHER_CLIENT, MANAGER_NOT_ASSIGNED, ASSIGNED_MANAGER, LEAD, DIRECTOR, SUPERUSER)
NO_ACCOUNT = frozenset({ANONYMOUS, CLIENT, OTHER_CLIENT})
STAFF = frozenset({MANAGER_NOT_ASSIGNED, ASSIGNED_MANAGER, LEAD, DIRECTOR, SUPERUSER})
EVERYONE = frozenset(ACTORS)
NOBODY: frozenset[str] = frozenset()
CASE_TEAM = frozenset({ASSIGNED_MANAGER, LEAD, SUPERUSER})  # staff with a role in case A
WORKERS = frozenset({MANAGER_NOT_ASSIGNED, ASSIGNED_MANAGER, LEAD, SUPERUSER})  # cases.work_complaint
LEADS = frozenset({LEAD, SUPERUSER})
DIRECTORS = frozenset({DIRECTOR, SUPERUSER})
ADMINISTRATORS = frozenset({SUPERUSER})  # notifications.change_outboundmessage: no staff role holds it

MISSING_REFERENCE = "JPD-2026-99999-Z"
MISSING_ID = 987654321


@dataclass(frozen=True)
class Rule:
    """Who may use one URL, and how to fill it.

    ``allowed``: the actors who get in. ``shows_case``: those who may see case A's personal
    data there (default: nobody). ``post``: the view takes POST only. ``key``: the URL
    parameter naming the protected case or object: a refused actor must get the answer
    a missing one gets. ``params``: fillers for this URL's parameters (by name), over
    ``FILLERS``. ``ok``: statuses that count as "let in" (default 2xx/3xx).
    """

    allowed: frozenset[str]
    shows_case: frozenset[str] = NOBODY
    post: bool = False
    key: str | None = None
    params: dict = field(default_factory=dict)
    data: object = None  # fn(world) -> the POST data (default: an empty form)
    # Who knows the object exists (no same-as-missing comparison for them); default ``shows_case``.
    knows: frozenset[str] | None = None
    ok: tuple[int, ...] = ()
    note: str = ""


def revision(world) -> int:
    return Complaint.objects.values_list("revision", flat=True).get(pk=world["a"].pk)


def assign_data(world) -> dict:
    return {"assign-expected_revision": revision(world), "assign-assignee": world["users"][ASSIGNED_MANAGER].pk}


def extend_data(world) -> dict:
    new_date = world["extension_date"]
    return {"extend-expected_revision": revision(world), "extend-new_date": new_date, "extend-reason": "Busy."}


def not_a_complaint_data(world) -> dict:
    """A revision already gone: a lead is let in (409, nothing changed, case A stays open for the rest of the
    walk); anyone else is refused before the revision is read."""
    return {"not_complaint-expected_revision": revision(world) + 1, "not_complaint-reason": "Spam."}


def merge_data(world) -> dict:
    """Merging A into B against a revision already gone: a lead is let in (409, nothing changed); anyone else is
    refused by the service's role check first."""
    return {"merge-expected_revision": revision(world) + 1, "merge-reference": world["b"].reference}


def stale_data(world, prefix: str) -> dict:
    """A valid form against a revision already gone: a lead is let in (409, nothing changed); anyone else is
    refused by the service's role check before the revision is read."""
    return {f"{prefix}-expected_revision": revision(world) + 1, f"{prefix}-reason": "By phone, this morning."}


def token_of(world, actor):
    """The token an actor puts in a client URL: their own case's link, or a forged one if they have none."""
    if actor == CLIENT:
        return world["token_a"]
    if actor == OTHER_CLIENT:
        return world["token_b"]
    return world["forged_token"]


def survey_token_of(world, actor):
    """The survey link an actor holds: A's for the client, B's for the other client, a forged one for anyone else."""
    if actor == CLIENT:
        return world["survey_token_a"]
    if actor == OTHER_CLIENT:
        return world["survey_token_b"]
    token = world["survey_token_a"]
    return token[:-2] + ("AA" if token[-2:] != "AA" else "BB")


# How to fill each URL parameter, by name: fn(world, actor).
FILLERS = {
    "token": token_of,
    "reference": lambda world, actor: world["a"].reference,
    "attachment_id": lambda world, actor: world["attachment"].pk,
    "letter_id": lambda world, actor: world["letter"].pk,
    "action_id": lambda world, actor: world["action"].pk,
    "email_id": lambda world, actor: world["email"].pk,
    "pk": lambda world, actor: world["appeal"].pk,
    "year": lambda world, actor: london_today().year,
    "report_id": lambda world, actor: world["draft"].pk,
    "message_id": lambda world, actor: OutboundMessage.objects.filter(complaint=world["a"]).values_list(
        "pk", flat=True
    )[0],
}
# What a missing object looks like, for the "same answer as a missing one" comparison.
MISSING = {
    "reference": lambda world: MISSING_REFERENCE,
    "token": lambda world: world["token_for_no_case"],
    "attachment_id": lambda world: MISSING_ID,
    "letter_id": lambda world: MISSING_ID,
    "action_id": lambda world: MISSING_ID,
    "email_id": lambda world: MISSING_ID,
    "pk": lambda world: MISSING_ID,
    "object_id": lambda world: MISSING_ID,
    "report_id": lambda world: MISSING_ID,
}

# --- The matrix: public, client, staff and report URLs --------------------------------------

CLIENT_KEY = "token"
MATRIX: dict[str, Rule] = {
    # The public site: anyone.
    "public:complaint_form": Rule(EVERYONE),
    "public:complaint_thanks": Rule(EVERYONE),
    "public:procedure": Rule(EVERYONE),
    "public:privacy": Rule(EVERYONE),
    "public:new_link": Rule(EVERYONE),
    # The confirmation after filing: only with the case's own link (the holder sees their case).
    "public:complaint_received": Rule(
        frozenset({CLIENT, OTHER_CLIENT}), shows_case=frozenset({CLIENT}), key=CLIENT_KEY
    ),
    # The client's pages: the link is the key. The other client opens their own case B and
    # must see nothing of A; a forged link (everyone else) gets the not-found page.
    "client:case": Rule(frozenset({CLIENT, OTHER_CLIENT}), shows_case=frozenset({CLIENT}), key=CLIENT_KEY),
    "client:fresh_link": Rule(frozenset({CLIENT, OTHER_CLIENT}), post=True, key=CLIENT_KEY),
    "client:reply": Rule(frozenset({CLIENT, OTHER_CLIENT}), shows_case=frozenset({CLIENT}), post=True, key=CLIENT_KEY),
    "client:write": Rule(frozenset({CLIENT, OTHER_CLIENT}), shows_case=frozenset({CLIENT}), post=True, key=CLIENT_KEY),
    "client:withdraw": Rule(frozenset({CLIENT, OTHER_CLIENT}), shows_case=frozenset({CLIENT}), key=CLIENT_KEY),
    "client:appeal": Rule(frozenset({CLIENT, OTHER_CLIENT}), shows_case=frozenset({CLIENT}), key=CLIENT_KEY),
    # A's letter: only with A's link; B's link with A's letter id is refused like a missing letter.
    "client:letter_download": Rule(frozenset({CLIENT}), shows_case=frozenset({CLIENT}), key="letter_id"),
    # A's own document: only with A's link (B's link with A's document id is refused like a missing one).
    "client:document_download": Rule(frozenset({CLIENT}), shows_case=frozenset({CLIENT}), key="attachment_id"),
    # Staff pages.
    "staff:login": Rule(EVERYONE),
    "staff:logout": Rule(EVERYONE, post=True),
    "staff:healthz": Rule(EVERYONE),
    "staff:readyz": Rule(EVERYONE, note="the status only; the details to an administrator"),
    # The Operations page: administrators only; a resend or "handled" of a sent email is refused (a redirect).
    "staff:operations": Rule(ADMINISTRATORS, shows_case=ADMINISTRATORS),
    "staff:message_resend": Rule(ADMINISTRATORS, post=True),
    "staff:message_handled": Rule(ADMINISTRATORS, post=True),
    "staff:two_factor": Rule(STAFF),
    "staff:recovery_codes": Rule(STAFF),
    # Single sign-on is off here (404 for everyone); tests/accounts/test_single_sign_on.py opens them with it on.
    "staff:sso_start": Rule(NOBODY),
    "staff:sso_callback": Rule(NOBODY),
    # POST with no person chosen: a lead is answered 403 ("choose whose"), like everyone else.
    "staff:staff_sign_in": Rule(LEADS),
    "staff:home": Rule(STAFF, shows_case=CASE_TEAM, note="the dashboard lists only the cases a user has a role in"),
    "staff:complaint_log": Rule(LEADS),
    "staff:case": Rule(CASE_TEAM, shows_case=CASE_TEAM, key="reference"),
    "staff:case_note": Rule(CASE_TEAM, shows_case=CASE_TEAM, post=True, key="reference"),
    "staff:case_add_documents": Rule(CASE_TEAM, shows_case=CASE_TEAM, post=True, key="reference"),
    "staff:case_update": Rule(CASE_TEAM, shows_case=CASE_TEAM, post=True, key="reference"),
    "staff:case_access_needs": Rule(CASE_TEAM, shows_case=CASE_TEAM, post=True, key="reference"),
    "staff:case_record_answer": Rule(CASE_TEAM, shows_case=CASE_TEAM, post=True, key="reference"),
    "staff:case_representative": Rule(CASE_TEAM, shows_case=CASE_TEAM, key="reference"),
    "staff:case_withdraw": Rule(
        LEADS, shows_case=CASE_TEAM, post=True, key="reference", data=lambda world: stale_data(world, "withdraw")
    ),
    "staff:case_reopen": Rule(
        LEADS, shows_case=CASE_TEAM, post=True, key="reference", data=lambda world: stale_data(world, "reopen")
    ),
    # A valid form, so that the role check behind the form's is reached.
    "staff:case_assign": Rule(
        LEADS, shows_case=CASE_TEAM, post=True, key="reference", data=lambda world: assign_data(world)
    ),
    "staff:case_pick_up": Rule(CASE_TEAM, shows_case=CASE_TEAM, post=True, key="reference"),
    "staff:case_start": Rule(CASE_TEAM, shows_case=CASE_TEAM, post=True, key="reference"),
    "staff:case_categorise": Rule(CASE_TEAM, shows_case=CASE_TEAM, post=True, key="reference"),
    "staff:case_extend": Rule(
        LEADS, shows_case=CASE_TEAM, post=True, key="reference", data=lambda world: extend_data(world)
    ),
    "staff:case_revoke_links": Rule(CASE_TEAM, shows_case=CASE_TEAM, post=True, key="reference"),
    "staff:case_close_not_a_complaint": Rule(
        LEADS, shows_case=CASE_TEAM, post=True, key="reference", data=lambda world: not_a_complaint_data(world)
    ),
    "staff:case_request_information": Rule(CASE_TEAM, shows_case=CASE_TEAM, post=True, key="reference"),
    "staff:case_link_related": Rule(CASE_TEAM, shows_case=CASE_TEAM, post=True, key="reference"),
    "staff:case_unlink_related": Rule(CASE_TEAM, shows_case=CASE_TEAM, post=True, key="reference"),
    "staff:case_merge": Rule(
        LEADS, shows_case=CASE_TEAM, post=True, key="reference", data=lambda world: merge_data(world)
    ),
    # A lead's change to the ticked cases of the dashboard (none ticked here: back to the dashboard, nothing done).
    "staff:bulk_change": Rule(LEADS, post=True),
    "staff:attachment_download": Rule(CASE_TEAM, shows_case=CASE_TEAM, key="reference"),
    "staff:complaint_logged": Rule(LEADS, shows_case=CASE_TEAM, key="reference"),
    "staff:letter_download": Rule(CASE_TEAM, shows_case=CASE_TEAM, key="reference"),
    "staff:outcome": Rule(CASE_TEAM, shows_case=CASE_TEAM, key="reference"),
    "staff:outcome_preview": Rule(CASE_TEAM, shows_case=CASE_TEAM, post=True, key="reference"),
    "staff:outcome_preview_pdf": Rule(CASE_TEAM, shows_case=CASE_TEAM, post=True, key="reference"),
    "staff:outcome_issue": Rule(CASE_TEAM, shows_case=CASE_TEAM, post=True, key="reference"),
    "staff:appeal_log": Rule(LEADS, shows_case=CASE_TEAM, key="reference"),
    "staff:case_audit": Rule(LEADS, shows_case=CASE_TEAM, key="reference"),
    "staff:case_anonymise": Rule(LEADS, shows_case=CASE_TEAM, key="reference", note="GET: the confirmation form"),
    "staff:subject_access": Rule(LEADS),
    "staff:actions": Rule(WORKERS, shows_case=CASE_TEAM),
    "staff:action_done": Rule(CASE_TEAM, shows_case=CASE_TEAM, post=True, key="action_id"),
    # Email in: complaints leads only, whatever case a message names.
    "staff:email_list": Rule(LEADS, shows_case=LEADS),
    "staff:email": Rule(LEADS, shows_case=LEADS, key="email_id"),
    "staff:email_download": Rule(LEADS, shows_case=LEADS, key="email_id"),
    "staff:email_open": Rule(LEADS, shows_case=LEADS, post=True, key="email_id"),
    "staff:email_attach": Rule(LEADS, shows_case=LEADS, post=True, key="email_id"),
    "staff:email_appeal": Rule(LEADS, shows_case=LEADS, post=True, key="email_id"),
    "staff:email_not_a_complaint": Rule(LEADS, shows_case=LEADS, post=True, key="email_id"),
    "staff:email_release": Rule(LEADS, shows_case=LEADS, post=True, key="email_id"),
    # Reports: leads and Directors; the CSV lists the cases behind each figure (all of them).
    "reports:report": Rule(LEADS | DIRECTORS),
    "reports:trend": Rule(LEADS | DIRECTORS),
    "reports:export": Rule(LEADS | DIRECTORS, shows_case=LEADS | DIRECTORS),
    "reports:annual_pdf": Rule(LEADS | DIRECTORS),
    # The API for other systems (tests/api): a token only, never a session, so every actor here gets 401; a case
    # nobody may see through it answers as a missing one. Its schema describes it to anyone, with no data.
    "api:cases": Rule(NOBODY, note="a token only: tests/api/test_api.py"),
    "api:case": Rule(NOBODY, key="reference"),
    "api:events": Rule(NOBODY),
    "api:actions": Rule(NOBODY),
    "api:report_figures": Rule(NOBODY),
    "api:schema": Rule(EVERYONE),
    # The published annual report: leads and Directors read every version (drafts too); only a Director acts.
    # A POST with an empty form: the Director is answered 400 (nothing to act on) or refreshes the draft's figures.
    "reports:annual_list": Rule(LEADS | DIRECTORS),
    "reports:annual_report": Rule(LEADS | DIRECTORS, key="report_id"),
    "reports:annual_preview_pdf": Rule(
        LEADS | DIRECTORS, params={"report_id": lambda world, actor: world["published"].pk}, note="the stored PDF"
    ),
    "reports:annual_start": Rule(DIRECTORS, post=True),
    "reports:annual_edit": Rule(DIRECTORS, post=True, key="report_id"),
    "reports:annual_refresh": Rule(DIRECTORS, post=True, key="report_id"),
    "reports:annual_approve": Rule(DIRECTORS, post=True, key="report_id"),
    "reports:annual_return": Rule(DIRECTORS, post=True, key="report_id"),
    "reports:annual_publish": Rule(DIRECTORS, post=True, key="report_id"),
    # Its public pages: a published version to anyone; a draft's address to nobody (404, as no report).
    "public:annual_reports": Rule(EVERYONE),
    "public:annual_report": Rule(EVERYONE, params={"year": lambda world, actor: world["published"].year}),
    "public:annual_report_version": Rule(
        NOBODY,
        params={
            "year": lambda world, actor: world["draft"].year,
            "version": lambda world, actor: world["draft"].version,
        },
        note="the draft's version: not public",
    ),
    "public:annual_report_pdf": Rule(
        EVERYONE,
        params={
            "year": lambda world, actor: world["published"].year,
            "version": lambda world, actor: world["published"].version,
        },
    ),
    # The satisfaction survey: the survey's own link is the key (A's to the client, B's to the other client).
    "public:survey": Rule(
        frozenset({CLIENT, OTHER_CLIENT}),
        shows_case=frozenset({CLIENT}),
        key=CLIENT_KEY,
        params={"token": survey_token_of},
    ),
    "public:survey_decline": Rule(frozenset({CLIENT, OTHER_CLIENT}), key=CLIENT_KEY, params={"token": survey_token_of}),
    # The admin's own pages: any staff account gets in (what it then sees is per model, below).
    "admin:index": Rule(
        STAFF, shows_case=CASE_TEAM | DIRECTORS, note="shows the messages of the user's own last actions on A"
    ),
    "admin:login": Rule(EVERYONE, note="redirects to the staff sign-in page"),
    "admin:logout": Rule(EVERYONE, post=True),
    "admin:password_change": Rule(STAFF),
    "admin:password_change_done": Rule(STAFF),
    "admin:jsi18n": Rule(STAFF),
    "admin:autocomplete": Rule(STAFF, ok=(403, 404), note="no autocomplete field: refused for every query"),
    "admin:view_on_site": Rule(
        STAFF,
        params={"content_type_id": lambda world, actor: world["complaint_ct"], "object_id": lambda w, a: w["a"].pk},
        ok=(404,),
        note="complaints have no public URL: 404 for everyone signed in, and for anyone else the sign-in page",
    ),
    "admin:app_list": Rule(
        DIRECTORS, params={"app_label": lambda world, actor: "appeals"}, note="the appeals section: Directors only"
    ),
    "admin:<catch-all>": Rule(NOBODY, params={"url": lambda world, actor: "no-such-page/"}),
    # The Director's appeal views (besides the model views of ADMIN_MODELS).
    "admin:appeals_appeal_review": Rule(DIRECTORS, shows_case=DIRECTORS, post=True, key="pk"),
    "admin:appeals_appeal_preview": Rule(DIRECTORS, shows_case=DIRECTORS, post=True, key="pk"),
    "admin:appeals_appeal_decide": Rule(DIRECTORS, shows_case=DIRECTORS, post=True, key="pk"),
    "admin:appeals_appeal_attachment": Rule(DIRECTORS, shows_case=DIRECTORS, key="pk"),
    "admin:appeals_appeal_letter": Rule(DIRECTORS, shows_case=DIRECTORS, key="pk"),
    # django-otp's pages showing a device's secret key and QR code: nobody, administrators included
    # (OTP_ADMIN_HIDE_SENSITIVE_DATA); staff set up their own device on the two-factor page.
    "admin:otp_totp_totpdevice_config": Rule(
        NOBODY, key="pk", params={"pk": lambda world, actor: world["objects"]["otp_totp.totpdevice"]}
    ),
    "admin:otp_totp_totpdevice_qrcode": Rule(
        NOBODY, key="pk", params={"pk": lambda world, actor: world["objects"]["otp_totp.totpdevice"]}
    ),
    "admin:auth_user_password_change": Rule(
        frozenset({SUPERUSER}), params={"id": lambda world, actor: world["objects"]["auth.user"]}
    ),
}


@dataclass(frozen=True)
class AdminModel:
    """Who may open each of a model's admin pages (Django's five, plus the bare-id redirect)."""

    changelist: frozenset[str] = frozenset({SUPERUSER})
    add: frozenset[str] = frozenset({SUPERUSER})
    change: frozenset[str] = frozenset({SUPERUSER})
    delete: frozenset[str] = frozenset({SUPERUSER})
    history: frozenset[str] = frozenset({SUPERUSER})
    shows_case: frozenset[str] = frozenset({SUPERUSER})
    # Django's history page looks an object up before checking permissions: an existing id answers
    # 403 and a missing one redirects. Only for models that are no part of a case (an id's existence
    # says nothing about anybody); the case models below hide every object from everyone else.
    history_reveals_ids: bool = True
    knows: frozenset[str] | None = None
    note: str = ""


ADMIN_ONLY = AdminModel()
READ_ONLY_FOR_SUPERUSER = AdminModel(add=NOBODY, delete=NOBODY)
# Per registered model ("app_label.model"): a model registered without an entry fails the test.
ADMIN_MODELS: dict[str, AdminModel] = {
    "auth.group": ADMIN_ONLY,
    "auth.user": ADMIN_ONLY,
    # Sign-in records (django-axes): administrators read and clear them, nobody adds one.
    "axes.accessattempt": AdminModel(add=NOBODY),
    "axes.accesslog": AdminModel(add=NOBODY),
    "axes.accessfailurelog": AdminModel(add=NOBODY),
    "otp_totp.totpdevice": ADMIN_ONLY,
    "otp_static.staticdevice": ADMIN_ONLY,
    # Links to the identity provider: made by signing in through it; an administrator reads or removes one.
    "accounts.identitylink": AdminModel(add=NOBODY),
    "cases.closureday": ADMIN_ONLY,
    # The reusable paragraphs: kept by the administrator; staff use them on the case and outcome pages.
    "cases.paragraph": ADMIN_ONLY,
    # The root causes: the administrator keeps the list; staff choose from it with each outcome.
    "cases.rootcause": ADMIN_ONLY,
    # Everyone on the team may read the categories; leads add them; only an administrator deletes.
    "cases.category": AdminModel(
        changelist=STAFF, change=STAFF, history=STAFF, add=LEADS, delete=frozenset({SUPERUSER})
    ),
    # Read-only, and only the cases the user has a role in (a manager sees their own); Directors read a
    # complaint through its appeal, so the complaint list is not theirs (403).
    "cases.complaint": AdminModel(
        changelist=WORKERS,
        change=CASE_TEAM,
        history=CASE_TEAM,
        add=NOBODY,
        delete=NOBODY,
        shows_case=CASE_TEAM,
        history_reveals_ids=False,
    ),
    "appeals.appeal": AdminModel(
        changelist=DIRECTORS,
        change=DIRECTORS,
        history=DIRECTORS,
        add=NOBODY,
        delete=NOBODY,
        shows_case=DIRECTORS,
        history_reveals_ids=False,
    ),
    # The record of what was sent: administrators read it; nobody adds or deletes; hidden from everyone else.
    # (The case team knows A's letters and emails exist: the admin answers them 403, not "missing".)
    "notifications.outboundmessage": AdminModel(add=NOBODY, delete=NOBODY, history_reveals_ids=False, knows=CASE_TEAM),
    "notifications.letter": AdminModel(add=NOBODY, delete=NOBODY, history_reveals_ids=False, knows=CASE_TEAM),
    "audit.auditentry": READ_ONLY_FOR_SUPERUSER,
    # The API's tokens and the webhook endpoints: the administrator's; revoked or switched off, never deleted.
    "api.apitoken": AdminModel(delete=NOBODY),
    "notifications.webhookendpoint": AdminModel(delete=NOBODY),
}


def admin_model_rules() -> dict[str, Rule]:
    rules = {}
    for label, model in ADMIN_MODELS.items():
        app, name = label.split(".")
        prefix = f"admin:{app}_{name}"
        obj = {"object_id": lambda world, actor, label=label: world["objects"][label]}
        rules[f"{prefix}_changelist"] = Rule(model.changelist, shows_case=model.shows_case)
        rules[f"{prefix}_add"] = Rule(model.add)
        for view in ("change", "delete", "history"):
            key = None if view == "history" and model.history_reveals_ids else "object_id"
            rules[f"{prefix}_{view}"] = Rule(
                getattr(model, view), shows_case=model.shows_case, key=key, params=obj, knows=model.knows
            )
        # admin/<app>/<model>/<id>/ redirects any staff account to the change page (Django's own
        # redirect, the same for a missing id), where the change page's rule applies.
        rules[f"admin:<{app}_{name}_bare_id>"] = Rule(STAFF, key="object_id", params=obj)
    return rules


def full_matrix() -> dict[str, Rule]:
    return {**MATRIX, **admin_model_rules()}


# --- The URLconf, walked ------------------------------------------------------------------


@dataclass(frozen=True)
class Url:
    key: str  # the matrix key: "namespace:name", or a made-up name for unnamed admin patterns
    route: str
    pattern: URLPattern
    namespace: str

    @property
    def parameters(self) -> list[str]:
        return list(self.pattern.pattern.regex.groupindex)


def _key(namespace: str, pattern: URLPattern, route: str) -> str:
    if pattern.name:
        return f"{namespace}:{pattern.name}"
    match = re.fullmatch(r"admin/(\w+)/(\w+)/<path:object_id>/", route)
    if match:
        return f"admin:<{match[1]}_{match[2]}_bare_id>"
    if route == "admin/(?P<url>.*)$":
        return "admin:<catch-all>"
    return f"{namespace}:<unnamed {route}>"


def walk(patterns=None, prefix: str = "", namespace: str = "") -> list[Url]:
    """Every URL pattern of the site, with its namespace and full route."""
    found = []
    for item in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(item.pattern)
        if isinstance(item, URLResolver):
            inner = ":".join(n for n in (namespace, item.namespace) if n)
            found.extend(walk(item.url_patterns, route, inner))
        else:
            found.append(Url(_key(namespace, item, route), route, item, namespace))
    return found


def build(url: Url, values: dict) -> str:
    """The concrete path of ``url`` with ``values`` for its parameters (no reverse(): unnamed patterns too)."""
    path = url.route
    for name, value in values.items():
        path = re.sub(rf"<(?:\w+:)?{name}>|\(\?P<{name}>[^)]*\)", str(value), path, count=1)
    path = path.replace("^", "").replace("$", "")
    assert "<" not in path, f"{url.key}: parameter left unfilled in {path}"
    assert "(?P" not in path, f"{url.key}: parameter left unfilled in {path}"
    return "/" + path


# --- The data set ------------------------------------------------------------------------


@pytest.fixture
def world():
    owner = manager(first_name="Olive", last_name="Owner")
    other_manager = manager(first_name="Ned", last_name="Nobody")
    a = responded(
        owner,
        assignee=owner,
        name="Zebedee Quixote",
        email="zebedee.quixote@example.org",
        organisation="Quixotic Holdings",
        description="A uniquely worded complaint about the quantum router in the basement.",
    )
    services.complaint_add_note(actor=owner, complaint=a, text="Internal thoughts about the router.")
    appeal = lodged(a)
    a.refresh_from_db()
    attachment = AttachmentFactory(complaint=a, original_name="quixote-call-log.txt")
    letter = a.letters.get(kind="outcome")
    action = Action.objects.create(
        complaint=a,
        kind=Action.Kind.PUT_RIGHT,
        description="Refund the fee.",
        owner=owner,
        due_date=business_days_from_today(7),
    )
    b = AcknowledgedComplaintFactory(assignee=other_manager, name="Barnaby Other", email="barnaby@example.net")
    email = waiting_email(
        mail.plain(sender="Zebedee Quixote <zeb@elsewhere.example>", subject=f"About {a.reference}", body="Router.")
    )
    superuser = UserFactory(is_superuser=True, is_staff=True)
    objects = {
        "auth.group": Group.objects.get(name="Managers").pk,
        "auth.user": owner.pk,
        "axes.accessattempt": AccessAttempt.objects.create(
            username="olive", ip_address="192.0.2.1", user_agent="x", failures_since_start=1
        ).pk,
        "axes.accesslog": AccessLog.objects.create(username="olive", ip_address="192.0.2.1", user_agent="x").pk,
        "axes.accessfailurelog": AccessFailureLog.objects.create(
            username="olive", ip_address="192.0.2.1", user_agent="x"
        ).pk,
        "otp_totp.totpdevice": TOTPDevice.objects.create(user=owner, name="phone", confirmed=True).pk,
        "otp_static.staticdevice": StaticDevice.objects.create(user=owner, name="codes", confirmed=True).pk,
        "accounts.identitylink": IdentityLink.objects.create(user=owner, issuer="https://id.example", subject="o").pk,
        "cases.closureday": ClosureDayFactory().pk,
        "cases.paragraph": Paragraph.objects.create(title="Apology", text="We are sorry.").pk,
        "cases.category": CategoryFactory().pk,
        "cases.rootcause": RootCause.objects.create(name="Process not followed").pk,
        "cases.complaint": a.pk,
        "appeals.appeal": appeal.pk,
        "notifications.outboundmessage": OutboundMessage.objects.filter(complaint=a).first().pk,
        "notifications.letter": letter.pk,
        "audit.auditentry": AuditEntry.objects.create(
            username=owner.username, action=AuditEntry.Action.VIEW, description="Viewed", complaint=a
        ).pk,
        "api.apitoken": api_services.token_issue(
            name="The CRM",
            user=owner,
            scopes=["cases:read"],
            expires_at=timezone.now() + timedelta(days=30),
            issued_by=superuser,
        )[0].pk,
        "notifications.webhookendpoint": WebhookEndpoint.objects.create(
            name="The CRM", url="https://crm.example/hook", events=["appeal.decided"]
        ).pk,
    }
    token_a = links.client_token(a)
    published, draft = annual_reports()
    return {
        "published": published,
        "draft": draft,
        "survey_token_a": survey_links.survey_token(Survey.objects.create(complaint=a, recipient="client")),
        "survey_token_b": survey_links.survey_token(Survey.objects.create(complaint=b, recipient="client")),
        "a": a,
        "b": b,
        "appeal": appeal,
        "attachment": attachment,
        "letter": letter,
        "action": action,
        "email": email,
        "objects": objects,
        "complaint_ct": ContentType.objects.get_for_model(a).pk,
        "users": {
            MANAGER_NOT_ASSIGNED: other_manager,
            ASSIGNED_MANAGER: owner,
            LEAD: lead(),
            DIRECTOR: director(),
            SUPERUSER: superuser,
        },
        "token_a": token_a,
        "token_b": links.client_token(b),
        # A's own link with one character of its signature changed.
        "forged_token": token_a[:-2] + ("AA" if token_a[-2:] != "AA" else "BB"),
        # The missing counterpart of a forged link to A: a forged link to no case (nobody without
        # the secret key can sign one, so a forgery is compared with a forgery).
        "token_for_no_case": signing.dumps(["0" * 32, 1], salt=links.SALT, key="not-our-key", compress=True),
        "secrets": [a.reference, a.name, a.email, a.organisation, "quantum router", "quixote-call-log"],
        # An extension must land on a business day: 40 business days on is one, whatever today is (worked
        # out here, so that reading the calendar is not counted among a request's queries).
        "extension_date": add_business_days(london_today(), 40),
    }


def annual_reports() -> tuple[AnnualReport, AnnualReport]:
    """Last year's report: version 1 published (with a stored PDF), version 2 a draft without the Director's words."""
    year = london_today().year - 1
    director_user = director()
    published = AnnualReport.objects.create(
        year=year,
        version=1,
        state=AnnualReport.State.PUBLISHED,
        figures=annual_figures(year),
        figures_as_of=london_today(),
        changes="We now confirm every booking by text.",
        created_by=director_user,
        published_by=director_user,
        published_at=timezone.now(),
    )
    name = private_storage().save("annual-reports/matrix.pdf", ContentFile(b"%PDF-1.4 the published report"))
    AnnualReport.objects.filter(pk=published.pk).update(pdf=name)
    published.refresh_from_db()
    draft = AnnualReport.objects.create(
        year=year, version=2, figures=published.figures, figures_as_of=london_today(), created_by=director_user
    )
    return published, draft


def client_for(actor: str, world) -> Client:
    client = Client()
    if actor in STAFF:
        client.force_login(world["users"][actor])
    return client


# --- Judging one answer ------------------------------------------------------------------

SIGN_IN_PAGES = ("/staff/login/", "/admin/login/")
# Signing out ends the session: these are requested last.
SESSION_ENDERS = {"staff:logout", "admin:logout"}


def fill(url: Url, rule: Rule, name: str, world, actor: str):
    filler = rule.params.get(name) or FILLERS.get(name)
    assert filler is not None, f"URL {url.key} ({url.route}) takes <{name}>: say how to fill it in {__name__}"
    return filler(world, actor)


def body_of(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def is_sign_in_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(SIGN_IN_PAGES)


def normalised(response, body: str, path: str, value) -> tuple[int, str, str]:
    """Status, Location and body with the requested path (and named case or object) and per-request tokens blanked."""
    location = response.get("Location", "")
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', body)
    body = re.sub(r'nonce="[^"]+"', 'nonce=""', body)
    for text in (path, str(value) if not str(value).isdigit() else None):
        if text:
            body, location = body.replace(text, "<X>"), location.replace(text, "<X>")
    return response.status_code, location, body


def request(client: Client, rule: Rule, path: str, world):
    if not rule.post:
        return client.get(path)
    return client.post(path, rule.data(world) if rule.data else {})


def check_url(url: Url, rule: Rule, actor: str, client: Client, world) -> list[str]:
    """What is wrong with this URL's answer to this actor (empty if nothing)."""
    problems = []
    values = {name: fill(url, rule, name, world, actor) for name in url.parameters}
    path = build(url, values)
    where = f"{'POST' if rule.post else 'GET'} {path} ({url.key}) as {actor}"

    if rule.post:
        # A POST-only view never does anything on GET, for anyone.
        got = client.get(path)
        # (The admin sends a GET of its sign-out page to its index, whose gate then applies.)
        to_admin_index = got.status_code == 302 and got["Location"] == "/admin/"
        if not (got.status_code in (403, 404, 405) or is_sign_in_redirect(got) or to_admin_index):
            problems.append(f"{where}: GET answered {got.status_code}, expected 405 (or a refusal)")

    with CaptureQueriesContext(connection) as queries:
        response = request(client, rule, path, world)
    body = body_of(response)
    status = response.status_code
    if status >= 500:
        return [f"{where}: server error {status}"]

    if actor not in rule.shows_case:
        # Echoing the requested address (a sign-in page's ?next=) tells the requester nothing new.
        shown = (body + response.get("Location", "")).replace(path, "")
        leaked = [s for s in world["secrets"] if s in shown]
        if leaked:
            problems.append(f"{where}: reveals {leaked} of case A (status {status})")

    if actor in rule.allowed:
        ok = 200 <= status < 400 or status in rule.ok or (rule.post and status in (400, 409))
        if not ok or (rule.allowed != EVERYONE and is_sign_in_redirect(response)):
            problems.append(f"{where}: should be let in, got {status} {response.get('Location', '')}")
        return problems

    admin_missing_object = url.namespace == "admin" and rule.key and status == 302 and response["Location"] == "/admin/"
    refused = status in (403, 404) or admin_missing_object or (url.namespace == "api" and status == 401)
    if actor in NO_ACCOUNT and url.namespace in ("staff", "admin", "reports"):
        refused = refused or is_sign_in_redirect(response)
    if not refused:
        problems.append(f"{where}: should be refused, got {status} {response.get('Location', '')}")
    if rule.key and actor not in (rule.shows_case if rule.knows is None else rule.knows):
        # Refused exactly as for a case or object that does not exist (someone who may see the
        # case knows it exists: a manager refused a lead's action on their own case gets the 403 page).
        missing_values = {**values, rule.key: MISSING[rule.key](world)}
        missing_path = build(url, missing_values)
        with CaptureQueriesContext(connection) as missing_queries:
            missing = request(client, rule, missing_path, world)
        mine = normalised(response, body, path, values[rule.key])
        theirs = normalised(missing, body_of(missing), missing_path, missing_values[rule.key])
        if mine != theirs:
            problems.append(
                f"{where}: refused differently from a missing one ({mine[0]} {mine[1]!r} vs {theirs[0]} {theirs[1]!r})"
            )
        # The same work too: as many database queries (the part of the time that could tell them apart).
        if len(queries) != len(missing_queries):
            problems.append(f"{where}: {len(queries)} queries when refused, {len(missing_queries)} for a missing one")
    return problems


# --- The tests ---------------------------------------------------------------------------


def test_every_url_has_an_entry_in_the_matrix():
    keys = [url.key for url in walk()]
    matrix = full_matrix()
    missing = [f"{url.key} ({url.route})" for url in walk() if url.key not in matrix]
    assert not missing, f"URLs with no entry in the access matrix of {__name__}: add one for each: {missing}"
    stale = sorted(set(matrix) - set(keys))
    assert not stale, f"matrix entries for URLs that no longer exist (remove them): {stale}"


def test_every_model_in_the_admin_has_an_entry():
    registered = {f"{m._meta.app_label}.{m._meta.model_name}" for m in admin.site._registry}
    assert registered == set(ADMIN_MODELS), f"admin models without an entry: {sorted(registered - set(ADMIN_MODELS))}"


@pytest.mark.parametrize("actor", ACTORS)
def test_every_url_answers_each_actor_as_the_matrix_says(actor, world):
    matrix = full_matrix()
    client = client_for(actor, world)
    problems = []
    walked = 0
    for url in sorted(walk(), key=lambda u: u.key in SESSION_ENDERS):
        problems += check_url(url, matrix[url.key], actor, client, world)
        walked += 1
    assert walked > 100
    assert not problems, "\n".join(problems)


def test_the_walk_catches_a_wrong_entry_and_a_leak(world):
    """The matrix means something: an entry letting in the wrong actor, or a page showing A to
    someone who may not see it, is reported."""
    case_page = next(url for url in walk() if url.key == "staff:case")
    other_manager = client_for(MANAGER_NOT_ASSIGNED, world)
    wrong = check_url(case_page, Rule(frozenset({MANAGER_NOT_ASSIGNED})), MANAGER_NOT_ASSIGNED, other_manager, world)
    assert any("should be let in, got 404" in problem for problem in wrong)
    owner = client_for(ASSIGNED_MANAGER, world)
    leak = check_url(case_page, Rule(frozenset({ASSIGNED_MANAGER})), ASSIGNED_MANAGER, owner, world)
    assert any("reveals" in problem for problem in leak)
