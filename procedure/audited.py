"""Which data-protection pages the audit trail records (registered in ``ProcedureConfig.ready``)."""

from audit.registry import VIEW, Audited

STAFF = {
    "case_audit": Audited(VIEW, "Read the case's audit log"),
    "case_anonymise": Audited(VIEW, "Opened the anonymisation form", "Anonymised the case on request"),
}
