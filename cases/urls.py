"""URLs of the complaints app, one list per audience (composed into namespaces in jpdit_complaints/urls.py)."""

from django.urls import path

from cases.views import case, client, dashboard, outcome, public, staff

public_patterns = [
    path("", public.complaint_form, name="complaint_form"),
    path("complaint/received/<str:token>/", public.complaint_received, name="complaint_received"),
    path("complaint/thanks/", public.complaint_thanks, name="complaint_thanks"),
    path("procedure/", public.procedure, name="procedure"),
    path("new-link/", public.new_link, name="new_link"),
    path("privacy/", public.privacy, name="privacy"),
]

client_patterns = [
    path("<str:token>/", client.case_page, name="case"),
    path("<str:token>/new-link/", client.fresh_link, name="fresh_link"),
    path("<str:token>/letters/<int:letter_id>/", client.letter_download, name="letter_download"),
    path("<str:token>/documents/<int:attachment_id>/", client.document_download, name="document_download"),
    path("<str:token>/reply/", client.reply, name="reply"),
    path("<str:token>/write/", client.write, name="write"),
    path("<str:token>/withdraw/", client.withdraw, name="withdraw"),
]

staff_patterns = [
    path("", dashboard.dashboard, name="home"),
    path("complaints/new/", staff.complaint_log, name="complaint_log"),
    path("complaints/<str:reference>/", case.case_page, name="case"),
    path("complaints/<str:reference>/notes/", case.note_add, name="case_note"),
    path("complaints/<str:reference>/documents/", case.add_documents, name="case_add_documents"),
    path("complaints/<str:reference>/withdraw/", case.withdraw, name="case_withdraw"),
    path("complaints/<str:reference>/update/", case.send_update, name="case_update"),
    path("complaints/<str:reference>/adjustments/", case.access_needs, name="case_access_needs"),
    path("complaints/<str:reference>/representative/", case.representative, name="case_representative"),
    path("complaints/<str:reference>/answer/", case.record_answer, name="case_record_answer"),
    path("complaints/<str:reference>/reopen/", case.reopen, name="case_reopen"),
    path("complaints/<str:reference>/assign/", case.assign, name="case_assign"),
    path("complaints/<str:reference>/pick-up/", case.pick_up, name="case_pick_up"),
    path("complaints/<str:reference>/start/", case.start_investigation, name="case_start"),
    path("complaints/<str:reference>/category/", case.categorise, name="case_categorise"),
    path("complaints/<str:reference>/extend/", case.extend_deadline, name="case_extend"),
    path("complaints/<str:reference>/revoke-links/", case.revoke_links, name="case_revoke_links"),
    path("complaints/<str:reference>/not-a-complaint/", case.close_not_a_complaint, name="case_close_not_a_complaint"),
    path("complaints/<str:reference>/related/", case.link_related, name="case_link_related"),
    path("complaints/<str:reference>/related/remove/", case.unlink_related, name="case_unlink_related"),
    path("complaints/<str:reference>/merge/", case.merge, name="case_merge"),
    path("bulk/", dashboard.bulk_change, name="bulk_change"),
    path(
        "complaints/<str:reference>/request-information/",
        case.request_information,
        name="case_request_information",
    ),
    path(
        "complaints/<str:reference>/attachments/<int:attachment_id>/",
        case.attachment_download,
        name="attachment_download",
    ),
    path("complaints/<str:reference>/logged/", staff.complaint_logged, name="complaint_logged"),
    path("complaints/<str:reference>/letters/<int:letter_id>/", staff.letter_download, name="letter_download"),
    path("complaints/<str:reference>/outcome/", outcome.outcome_page, name="outcome"),
    path("complaints/<str:reference>/outcome/preview/", outcome.outcome_preview, name="outcome_preview"),
    path("complaints/<str:reference>/outcome/preview.pdf", outcome.outcome_preview_pdf, name="outcome_preview_pdf"),
    path("complaints/<str:reference>/outcome/issue/", outcome.outcome_issue, name="outcome_issue"),
    path("actions/", outcome.actions_page, name="actions"),
    path("actions/<int:action_id>/done/", outcome.action_mark_done, name="action_done"),
]
