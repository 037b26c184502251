"""The registries of message and letter kinds the apps fill in (notifications.kinds)."""

from __future__ import annotations

import pytest

from notifications import kinds, services
from notifications.tasks import deliver_message


def test_every_app_registered_its_message_kinds_with_their_templates():
    names = {name for name, _label in kinds.choices()}
    assert {"complaint_acknowledgement", "outcome_letter", "appeal_acknowledgement", "staff_deadline_reminder"} <= names
    for name in names:
        kind = kinds.kind_named(name)
        assert kind.label
        assert kind.template


def test_every_app_registered_its_letter_kinds_with_a_renderer():
    names = {name for name, _label in kinds.letter_choices()}
    assert names == {"acknowledgement", "outcome", "appeal_acknowledgement", "appeal_decision"}
    assert all(callable(kinds.letter_kind_named(name).render) for name in names)


def test_registering_the_same_kind_again_is_harmless_but_two_different_ones_of_one_name_are_refused():
    known = kinds.kind_named("client_link")
    kinds.register(known)
    with pytest.raises(ValueError, match="Two different message kinds"):
        kinds.register(kinds.MessageKind("client_link", "Something else", template="client_link"))


@pytest.mark.django_db
def test_a_message_of_a_kind_nobody_registered_is_refused_before_anything_is_saved():
    from notifications.models import OutboundMessage

    with pytest.raises(kinds.UnknownKind, match="typo_kind"):
        services.message_queue(kind="typo_kind", dedupe_key="test:typo", to_email="ada@example.com")
    assert not OutboundMessage.objects.exists()


def test_the_delivery_task_is_queued_by_its_own_name():
    assert deliver_message.name == services.DELIVER_TASK
