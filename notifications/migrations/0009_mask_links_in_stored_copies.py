"""The copies of emails sent before this release lose their clients' working links (issue 19).

From now on a sent email's copy is stored with every client link's token masked
(``notifications.services._mark_sent``); this masks the copies already kept, the same way.
"""

from django.db import migrations
from django.db.models import Q

from jpdit_complaints.log_privacy import mask

BATCH = 500


def mask_stored_copies(apps, schema_editor):
    OutboundMessage = apps.get_model("notifications", "OutboundMessage")
    holding_a_link = Q()
    for path in ("/track/", "/complaint/received/"):
        holding_a_link |= Q(body_text__contains=path) | Q(body_html__contains=path)
    changed = []
    for message in OutboundMessage.objects.filter(holding_a_link).only("pk", "body_text", "body_html").iterator():
        message.body_text, message.body_html = mask(message.body_text), mask(message.body_html)
        changed.append(message)
        if len(changed) >= BATCH:
            OutboundMessage.objects.bulk_update(changed, ["body_text", "body_html"])
            changed = []
    OutboundMessage.objects.bulk_update(changed, ["body_text", "body_html"])


class Migration(migrations.Migration):
    dependencies = [("notifications", "0008_operations")]

    operations = [migrations.RunPython(mask_stored_copies, migrations.RunPython.noop)]
