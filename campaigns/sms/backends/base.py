"""The interface every SMS backend implements, modelled on Django's e-mail backends."""

import re
import threading
from collections.abc import Sequence

from campaigns.sms.message import SmsMessage, SmsSendError

_E164 = re.compile(r"\+[1-9]\d{1,14}")


class BaseSmsBackend:
    """Sends `SmsMessage`s. Subclasses implement `_send` (and `open`/`close` when they hold a
    connection or a file).

    A backend can be used as a context manager, or opened once and given several batches:
    `send_messages` opens it when needed and then closes only what it opened itself.
    """

    def __init__(self, fail_silently: bool = False, **kwargs) -> None:
        self.fail_silently = fail_silently
        self._lock = threading.RLock()

    def open(self) -> bool:
        """Open what sending needs; returns whether something was opened (False when already
        open or when there is nothing to open)."""
        return False

    def close(self) -> None:
        """Close what `open` opened."""

    def __enter__(self):
        try:
            self.open()
        except Exception:
            self.close()
            raise
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        self.close()

    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        """Send each message; set `provider_message_id` on each one accepted; return how many
        were sent.

        Raises `SmsSendError` on the first failure (the messages before it are sent and carry
        their id, the ones after it are not tried), unless `fail_silently`: then failures are
        skipped and only the messages sent are counted.
        """
        if not messages:
            return 0
        with self._lock:
            opened = self.open()
            sent = 0
            try:
                for message in messages:
                    try:
                        self._check(message)
                        message.provider_message_id = self._send(message)
                    except SmsSendError:
                        if not self.fail_silently:
                            raise
                        continue
                    sent += 1
            finally:
                if opened:
                    self.close()
            return sent

    def _check(self, message: SmsMessage) -> None:
        if not _E164.fullmatch(message.to or ""):
            raise SmsSendError(
                f"not a phone number in international format (E.164): {message.to!r}",
                transient=False,
            )
        if not message.body:
            raise SmsSendError("empty message", transient=False)

    def _send(self, message: SmsMessage) -> str:
        """Hand one message over; return the provider's id for it or raise `SmsSendError`."""
        raise NotImplementedError("subclasses of BaseSmsBackend must implement _send()")
