"""Sending SMS through a small backend interface, like Django's e-mail backends.

`get_sms_connection()` returns the backend named by settings.RELANCE_SMS_BACKEND:

- `campaigns.sms.backends.console.SmsBackend` writes messages to stdout (the default);
- `campaigns.sms.backends.file.SmsBackend` writes them to a file per connection in
  settings.RELANCE_SMS_FILE_PATH;
- `campaigns.sms.backends.locmem.SmsBackend` appends them to `campaigns.sms.outbox` (tests);
- `campaigns.sms.backends.http.SmsBackend` posts them to a JSON-over-HTTPS provider
  (settings.RELANCE_SMS_HTTP_*).
"""

from django.conf import settings
from django.utils.module_loading import import_string

from campaigns.sms.backends.base import BaseSmsBackend
from campaigns.sms.message import SmsMessage, SmsSendError

# Filled by the locmem backend; tests empty it between tests.
outbox: list[SmsMessage] = []


def get_sms_connection(
    backend: str | None = None, fail_silently: bool = False, **kwargs
) -> BaseSmsBackend:
    """An instance of the SMS backend `backend` (a dotted path; default
    settings.RELANCE_SMS_BACKEND), built with `fail_silently` and `kwargs`."""
    backend_class = import_string(backend or settings.RELANCE_SMS_BACKEND)
    return backend_class(fail_silently=fail_silently, **kwargs)


__all__ = [
    "BaseSmsBackend",
    "SmsMessage",
    "SmsSendError",
    "get_sms_connection",
    "outbox",
]
