"""Keeps each SMS in `campaigns.sms.outbox`: for tests."""

import uuid

from campaigns import sms
from campaigns.sms.backends.base import BaseSmsBackend
from campaigns.sms.message import SmsMessage


class SmsBackend(BaseSmsBackend):
    def _send(self, message: SmsMessage) -> str:
        provider_message_id = f"locmem-{uuid.uuid4().hex}"
        # Looked up at each send: a test may have replaced the list.
        sms.outbox.append(message)
        return provider_message_id
