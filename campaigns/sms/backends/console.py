"""Writes each SMS to a stream (stdout by default): for development."""

import sys
import uuid

from campaigns.sms.backends.base import BaseSmsBackend
from campaigns.sms.message import SmsMessage


class SmsBackend(BaseSmsBackend):
    id_prefix = "console"

    def __init__(self, *args, stream=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stream = stream or sys.stdout

    def _send(self, message: SmsMessage) -> str:
        provider_message_id = f"{self.id_prefix}-{uuid.uuid4().hex}"
        self.stream.write(self._format(message, provider_message_id))
        self.stream.flush()
        return provider_message_id

    @staticmethod
    def _format(message: SmsMessage, provider_message_id: str) -> str:
        lines = [
            f"From: {message.sender}",
            f"To: {message.to}",
            f"Reference: {message.reference}",
            f"Id: {provider_message_id}",
            "",
            message.body,
            "-" * 79,
            "",
        ]
        return "\n".join(lines)
