"""Which data-protection pages the audit trail records (registered in ``ProcedureConfig.ready``)."""

from audit.registry import CHANGE, VIEW, Audited, int_argument
from cases.models import Complaint


def _case_of_message(kwargs):
    """The complaint an outbox email is about (none for an email to staff about no case)."""
    pk = int_argument(kwargs.get("message_id"))
    return None if pk is None else Complaint.objects.filter(messages__pk=pk)


STAFF = {
    "case_audit": Audited(VIEW, "Read the case's audit log"),
    "case_anonymise": Audited(VIEW, "Opened the anonymisation form", "Anonymised the case on request"),
    # The administrator's Operations page: acting on an email that failed or bounced.
    "message_resend": Audited(
        CHANGE, "Sent a failed or bounced email again", "", "message_id", "email", case_of=_case_of_message
    ),
    "message_handled": Audited(
        CHANGE, "Marked a failed or bounced email handled", "", "message_id", "email", case_of=_case_of_message
    ),
}
