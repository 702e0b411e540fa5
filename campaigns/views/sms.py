"""The endpoint SMS providers call with the replies they receive (STOP and the rest).

`POST /sms/inbound/`, form-encoded or JSON, with the fields `from` (the sender's number), `text`
and `id` (the provider's id for the reply; optional, makes replays harmless).

Authentication: the shared secret settings.RELANCE_SMS_INBOUND_SECRET, either as the password of
HTTP basic auth (any user name, e.g. `https://relance:SECRET@relance.example.com/sms/inbound/`,
which most providers accept in their webhook URL) or as `Authorization: Bearer SECRET`. A call
without it gets a 403 and records nothing; so does every call while the setting is empty.
"""

import base64
import binascii
import json
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from campaigns.sms.inbound import sms_reply_receive

logger = logging.getLogger(__name__)


def _presented_secret(request: HttpRequest) -> str:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    scheme, credentials = scheme.lower(), credentials.strip()
    if scheme == "bearer":
        return credentials
    if scheme == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2]
    return ""


def _authorized(request: HttpRequest) -> bool:
    secret = settings.RELANCE_SMS_INBOUND_SECRET
    presented = _presented_secret(request)
    return bool(secret) and bool(presented) and constant_time_compare(presented, secret)


def _payload(request: HttpRequest) -> dict | None:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) else None
    return request.POST.dict()


@csrf_exempt
@login_not_required
@require_POST
def sms_inbound(request: HttpRequest) -> HttpResponse:
    if not _authorized(request):
        logger.warning("SMS reply refused: missing or wrong secret")
        return HttpResponseForbidden("Forbidden")
    payload = _payload(request)
    if payload is None:
        return HttpResponseBadRequest("expected a JSON object or form fields")
    sender, text = payload.get("from"), payload.get("text")
    reply_id = payload.get("id")
    if not isinstance(sender, str) or not sender.strip() or not isinstance(text, str):
        return HttpResponseBadRequest("'from' and 'text' are required")
    if reply_id is not None and not isinstance(reply_id, str | int):
        return HttpResponseBadRequest("'id' must be a string")
    sms_reply_receive(sender=sender, text=text, provider_message_id=str(reply_id or "").strip())
    return HttpResponse(status=200)
