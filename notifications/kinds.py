"""The kinds of message, of letter and of webhook event the product makes: registries the apps above fill in.

Notifications is the lowest layer: it knows how to keep, render and send a message, not
which messages exist. Each app declares its own kinds (``cases/messages.py``,
``appeals/messages.py``, ``procedure/messages.py``) and registers them in its
``AppConfig.ready``. For each kind:

* ``name``: what the outbox row stores (``OutboundMessage.kind``);
* ``label``: how the admin and the case page name it;
* ``template``: ``templates/emails/<template>/{subject.txt,body.txt,body.html}``;
* ``prepare(message, at)``: the facts that exist only at the moment of sending (a fresh secure
  link, the due date an acknowledgement promises). It reads, never writes, and runs with no
  row locked: the email is rendered and sent outside any transaction;
* ``on_sent(message, at)``: what sending the email changes (an acknowledgement acknowledges the
  complaint at ``at``), recorded in the same short transaction that marks the row sent.

Webhook events (``register_webhook_events``: ``cases/webhooks.py``, ``appeals/webhooks.py``,
``procedure/webhooks.py``) are what other systems may subscribe to; their deliveries are outbox rows
too (``notifications.webhooks``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the models import this module for their choices: no import cycle at run time
    from notifications.models import Letter, OutboundMessage


@dataclass(frozen=True)
class MessageKind:
    name: str
    label: str
    template: str
    prepare: Callable[[OutboundMessage, datetime], dict[str, Any]] | None = None
    on_sent: Callable[[OutboundMessage, datetime], None] | None = None

    def context_for(self, message: OutboundMessage, at: datetime) -> dict[str, Any]:
        return self.prepare(message, at) if self.prepare is not None else {}


class UnknownKind(LookupError):
    """A message of a kind no app registered: a programming error, raised before anything is saved."""


_registry: dict[str, MessageKind] = {}


def _add(registry: dict, kinds: tuple, what: str) -> None:
    for kind in kinds:
        known = registry.get(kind.name)
        if known is not None and known != kind:
            raise ValueError(f"Two different {what} kinds are called {kind.name!r}.")
        registry[kind.name] = kind


def _named(registry: dict, name: str, what: str):
    try:
        return registry[name]
    except KeyError:
        raise UnknownKind(f"No app registered a {what} kind called {name!r}.") from None


def register(*kinds: MessageKind) -> None:
    """Add kinds (from an ``AppConfig.ready``); registering the same kind again is harmless."""
    _add(_registry, kinds, "message")


def kind_named(name: str) -> MessageKind:
    return _named(_registry, name, "message")


def kind_of(message: OutboundMessage) -> MessageKind:
    return kind_named(message.kind)


def choices() -> list[tuple[str, str]]:
    """The registered kinds as field choices (``OutboundMessage.kind``), by label."""
    return sorted(((kind.name, kind.label) for kind in _registry.values()), key=lambda choice: choice[1])


# --- Letters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LetterKind:
    """A kind of letter (``Letter.kind``): its label, and how its PDF is rendered from the database."""

    name: str
    label: str
    render: Callable[[Letter], bytes]


_letters: dict[str, LetterKind] = {}


def register_letters(*kinds: LetterKind) -> None:
    """Add letter kinds (from an ``AppConfig.ready``); registering the same kind again is harmless."""
    _add(_letters, kinds, "letter")


def letter_kind_named(name: str) -> LetterKind:
    return _named(_letters, name, "letter")


def letter_choices() -> list[tuple[str, str]]:
    """The registered letter kinds as field choices (``Letter.kind``), by label."""
    return sorted(((kind.name, kind.label) for kind in _letters.values()), key=lambda choice: choice[1])


# --- Webhook events ---------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookEventKind:
    """A kind of event other systems may be told of by webhook (``WebhookEndpoint.events``).

    ``name`` is what the receiver reads as the event's ``type`` (``complaint.received``) and what the
    outbox row stores in ``kind``. ``personal_data(message)`` reads, when the delivery is sent, the
    personal data an endpoint allowed to receive it gets with the event (the client's name and
    addresses); every other endpoint gets ids, references, states and dates only, and the outbox row
    never keeps personal data (``notifications.webhooks``).
    """

    name: str
    label: str
    personal_data: Callable[[OutboundMessage], dict[str, Any]] | None = None


_webhook_events: dict[str, WebhookEventKind] = {}


def register_webhook_events(*kinds: WebhookEventKind) -> None:
    """Add webhook event kinds (from an ``AppConfig.ready``); registering the same kind again is harmless."""
    _add(_webhook_events, kinds, "webhook event")


def webhook_event_named(name: str) -> WebhookEventKind:
    return _named(_webhook_events, name, "webhook event")


def webhook_event_choices() -> list[tuple[str, str]]:
    """The registered webhook events as choices (what an endpoint may subscribe to), in a case's order (the order
    the apps register them: a complaint's, then an appeal's, then the deadlines'), each with its name."""
    return [(kind.name, f"{kind.label} ({kind.name})") for kind in _webhook_events.values()]


def outbox_choices() -> list[tuple[str, str]]:
    """What an outbox row may carry (``OutboundMessage.kind``): an email of a registered kind, or a webhook event."""
    return choices() + [(kind.name, f"Webhook: {kind.label}") for kind in _webhook_events.values()]
