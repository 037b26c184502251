"""Keep caches in step with what an administrator edits.

* Closure days: the deadline calendar of this process is rebuilt; other processes pick a change up
  within ``business_days.REFRESH_SECONDS``.
* The staff menus (categories, the staff who work cases) and the reusable paragraphs: forgotten in the
  shared cache at once (``selectors.staff_menus_changed``), so every process's next page shows the change.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from cases import business_days, selectors
from cases.models import Category, ClosureDay, Paragraph


@receiver([post_save, post_delete], sender=ClosureDay)
def closure_days_changed(**kwargs) -> None:
    business_days.invalidate()


User = get_user_model()

# A category or paragraph added, renamed, switched off or deleted; a member of staff added, renamed,
# switched off or deleted, or given another role (their groups, their own permissions, a group's).
for model in (Category, Paragraph, User):
    post_save.connect(selectors.staff_menus_changed, sender=model)
    post_delete.connect(selectors.staff_menus_changed, sender=model)
for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
    m2m_changed.connect(selectors.staff_menus_changed, sender=through)
