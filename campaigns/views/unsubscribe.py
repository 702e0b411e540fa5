"""The unsubscribe page of a message (the link in its content and its List-Unsubscribe URL).

GET shows a confirmation with a button to unsubscribe and one to stay subscribed, and changes
nothing (mail scanners follow links). POST unsubscribes, without further interaction: mailbox
providers send `List-Unsubscribe=One-Click` (RFC 8058) with no CSRF token, so the view is
CSRF-exempt; the signed token in the URL is what authorises it. "Stay" records the engagement,
as "keep me subscribed" does on the preference page (see campaigns.preferences).
"""

from contextlib import AbstractContextManager, nullcontext

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from campaigns import tracking
from campaigns.preferences import contact_stay_record
from campaigns.rendering import contact_language_code
from contacts.models import EmailStatus

TEMPLATES = "campaigns/public/"


def contact_language(language: str) -> AbstractContextManager:
    """The contact's language when we speak it ("fr", "fr-FR", "EN"...), else what the
    LocaleMiddleware chose from the browser."""
    code = contact_language_code(language)
    return translation.override(code) if code else nullcontext()


@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, signed: str) -> HttpResponse:
    message = tracking.message_for_unsubscribe(signed)
    if message is None:
        raise Http404
    contact = message.contact
    context = {
        "email": contact.email,
        "signed": signed,
        "preferences_url": tracking.preferences_url(message),
    }
    with contact_language(contact.language):
        if request.method != "POST":
            context["unsubscribed"] = contact.email_status == EmailStatus.UNSUBSCRIBED
            response = render(request, TEMPLATES + "unsubscribe.html", context)
        elif request.POST.get("action") == "stay":
            contact_stay_record(contact_id=message.contact_id, message=message)
            response = render(request, TEMPLATES + "stay.html", context)
        else:
            # A form's "unsubscribe" button or a mailbox provider's one-click POST.
            tracking.message_unsubscribe(message=message)
            response = render(request, TEMPLATES + "unsubscribed.html", context)
        response["Content-Language"] = translation.get_language()
    return response
