"""Reads that the staff pages need, each a fixed number of queries whatever the data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models import BooleanField, Case, CharField, Count, Exists, F, IntegerField, OuterRef, Q, Value, When
from django.http import Http404

from accounts.access import is_case_staff
from cases import business_days, deadlines, extensions, permissions, references, search, services
from cases.access import complaints_visible_to
from cases.deadlines import due_soon_horizon
from cases.models import (
    Action,
    Category,
    Complaint,
    ComplaintSearchToken,
    Paragraph,
    RelatedComplaint,
    RootCause,
)
from notifications.models import Letter, OutboundMessage

RECENT_LIMIT = 25

# What a list row shows; nothing else is read (descriptions can be long).
_LIST_FIELDS = (
    "pk",
    "reference",
    "name",
    "channel",
    "status",
    "received_at",
    "acknowledgement_due",
    "outcome_due",
)


def complaint_list_recent(*, user, limit: int = RECENT_LIMIT) -> list[Complaint]:
    """The most recently received complaints ``user`` may see, newest first (one query)."""
    queryset = complaints_visible_to(user).only(*_LIST_FIELDS).order_by("-received_at", "-pk")
    return list(queryset[:limit])


@dataclass(frozen=True)
class IntakeSummary:
    """How a logged complaint is being acknowledged: by email, or by a letter to post."""

    complaint: Complaint
    acknowledgement_message: object | None
    letters: list


def complaint_intake_summary(*, complaint: Complaint) -> IntakeSummary:
    """The acknowledgement email (if any) and the acknowledgement letters of a complaint (two queries)."""

    message = (
        OutboundMessage.objects.filter(complaint=complaint, kind="complaint_acknowledgement")
        .only("pk", "to_email", "state", "sent_at", "complaint_id")
        .first()
    )
    letters = list(
        Letter.objects.filter(complaint=complaint, kind=services.ACKNOWLEDGEMENT_LETTER).only(
            "pk", "kind", "created_at", "complaint_id"
        )
    )
    return IntakeSummary(complaint=complaint, acknowledgement_message=message, letters=letters)


# --- Other complaints on a case page (issue 20, point 4) ---------------------------------

# How many other complaints a case page lists (it says when there are more).
OTHER_COMPLAINTS_LIMIT = 10
# Why another complaint is listed, most telling first (the list is in this order).
MAIN_CASE, DUPLICATE, RELATED, SAME_EMAIL, SAME_ORGANISATION = "main", "duplicate", "related", "email", "organisation"
WHY_LISTED = {
    MAIN_CASE: "This complaint was merged into it",
    DUPLICATE: "Merged into this complaint",
    RELATED: "Linked as related",
    SAME_EMAIL: "Same email address",
    SAME_ORGANISATION: "Same organisation",
}


@dataclass(frozen=True)
class OtherComplaint:
    """Another complaint as a case page lists it, and why."""

    reference: str
    name: str
    organisation: str
    status: str
    received_at: datetime
    why: str

    @property
    def status_label(self) -> str:
        return _STATUS_LABELS.get(self.status, self.status)

    @property
    def why_label(self) -> str:
        return WHY_LISTED[self.why]

    @property
    def unlinkable(self) -> bool:
        return self.why == RELATED


@dataclass(frozen=True)
class OtherComplaints:
    listed: list[OtherComplaint]
    more: bool  # more match than are listed


def other_complaints(*, user, complaint: Complaint, limit: int = OTHER_COMPLAINTS_LIMIT) -> OtherComplaints:
    """The complaints to show beside ``complaint``: the case it was merged into, the duplicates merged into it,
    those linked as related, then the client's others (the same email address or organisation), newest first.

    Only those ``user`` may see (``complaints_visible_to``). One query, whatever the numbers: the candidates are
    a union of index look-ups (the links, ``merged_into``, and, newest first and no more than the list can show,
    the user's visible cases with the same email address or organisation in capitals: indexes of migration
    0024), read in a subquery, then ranked and cut to ``limit`` (one more tells that there are more). An OR
    of the same conditions would read every case, and the same client's parts uncut would read every complaint
    of a large organisation (20,000 of 100,000 in the benchmark's data: 70 ms a page).
    """
    email, organisation = complaint.email.strip(), complaint.organisation.strip()
    links = RelatedComplaint.objects.filter(complaint=complaint).order_by()
    cases = Complaint.objects.order_by()
    parts = [links.values("other_id"), cases.filter(merged_into=complaint).values("pk")]
    ranks = [
        When(merged_into=complaint, then=Value(1)),
        When(Exists(links.filter(other=OuterRef("pk"))), then=Value(2)),
    ]
    if complaint.merged_into_id is not None:
        parts.append(cases.filter(pk=complaint.merged_into_id).values("pk"))
        ranks.insert(0, When(pk=complaint.merged_into_id, then=Value(0)))
    # The same client's: only the newest the list could show (linked ones may fill it first; one more says "more").
    same_client = complaints_visible_to(user).exclude(pk=complaint.pk).order_by("-received_at", "-pk")
    # Saying "not blank" lets PostgreSQL use the partial indexes of migration 0024.
    if email:
        parts.append(same_client.filter(email__iexact=email).exclude(email="").values("pk")[: limit + 1])
    if organisation:
        parts.append(
            same_client.filter(organisation__iexact=organisation).exclude(organisation="").values("pk")[: limit + 1]
        )
    candidates = parts[0].union(*parts[1:], all=True)
    rows = (
        complaints_visible_to(user)
        .filter(pk__in=candidates)
        .exclude(pk=complaint.pk)
        .annotate(rank=Case(*ranks, default=Value(3), output_field=IntegerField()))
        .order_by("rank", "-received_at", "-pk")
        .values_list("rank", "reference", "name", "organisation", "email", "status", "received_at")[: limit + 1]
    )
    listed = []
    for rank, reference, name, org, their_email, status, received_at in rows:
        if rank < 3:
            why = (MAIN_CASE, DUPLICATE, RELATED)[rank]
        else:
            same_email = bool(email) and their_email.strip().casefold() == email.casefold()
            why = SAME_EMAIL if same_email else SAME_ORGANISATION
        listed.append(OtherComplaint(reference, name, org, status, received_at, why))
    return OtherComplaints(listed=listed[:limit], more=len(listed) > limit)


# --- The staff dashboard (issue 3, item 2) ----------------------------------------------
#
# One page of one tab costs a fixed number of queries whatever the page size and the
# number of cases: the tab counts (one query, conditional aggregation over the open
# cases; when filters make the tab's count useless, the filtered list's capped count
# rides in the same query) and the page's rows (one query: the complaints, named from
# the menus). A text search is not counted (counting every case that mentions
# "firewall" costs more than the page): it fetches one row more than the page to know
# whether there is a next page. The filter menus (categories, and for leads the staff
# who work cases) are one query each, cached for a minute.

TAB_MINE = "mine"
TAB_UNASSIGNED = "unassigned"
TAB_DUE_SOON = "due_soon"
TAB_OVERDUE = "overdue"
TAB_ALL = "all"
TAB_LABELS = {
    TAB_MINE: "My cases",
    TAB_UNASSIGNED: "Unassigned",
    TAB_DUE_SOON: "Due soon",
    TAB_OVERDUE: "Overdue",
    TAB_ALL: "All",
}
WORKER_TABS = (TAB_MINE, TAB_UNASSIGNED, TAB_DUE_SOON, TAB_OVERDUE)
LEAD_TABS = (*WORKER_TABS, TAB_ALL)

STATE_OPEN = "open"
STATE_ANY = "any"

SORT_DUE = "due"
SORT_RECEIVED = "received"
SORT_REFERENCE = "reference"
SORT_LABELS = {
    SORT_DUE: "Due date (soonest first)",
    SORT_RECEIVED: "Received (newest first)",
    SORT_REFERENCE: "Reference",
}

ASSIGNEE_ME = "me"
ASSIGNEE_NONE = "none"

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 25
# A filtered or searched list is counted up to this many rows: beyond it the count
# would cost more than the page (a search word found in a sixth of a million cases),
# and nobody pages that far; the page says "more than 1,000" and asks to narrow it.
COUNT_CAP = 1000
# A word of a search is searched by its parts of at least this many letters or digits.
MIN_SEARCH_WORD = search.MIN_PART
MAX_SEARCH_WORDS = 6

# What a dashboard row shows; nothing else is read (descriptions can be long). Read as
# plain values (``DashboardRow``): building 25 model objects, each with its assignee
# and category joined in, cost more than PostgreSQL took to find them. The assignee's
# and category's names come from the filter menus (``DashboardOptions``), which hold them.
_ROW_COLUMNS = (
    "pk",
    "reference",
    "name",
    "organisation",
    "channel",
    "status",
    "received_at",
    "current_due",
    "assignee_id",
    "category_id",
    "revision",
)


_ASSIGNEE, _CATEGORY = _ROW_COLUMNS.index("assignee_id"), _ROW_COLUMNS.index("category_id")


_STATUS_LABELS = dict(Complaint.Status.choices)
_CHANNEL_LABELS = dict(Complaint.Channel.choices)


@dataclass(frozen=True, slots=True)
class DashboardRow:
    """One case as a dashboard row shows it."""

    pk: int
    reference: str
    name: str
    organisation: str
    channel: str
    status: str
    received_at: datetime
    current_due: date | None  # the running deadline (``ComplaintQuerySet.with_current_due``)
    assignee_id: int | None
    category_id: int | None
    revision: int  # as read: a lead's bulk change of the row is refused if the case changed since
    assignee_label: str = ""
    category_name: str = ""

    # The two dates are written here, not by the template's date filter: it cost 40 microseconds a
    # date, two a row (2 ms a page of 25, 8 ms at 100 rows); strftime says the same in English.
    @property
    def received_label(self) -> str:
        """When the case was received, London time: ``Tue 1 Dec 2026, 10:00``."""
        local = self.received_at.astimezone(business_days.LONDON)
        return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"

    @property
    def due_label(self) -> str:
        """The running deadline: ``Tue 15 Dec 2026`` ("" when none runs)."""
        due = self.current_due
        return f"{due:%a} {due.day} {due:%b %Y}" if due else ""

    @property
    def status_label(self) -> str:
        return _STATUS_LABELS.get(self.status, self.status)

    @property
    def channel_label(self) -> str:
        return _CHANNEL_LABELS.get(self.channel, "")

    @property
    def running_deadline(self) -> str:
        """Which promise's clock runs (``cases.deadlines.Deadline``), or "" when none does."""
        clock = deadlines.running_clock(deadlines.COMPLAINT_CLOCKS, self.status)
        return clock.deadline if clock is not None else ""

    @property
    def promise_owed(self) -> bool:
        """Is a promise owed in this state? Without a running deadline, its clock is stopped (awaiting the client)."""
        return deadlines.owed_clock(deadlines.COMPLAINT_CLOCKS, self.status) is not None


_REFERENCE_SHAPE = re.compile(rf"^{references.PREFIX}-?(\d{{4}})-?(\d{{{references.SEQUENCE_WIDTH},}})-?([A-Z])$")


@dataclass(frozen=True)
class DashboardFilters:
    """What the user asked for, already checked (see ``cases.views.dashboard``)."""

    tab: str = ""
    q: str = ""
    state: str = ""  # "" (open cases; every state when searching), "open", "any" or a Complaint.Status
    assignee: str = ""  # "", "me", "none" or a user's pk as text
    channel: str = ""
    category: int | None = None
    due_before: date | None = None  # running deadline on or before this date
    received_from: date | None = None
    received_to: date | None = None
    sort: str = SORT_DUE
    per_page: int = DEFAULT_PAGE_SIZE
    page: int = 1

    @property
    def narrows(self) -> bool:
        """Does anything besides the tab narrow the list (so the tab's count is not its size)?"""
        return bool(
            self.q
            or self.state
            or self.assignee
            or self.channel
            or self.category
            or self.due_before
            or self.received_from
            or self.received_to
        )


@dataclass(frozen=True)
class DashboardOptions:
    """The choices of the filter menus, loaded once per request (also used to label rows)."""

    is_lead: bool
    categories: list  # [(pk, name, active)]
    assignees: list  # [(pk, label)]: leads choose anyone who works cases; managers only "me"


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    count: int
    active: bool


@dataclass(frozen=True)
class ReferenceSearch:
    """What a search that looks like a reference number found."""

    typed: str
    valid: bool  # well formed with a matching check letter
    found: bool
    suggestions: list[str]

    @property
    def message(self) -> str:
        if self.found:
            return ""
        if not self.suggestions:
            return f"No case {self.typed} among the cases you can see."
        return f"No case {self.typed}. Did you mean {_or_list(self.suggestions)}?"


@dataclass
class Dashboard:
    tabs: list[Tab]
    tab: str
    searching: bool
    effective_state: str
    rows: list
    page: int
    per_page: int
    has_next: bool
    # The number of matches: exact when ``counted`` and not ``total_capped``; more
    # than ``total`` when capped; unknown (None) for a text search.
    total: int | None
    total_capped: bool
    reference_search: ReferenceSearch | None
    today: date
    short_words: list[str]
    # What the apps above add (``with_extras``): their tabs, and their items due soon or overdue.
    extras: list[extensions.Extra] = field(default_factory=list)

    count_cap = COUNT_CAP

    @property
    def extra_items(self) -> list[tuple[extensions.Extra, list[extensions.ExtraItem], int]]:
        """For a deadline tab (not a search): each app's items in it, listed above the cases, and their number."""
        if self.searching or self.reference_search or self.tab not in (TAB_DUE_SOON, TAB_OVERDUE):
            return []
        if self.tab == TAB_DUE_SOON:
            found = [(extra, extra.due_soon, extra.due_soon_count) for extra in self.extras]
        else:
            found = [(extra, extra.overdue, extra.overdue_count) for extra in self.extras]
        return [entry for entry in found if entry[2]]

    @property
    def counted(self) -> bool:
        return self.total is not None

    @property
    def tab_label(self) -> str:
        return TAB_LABELS[self.tab]

    @property
    def num_pages(self) -> int:
        if self.total is None:
            return self.page + (1 if self.has_next else 0)
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.per_page + len(self.rows)

    def page_range(self, around: int = 2) -> list[int | None]:
        """Page numbers to link: first, last and a window around the current one (None: a gap)."""
        last = self.num_pages
        wanted = sorted({1, last, *range(max(1, self.page - around), min(last, self.page + around) + 1)})
        shown: list[int | None] = []
        for number in wanted:
            if shown and number - shown[-1] > 1:
                shown.append(None)
            shown.append(number)
        return shown


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def user_label(user) -> str:
    return user.get_full_name() or user.get_username()


OPTIONS_CACHE_KEY = "cases:dashboard-options:v1"
# Kept a minute at most, which saves two queries (the staff one joins groups and permissions) on
# every page; a change in the admin (a category, a paragraph, a member of staff or their role) forgets
# them at once (``staff_menus_changed``, connected in cases/signals.py).
OPTIONS_CACHE_SECONDS = 60


def staff_menus() -> tuple[list[tuple[int, str, bool]], list[tuple[int, str]]]:
    """Every category (pk, name, active) by name, and the staff who work cases (pk, label), cached a minute.

    The dashboard's filter menus and the case page's assign and category menus show them.
    What is chosen is checked against the database when a form is sent, not against this.
    """

    menus = cache.get(OPTIONS_CACHE_KEY)
    if menus is None:
        menus = _read_staff_menus()
        cache.set(OPTIONS_CACHE_KEY, menus, OPTIONS_CACHE_SECONDS)
    return menus


def _read_staff_menus() -> tuple[list[tuple[int, str, bool]], list[tuple[int, str]]]:
    """Both menus in one query (a UNION ALL of the categories and the staff, in the columns of the staff): one
    query less on a case page or dashboard that finds the cache empty, which keeps the case page within its
    budget with its list of other complaints. Categories by name, then staff by first name, last name, username."""
    text = CharField()
    categories = Category.objects.order_by().annotate(
        menu=Value(_CATEGORIES, text), first_name=F("name"), last_name=Value("", text), username=Value("", text)
    )
    people = (
        permissions.assignable_users().order_by().annotate(menu=Value(_STAFF, text), active=Value(True, BooleanField()))
    )
    columns = ("menu", "pk", "first_name", "last_name", "username", "active")
    rows = categories.values_list(*columns).union(people.values_list(*columns), all=True)
    found: dict[str, list] = {_CATEGORIES: [], _STAFF: []}
    for menu, pk, first, last, username, active in rows.order_by("menu", "first_name", "last_name", "username"):
        if menu == _CATEGORIES:
            found[menu].append((pk, first, active))
        else:
            found[menu].append((pk, f"{first} {last}".strip() or username))
    return found[_CATEGORIES], found[_STAFF]


_CATEGORIES, _STAFF = "1-categories", "2-staff"


PARAGRAPHS_CACHE_KEY = "cases:paragraphs:v1"


def paragraphs() -> list[tuple[int, str, str]]:
    """The reusable paragraphs offered to staff (pk, title, text), by title; cached a minute like the menus.

    When one is inserted, the form reads it again from the database (an edit in the admin shows at once there).
    """
    offered = cache.get(PARAGRAPHS_CACHE_KEY)
    if offered is None:
        offered = list(Paragraph.objects.filter(active=True).values_list("pk", "title", "text"))
        cache.set(PARAGRAPHS_CACHE_KEY, offered, OPTIONS_CACHE_SECONDS)
    return offered


def staff_menus_changed(**kwargs) -> None:
    """Forget the cached menus and paragraphs (a category, paragraph or member of staff changed), so the
    next request of every process shows the change: now, and again when the change commits (a request
    that read the rows in between, before the commit, may have cached the old ones)."""
    keys = [OPTIONS_CACHE_KEY, PARAGRAPHS_CACHE_KEY]
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


def root_cause_choices() -> list[tuple[int, str]]:
    """The root causes an outcome or an appeal decision may record now (the administrator's active list)."""
    return list(RootCause.objects.filter(active=True).values_list("pk", "name"))


def with_paragraph(data, *, field: str, chosen: str):
    """A copy of posted form ``data`` with the chosen reusable paragraph (still offered) added to the end of
    ``field``'s text, for the writer to edit before sending; unchanged if the choice is not one."""
    data = data.copy()
    paragraph = Paragraph.objects.filter(pk=chosen, active=True).first() if chosen.isdigit() else None
    if paragraph is not None:
        data[field] = "\n\n".join(part for part in (data.get(field, "").rstrip(), paragraph.text) if part)
    return data


def dashboard_options(*, user) -> DashboardOptions:
    """Menus of the filter form: categories and, for leads, the staff who work cases (cached a minute)."""
    is_lead = permissions.is_lead(user)
    categories, staff = staff_menus()
    # Managers only ever choose themselves (or nobody): they never see a colleague's cases.
    assignees = staff if is_lead else [(user.pk, user_label(user))]
    return DashboardOptions(is_lead=is_lead, categories=categories, assignees=assignees)


def dashboard_tabs(*, user) -> tuple[str, ...]:
    return LEAD_TABS if permissions.is_lead(user) else WORKER_TABS


def default_tab(*, user) -> str:
    """Leads land on every open case; managers on their own."""
    return TAB_ALL if permissions.is_lead(user) else TAB_MINE


def _tab_q(tab: str, *, user, today: date, horizon: date) -> Q:
    """The tab's cases, on a queryset annotated ``with_current_due()``.

    Deadlines are compared through ``current_due`` (the running deadline: the
    acknowledgement while received, the outcome while the clock runs, none
    otherwise) because on PostgreSQL that expression leads the index
    complaint_current_due_order: "overdue" and "due soon" are then one range of
    that index, already in the page's order.
    """
    if tab == TAB_MINE:
        return Q(assignee=user)
    if tab == TAB_UNASSIGNED:
        return Q(assignee__isnull=True)
    if tab == TAB_DUE_SOON:
        return Q(current_due__gte=today, current_due__lte=horizon)
    if tab == TAB_OVERDUE:
        return Q(current_due__lt=today)
    return Q()


def dashboard_counts(*, user, today: date, horizon: date) -> dict[str, int]:
    """Open cases per tab, in one query: conditional aggregation over the open cases ``user`` may see.

    The conditions are those of ``_tab_q`` (tests/cases/test_dashboard.py checks each count
    against its tab's list); the running deadline is ``cases.deadlines``. Every column read is
    in the partial index complaint_open_counts (migration 0005), so PostgreSQL counts from that
    small index alone.
    """
    clocks = deadlines.COMPLAINT_CLOCKS
    open_cases = complaints_visible_to(user).filter(status__in=Complaint.OPEN_STATUSES).order_by()
    # Counting "status" (never null) is counting rows, from a column of that index: counting "pk"
    # made PostgreSQL read the cases themselves (3,600 table pages at 100,000 cases), and Django's
    # Count("*") takes no filter.
    return open_cases.aggregate(
        **{
            TAB_ALL: Count("status"),
            TAB_MINE: Count("status", filter=Q(assignee=user)),
            TAB_UNASSIGNED: Count("status", filter=Q(assignee__isnull=True)),
            TAB_DUE_SOON: Count("status", filter=deadlines.due_q(clocks, gte=today, lte=horizon)),
            TAB_OVERDUE: Count("status", filter=deadlines.due_q(clocks, lt=today)),
        }
    )


def reference_candidates(text: str) -> tuple[str | None, list[str]]:
    """For something shaped like a reference: its canonical form (if valid) and one-slip corrections.

    A single slip is a wrong check letter, one wrong digit, or two neighbouring
    digits swapped (``cases.references`` catches each of these, which is why a
    valid reference has no corrections). Returns (None, []) for anything else.
    """
    match = _REFERENCE_SHAPE.match(references.normalise(text))
    if not match:
        return None, []
    year_digits, sequence_digits, letter = match[1], match[2], match[3]
    parsed = references.parse_reference(text)
    if parsed is not None:
        return str(parsed), []
    digits = year_digits + sequence_digits
    split = len(year_digits)

    def reference_of(candidate_digits: str) -> tuple[int, int]:
        return int(candidate_digits[:split]), int(candidate_digits[split:])

    # Most likely slip first: the check letter, then one digit, then a swap.
    candidates = {references.format_reference(*reference_of(digits)): None}
    for index, digit in enumerate(digits):
        for other in "0123456789":
            if other != digit:
                changed = digits[:index] + other + digits[index + 1 :]
                year, sequence = reference_of(changed)
                if references.check_letter(year, sequence) == letter:
                    candidates[references.format_reference(year, sequence)] = None
    for index in range(len(digits) - 1):
        if digits[index] != digits[index + 1]:
            swapped = digits[:index] + digits[index + 1] + digits[index] + digits[index + 2 :]
            year, sequence = reference_of(swapped)
            if references.check_letter(year, sequence) == letter:
                candidates[references.format_reference(year, sequence)] = None
    typed = f"{references.PREFIX}-{year_digits}-{sequence_digits}-{letter}"
    candidates.pop(typed, None)
    return None, list(candidates)


def _typed_reference(text: str) -> str:
    match = _REFERENCE_SHAPE.match(references.normalise(text))
    return f"{references.PREFIX}-{match[1]}-{match[2]}-{match[3]}" if match else text


def _is_email(word: str) -> bool:
    """A word with an "@" after its first character: the start of an email address."""
    return "@" in word[1:]


def _email_q(words: list[str]) -> Q:
    """Email addresses (or their starts) as typed: a prefix is one range of complaint_email_prefix (0005)."""
    condition = Q()
    for word in words:
        condition &= Q(email__istartswith=word)
    return condition


def _filters_q(filters: DashboardFilters, *, user, effective_state: str) -> Q:
    condition = Q()
    if effective_state == STATE_OPEN:
        condition &= Q(status__in=Complaint.OPEN_STATUSES)
    elif effective_state != STATE_ANY:
        condition &= Q(status=effective_state)
    if filters.assignee == ASSIGNEE_ME:
        condition &= Q(assignee=user)
    elif filters.assignee == ASSIGNEE_NONE:
        condition &= Q(assignee__isnull=True)
    elif filters.assignee:
        condition &= Q(assignee_id=int(filters.assignee))
    if filters.channel:
        condition &= Q(channel=filters.channel)
    if filters.category:
        condition &= Q(category_id=filters.category)
    if filters.due_before:
        condition &= Q(current_due__lte=filters.due_before)
    if filters.received_from:
        condition &= Q(received_at__gte=business_days.start_of_london_day(filters.received_from))
    if filters.received_to:
        next_day = filters.received_to + timedelta(days=1)
        condition &= Q(received_at__lt=business_days.start_of_london_day(next_day))
    return condition


def _ordering(sort: str, state: str) -> list:
    if sort == SORT_RECEIVED:
        return ["-received_at", "-pk"]
    if sort == SORT_REFERENCE:
        return ["reference"]
    if state not in (STATE_OPEN, STATE_ANY, *deadlines.clock_running_statuses(deadlines.COMPLAINT_CLOCKS)):
        # No case in this state has a running deadline: "by due date" is "newest first",
        # said so that PostgreSQL reads complaint_received (a month of closed cases)
        # rather than walking past every case with a deadline.
        return ["-received_at", "-pk"]
    # Running deadlines first, soonest (most overdue) first; then the rest, newest first.
    # PostgreSQL serves this order from complaint_open_due_order (open cases) and
    # complaint_current_due_order (every case), migration 0005.
    return _BY_DUE_DATE


_BY_DUE_DATE = [F("current_due").asc(nulls_last=True), "-received_at", "-pk"]
# The same order in the columns of a search word's row (cases.models.ComplaintSearchToken).
_WORDS_BY_DUE_DATE = [F("current_due").asc(nulls_last=True), "-received_at", "-complaint_id"]


def _ranked_rows(part, *, user, where: Q, offset: int, limit: int, options: DashboardOptions) -> list[DashboardRow]:
    """One page of the cases holding one search part, in due-date order, read off the words' index.

    ``where`` (the filters) names columns the word's row shares with the case, and the
    role rules apply to it as to the cases (``permissions.visible_complaints``); the
    page's rows are then read by id from the cases ``user`` may see, and kept in order.
    """
    if part.found_nowhere or not is_case_staff(user):
        return []
    words = permissions.visible_complaints(ComplaintSearchToken.objects.all(), user).filter(where)
    ranked = search.ranked(part, rows=words, ordering=_WORDS_BY_DUE_DATE, offset=offset, limit=limit)
    if ranked.query.combinator:
        # Several spellings: their merged page is read first (a union is no subquery for Django).
        ranked = [row[0] for row in ranked]
        if not ranked:
            return []
    # Put in order here: the page is 26 rows at most.
    found = _rows(complaints_visible_to(user).with_current_due().filter(pk__in=ranked).order_by(), options)
    return sorted(found, key=_due_date_order)


def _due_date_order(row: DashboardRow) -> tuple:
    """``_BY_DUE_DATE`` in Python: running deadlines first, soonest first; then newest first."""
    return (row.current_due is None, row.current_due or date.min, -row.received_at.timestamp(), -row.pk)


def _rows(queryset, options: DashboardOptions) -> list[DashboardRow]:
    """The page's rows as plain values, each labelled with its assignee's and category's names.

    The names come from the menus; a name they lack (a new category or member of
    staff within the menus' minute of caching, or a case still assigned to someone
    who has left) costs one more query, for those alone.
    """

    values = list(queryset.values_list(*_ROW_COLUMNS))
    people = dict(options.assignees)
    categories = {pk: name for pk, name, _active in options.categories}
    missing_people = {row[_ASSIGNEE] for row in values if row[_ASSIGNEE] and row[_ASSIGNEE] not in people}
    if missing_people:
        found = get_user_model().objects.filter(pk__in=missing_people).only("first_name", "last_name", "username")
        people.update((person.pk, user_label(person)) for person in found)
    missing_categories = {row[_CATEGORY] for row in values if row[_CATEGORY] and row[_CATEGORY] not in categories}
    if missing_categories:
        categories.update(Category.objects.filter(pk__in=missing_categories).values_list("pk", "name"))
    # Each row built once, labels included (a second object per row through ``replace`` cost
    # a quarter of a millisecond on a page of 100): the columns, then the two labels.
    labelled = (
        (*row, people.get(row[_ASSIGNEE], "") if row[_ASSIGNEE] else "", categories.get(row[_CATEGORY], ""))
        for row in values
    )
    return [DashboardRow(*columns) for columns in labelled]


def _tab_within_sight(tab: str, *, user) -> bool:
    """Is every case of ``tab`` one that ``user`` may see, whatever else it holds?

    "My cases" and "Unassigned" are the cases with one assignee (the user, nobody),
    and the role rules decide by the assignee alone: ask them (``permissions.can_see``)
    about such a case. Where they say yes, the visibility clause beside the tab's
    condition selects nothing more and nothing less; for a manager it is an OR
    (theirs or nobody's) that PostgreSQL cannot see through, and with it the
    Unassigned tab was read as a bitmap of every unassigned case and sorted
    (1.5 ms) instead of the first rows of the open cases' ordering index.
    """

    assignee_id = {TAB_MINE: user.pk, TAB_UNASSIGNED: None}.get(tab, False)
    if assignee_id is False or not is_case_staff(user):
        return False
    return permissions.can_see(user, SimpleNamespace(assignee_id=assignee_id))


def complaint_dashboard(
    *, user, filters: DashboardFilters, options: DashboardOptions, today: date | None = None
) -> Dashboard:
    """One page of the staff dashboard for ``user``: tab counts, the rows, and what a search found.

    Queries: the tab counts (with, when filters narrow the list, its capped count),
    and the rows - two. Only cases ``user`` may see are ever read
    (``complaints_visible_to``; a tab wholly within them needs no second saying, see
    ``_tab_within_sight``).
    """
    today = today or business_days.london_today()
    horizon = due_soon_horizon(today)
    tab_keys = LEAD_TABS if options.is_lead else WORKER_TABS
    tab = filters.tab if filters.tab in tab_keys else (TAB_ALL if options.is_lead else TAB_MINE)
    searching = bool(filters.q.strip())
    effective_state = filters.state or (STATE_ANY if searching else STATE_OPEN)

    visible = complaints_visible_to(user)
    per_page = filters.per_page if filters.per_page in PAGE_SIZES else DEFAULT_PAGE_SIZE
    page = max(1, filters.page)
    reference_search = None
    short_words: list[str] = []
    total: int | None
    capped = has_next = False

    canonical, suggestions = reference_candidates(filters.q) if searching else (None, [])
    if canonical or suggestions:
        # A reference number: the case itself (or the one-slip corrections), whatever the filters say.
        counts = dashboard_counts(user=user, today=today, horizon=horizon)
        wanted = [canonical] if canonical else suggestions
        rows = sorted(
            _rows(visible.with_current_due().filter(reference__in=wanted), options),
            key=lambda row: wanted.index(row.reference),
        )
        reference_search = ReferenceSearch(
            typed=canonical or _typed_reference(filters.q),
            valid=bool(canonical),
            found=bool(canonical) and bool(rows),
            suggestions=[] if canonical else [row.reference for row in rows],
        )
        total, page = len(rows), 1
    else:
        state = effective_state
        if not searching and not filters.state and tab in (TAB_DUE_SOON, TAB_OVERDUE):
            # A running deadline already means an open case; saying it twice misleads
            # PostgreSQL's row estimate into sorting every overdue case instead of
            # reading the first page off complaint_current_due_order.
            state = STATE_ANY
        filters_q = _filters_q(filters, user=user, effective_state=state)
        condition = filters_q
        ordering = _ordering(filters.sort, state)
        one_part = None
        if searching:
            words = filters.q.split()[:MAX_SEARCH_WORDS]
            emails = [word for word in words if _is_email(word) and len(word) >= MIN_SEARCH_WORD]
            texts = [word for word in words if not _is_email(word)]
            counts = dashboard_counts(user=user, today=today, horizon=horizon)
            if search.uses_word_index():
                # Each word's parts and the words of any case that begin with them (cases.search).
                terms = search.terms_found(texts, search.vocabulary(texts) if texts else None)
            else:
                terms = search.terms_in_python(texts)
            short_words = [word for word in words if word not in emails and word not in texts] + terms.short
            # Nothing searchable typed: say so rather than read every case.
            searched = emails or terms.parts
            condition &= (_email_q(emails) & search.condition(terms)) if searched else Q(pk__in=[])
            base = visible.with_current_due().alias(search_text=search.SearchText())
            if terms.spellings and len(terms.spellings) == 1 and not emails and ordering is _BY_DUE_DATE:
                # One word in due-date order: the first rows of that word's index (cases.search).
                one_part = terms.spellings[0]
        else:
            condition &= _tab_q(tab, user=user, today=today, horizon=horizon)
            source = Complaint.objects.all() if _tab_within_sight(tab, user=user) else visible
            base = source.with_current_due()
        # Built only where read: building a queryset costs a tenth of a millisecond.
        ordered = base.filter(condition).order_by(*ordering) if one_part is None else base.none()
        if searching:
            # Not counted: one row more than the page tells whether there is a next one.
            page = min(page, COUNT_CAP // per_page)
            offset = (page - 1) * per_page
            if one_part is not None:
                rows = _ranked_rows(
                    one_part,
                    user=user,
                    where=filters_q,
                    offset=offset,
                    limit=per_page + 1,
                    options=options,
                )
            else:
                rows = _rows(ordered[offset : offset + per_page + 1], options)
            has_next = len(rows) > per_page and page < COUNT_CAP // per_page
            capped = len(rows) > per_page and not has_next
            rows = rows[:per_page]
            total = None if has_next or capped else offset + len(rows)
        else:
            if not filters.narrows:
                counts = dashboard_counts(user=user, today=today, horizon=horizon)
                total = counts[tab]
            else:
                # Newest first is one range of complaint_received: counting in that order
                # stops after COUNT_CAP rows of it, where an unordered count of a month of
                # closed cases would scan the table hoping to meet them early.
                matching = base.filter(condition).values("pk")
                matching = matching.order_by(*ordering) if ordering[0] == "-received_at" else matching.order_by()
                counts = dashboard_counts(user=user, today=today, horizon=horizon)
                total = matching[: COUNT_CAP + 1].count()
                capped = total > COUNT_CAP
                total = min(total, COUNT_CAP)
            page = min(page, max(1, -(-total // per_page)))
            offset = (page - 1) * per_page
            rows = _rows(ordered[offset : offset + per_page], options)
            has_next = offset + per_page < total

    tabs = [Tab(key, TAB_LABELS[key], counts[key], key == tab and not searching) for key in tab_keys]
    return Dashboard(
        tabs=tabs,
        tab=tab,
        searching=searching,
        effective_state=effective_state,
        rows=rows,
        page=page,
        per_page=per_page,
        has_next=has_next,
        total=total,
        total_capped=capped,
        reference_search=reference_search,
        today=today,
        short_words=short_words,
    )


def with_extras(board: Dashboard, *, user) -> Dashboard:
    """``board`` with what the apps above add for ``user`` (``cases.extensions``).

    Their items due soon or overdue are counted in those tabs' badges (the work due, whatever
    it is) and listed above the cases there; their own tabs follow the cases' tabs. The counts
    of the cases themselves (the summary line, the pages) are left as they are.
    """
    extras = extensions.extras_for(user=user, today=board.today, horizon=due_soon_horizon(board.today))
    if extras:
        added = {
            TAB_DUE_SOON: sum(extra.due_soon_count for extra in extras),
            TAB_OVERDUE: sum(extra.overdue_count for extra in extras),
        }
        board.tabs = [replace(tab, count=tab.count + added.get(tab.key, 0)) for tab in board.tabs]
        board.extras = extras
    return board


# --- Actions promised in outcome letters (helper G) ---------------------------------------
# Imports kept local to this section so it stands on its own.

_ACTION_LIST_FIELDS = (
    "pk",
    "kind",
    "description",
    "due_date",
    "done_at",
    "complaint_id",
    "owner_id",
    "complaint__reference",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
)


def actions_visible_to(user):
    """Actions a staff member may see: leads every one; managers those they own or on cases they may see."""

    if permissions.is_lead(user):
        return Action.objects.all()
    if permissions.is_case_worker(user):
        return Action.objects.filter(Q(owner=user) | Q(complaint__assignee=user) | Q(complaint__assignee__isnull=True))
    return Action.objects.none()


def action_list_open(*, user, mine: bool = False):
    """Open actions, earliest due first (so overdue ones lead), with case and owner (one query a page)."""
    queryset = actions_visible_to(user).filter(done_at__isnull=True)
    if mine:
        queryset = queryset.filter(owner=user)
    return queryset.select_related("complaint", "owner").only(*_ACTION_LIST_FIELDS).order_by("due_date", "pk")


def action_for_staff(*, user, action_id: int):
    """One action the user may see, or 404 (the same answer as for an action that does not exist)."""

    try:
        return actions_visible_to(user).get(pk=action_id)
    except Action.DoesNotExist:
        raise Http404("No such action.") from None
