"""What the API says of a complaint, an event, an action and the report figures (docs/api.md).

Without the ``personal_data:read`` scope nothing about the client is given: ids, references, states,
dates, categories, outcomes, and the staff involved. With it, the client's name, email address, phone
number and organisation, the timeline's wording (it can quote names, documents and adjustments) and
the actions' descriptions. Never given, whatever the scope: the complaint's description, what would
put it right, findings and reasons, notes, messages, documents, letters, the appeal's reasons.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from appeals.models import Appeal
from cases.models import Action, Complaint, ComplaintEvent
from reports.tally import STAGES


class OptionalChoiceField(serializers.ChoiceField):
    """A choice that may not be made yet: "" on the model, null in the API."""

    def __init__(self, **kwargs) -> None:
        super().__init__(allow_null=True, **kwargs)

    def to_representation(self, value):
        return value or None


def personal(serializer: serializers.Serializer) -> bool:
    return bool(serializer.context.get("personal"))


class StaffMemberSerializer(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()


class ClientSerializer(serializers.Serializer):
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    organisation = serializers.CharField()


class AppealSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Appeal.Status.choices)
    channel = serializers.ChoiceField(choices=Appeal.Channel.choices)
    received_at = serializers.DateTimeField()
    acknowledgement_due = serializers.DateField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    decision_due = serializers.DateField(allow_null=True)
    decision = OptionalChoiceField(choices=Appeal.Decision.choices)
    new_outcome = OptionalChoiceField(choices=Complaint.Outcome.choices)
    decided_at = serializers.DateTimeField(allow_null=True)


class CaseSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=Complaint.Status.choices)
    channel = serializers.ChoiceField(choices=Complaint.Channel.choices)
    category = serializers.CharField(source="category.name", allow_null=True)
    received_at = serializers.DateTimeField()
    acknowledgement_due = serializers.DateField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    outcome_due = serializers.DateField(allow_null=True)
    current_due = serializers.DateField(
        source="current_due_date", allow_null=True, help_text="The due date of the promise running now, if one runs."
    )
    assignee = StaffMemberSerializer(allow_null=True)
    outcome = OptionalChoiceField(choices=Complaint.Outcome.choices)
    responded_at = serializers.DateTimeField(allow_null=True)
    root_cause = serializers.CharField(source="root_cause.name", allow_null=True)
    appeal_deadline = serializers.DateField(allow_null=True)
    appeal = AppealSerializer(source="appeal_or_none", allow_null=True)
    anonymised = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField()
    client = serializers.SerializerMethodField(help_text="Only with the personal_data:read scope (else null).")

    def get_anonymised(self, complaint: Complaint) -> bool:
        return complaint.anonymised_at is not None

    @extend_schema_field(ClientSerializer(allow_null=True))
    def get_client(self, complaint: Complaint):
        return ClientSerializer(complaint).data if personal(self) else None


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The id webhooks give the same event.")
    case = serializers.CharField(source="complaint.reference")
    case_id = serializers.UUIDField(source="complaint.public_id")
    kind = serializers.ChoiceField(choices=ComplaintEvent.Kind.choices)
    from_status = OptionalChoiceField(choices=Complaint.Status.choices)
    to_status = OptionalChoiceField(choices=Complaint.Status.choices)
    actor = serializers.CharField(source="actor_label", help_text='A member of staff\'s name, "Client" or "System".')
    client_visible = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    summary = serializers.SerializerMethodField(help_text="Only with the personal_data:read scope (else null).")

    def get_summary(self, event: ComplaintEvent) -> str | None:
        return event.staff_summary if personal(self) else None


class ActionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    case = serializers.CharField(source="complaint.reference")
    case_id = serializers.UUIDField(source="complaint.public_id")
    kind = serializers.ChoiceField(choices=Action.Kind.choices)
    due_date = serializers.DateField()
    owner = StaffMemberSerializer()
    done_at = serializers.DateTimeField(allow_null=True)
    from_appeal = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    description = serializers.SerializerMethodField(help_text="Only with the personal_data:read scope (else null).")

    def get_description(self, action: Action) -> str | None:
        return action.description if personal(self) else None


# --- Query parameters --------------------------------------------------------------------------


class CaseFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=Complaint.Status.choices, required=False)
    updated_since = serializers.DateTimeField(required=False, help_text="Only cases changed at or after this moment.")


class EventFilters(serializers.Serializer):
    case = serializers.CharField(required=False, help_text="A case's reference: its timeline only.")
    since = serializers.DateTimeField(required=False, help_text="Only events at or after this moment.")


class ActionFilters(serializers.Serializer):
    case = serializers.CharField(required=False, help_text="A case's reference: its actions only.")
    open = serializers.BooleanField(required=False, allow_null=True, default=None, help_text="true: not done yet.")


# --- The report figures (reports.selectors.Figures) ------------------------------------------------


class PeriodSerializer(serializers.Serializer):
    first = serializers.DateField()
    last = serializers.DateField()


class ShareSerializer(serializers.Serializer):
    """Promises kept and broken (``reports.selectors.Share``)."""

    on_time = serializers.IntegerField()
    late = serializers.IntegerField()
    on_time_extended = serializers.IntegerField()
    late_extended = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True)


class CountSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()


class CategoryCountSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    total = serializers.IntegerField()
    fault = serializers.IntegerField(help_text="Of them, upheld in full or in part.")


class RootCauseCountSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    total = serializers.IntegerField()


class ActionFiguresSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    open = serializers.IntegerField()
    overdue = serializers.IntegerField()
    done = serializers.IntegerField()
    done_on_time = serializers.IntegerField()


class MediansSerializer(serializers.Serializer):
    """Median business days of each stage (null with nothing to measure)."""

    def get_fields(self):
        return {name: serializers.FloatField(allow_null=True, help_text=label) for name, label in STAGES.items()}


class FiguresSerializer(serializers.Serializer):
    period = PeriodSerializer()
    received = serializers.IntegerField()
    by_channel = CountSerializer(many=True)
    by_category = CategoryCountSerializer(many=True)
    by_root_cause = RootCauseCountSerializer(many=True)
    acknowledgement = ShareSerializer()
    outcome = ShareSerializer()
    appeal = ShareSerializer()
    outcomes = CountSerializer(many=True)
    responded = serializers.IntegerField()
    withdrawn = serializers.IntegerField()
    appealed = serializers.IntegerField()
    appeal_rate = serializers.FloatField(allow_null=True)
    appeals_decided = serializers.IntegerField()
    appeals_changed = serializers.IntegerField()
    changed_share = serializers.FloatField(allow_null=True)
    medians = MediansSerializer()
    actions = ActionFiguresSerializer()
