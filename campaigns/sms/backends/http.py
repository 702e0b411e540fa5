"""Posts each SMS to a JSON-over-HTTPS provider.

The request: `POST settings.RELANCE_SMS_HTTP_URL` with `Authorization: Bearer
settings.RELANCE_SMS_HTTP_TOKEN` and the JSON body `{"to", "from", "text", "reference"}`. A 2xx
answer is a JSON object carrying the provider's id for the message in the field
settings.RELANCE_SMS_HTTP_ID_FIELD ("id" by default).

Failures: a 429, a 5xx, a timeout (settings.RELANCE_SMS_HTTP_TIMEOUT seconds) or a connection
error is transient (try again later); any other answer is not. A 2xx answer without an id is
not transient either: the provider may have taken the message, and sending it again could
deliver it twice.
"""

import http.client
import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from campaigns.sms.backends.base import BaseSmsBackend
from campaigns.sms.message import SmsMessage, SmsSendError

# A provider's answer is a small JSON object; never read more than this.
_MAX_RESPONSE_BYTES = 64 * 1024
_DETAIL_CHARS = 300


class SmsBackend(BaseSmsBackend):
    def __init__(
        self,
        *args,
        url: str | None = None,
        token: str | None = None,
        timeout: float | None = None,
        id_field: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.url = url if url is not None else settings.RELANCE_SMS_HTTP_URL
        self.token = token if token is not None else settings.RELANCE_SMS_HTTP_TOKEN
        self.timeout = timeout if timeout is not None else settings.RELANCE_SMS_HTTP_TIMEOUT
        self.id_field = id_field or settings.RELANCE_SMS_HTTP_ID_FIELD
        if not self.url:
            raise ImproperlyConfigured("RELANCE_SMS_HTTP_URL is not set")
        # urllib also opens file:// and ftp:// URLs; a provider is reached over HTTP(S) only.
        if urlsplit(self.url).scheme not in ("https", "http"):
            raise ImproperlyConfigured(f"RELANCE_SMS_HTTP_URL must be an https URL: {self.url!r}")
        if not self.token:
            raise ImproperlyConfigured("RELANCE_SMS_HTTP_TOKEN is not set")

    def _send(self, message: SmsMessage) -> str:
        payload = {
            "to": message.to,
            "from": message.sender,
            "text": message.body,
            "reference": message.reference,
        }
        request = urllib.request.Request(
            self.url,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": "Relance",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status = response.status
                body = response.read(_MAX_RESPONSE_BYTES)
        except urllib.error.HTTPError as error:
            with error:
                detail = _detail(error.read(_DETAIL_CHARS))
            transient = error.code == 429 or error.code >= 500
            raise SmsSendError(
                f"SMS provider answered HTTP {error.code}{detail}", transient=transient
            ) from error
        except (OSError, http.client.HTTPException) as error:
            # URLError (DNS, refused connection), TimeoutError, a connection reset or a
            # malformed answer: the provider may be back in a moment.
            reason = getattr(error, "reason", None) or error
            raise SmsSendError(
                f"SMS provider unreachable: {str(reason) or type(reason).__name__}",
                transient=True,
            ) from error
        return self._provider_id(status, body)

    def _provider_id(self, status: int, body: bytes) -> str:
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        value = data.get(self.id_field) if isinstance(data, dict) else None
        if value is None or value == "" or isinstance(value, dict | list | bool):
            raise SmsSendError(
                f"SMS provider answered HTTP {status} without a message id in "
                f"{self.id_field!r}{_detail(body)}",
                transient=False,
            )
        return str(value)


def _detail(body: bytes) -> str:
    text = body[:_DETAIL_CHARS].decode("utf-8", "replace").strip()
    return f": {text}" if text else ""
