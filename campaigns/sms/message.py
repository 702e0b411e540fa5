"""What an SMS backend sends, and how it says that it could not."""

from dataclasses import dataclass

from django.conf import settings


@dataclass
class SmsMessage:
    """One text message to one phone number."""

    to: str  # E.164
    body: str
    sender: str = ""  # settings.RELANCE_SMS_SENDER when empty
    reference: str = ""  # our Message.token, passed to the provider when it takes one
    provider_message_id: str = ""  # set by the backend when the provider accepted it

    def __post_init__(self) -> None:
        # As Django's EmailMessage does with DEFAULT_FROM_EMAIL.
        self.sender = self.sender or settings.RELANCE_SMS_SENDER


class SmsSendError(Exception):
    """A message was not sent. `transient`: the same message may go through later (the
    provider is down, slow or throttling us); otherwise retrying it is pointless."""

    def __init__(self, reason: str, *, transient: bool):
        super().__init__(reason)
        self.reason = reason
        self.transient = transient

    def __repr__(self) -> str:
        return f"SmsSendError({self.reason!r}, transient={self.transient})"
