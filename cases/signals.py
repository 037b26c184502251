"""Keep the deadline calendar's cache in step with closure days edited in this process.

Other processes pick a change up within ``business_days.REFRESH_SECONDS``.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from cases import business_days
from cases.models import ClosureDay


@receiver([post_save, post_delete], sender=ClosureDay)
def closure_days_changed(**kwargs) -> None:
    business_days.invalidate()
