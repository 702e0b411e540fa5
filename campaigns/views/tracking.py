"""The open pixel and the click redirect: signed links from sent messages, hit hard.

Each request is one look-up of the message by its token and one recording (see
`campaigns.tracking`). A link that does not verify is a 404 and records nothing. HEAD requests
(link checkers) get the same answer without being recorded: no one opened or clicked.
"""

import base64

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_safe

from campaigns import tracking
from config.client_ip import client_ip

# A transparent 1×1 GIF (43 bytes).
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _user_agent(request: HttpRequest) -> str:
    return request.headers.get("User-Agent", "")


@require_safe
def open_pixel(request: HttpRequest, signed: str) -> HttpResponse:
    message = tracking.message_for_open(signed)
    if message is None:
        raise Http404
    if request.method == "GET":
        tracking.message_open_track(
            message=message,
            user_agent=_user_agent(request),
            # The peer's address: behind a reverse proxy, the proxy must pass the client's.
            ip=client_ip(request) or "",
        )
    response = HttpResponse(PIXEL_GIF, content_type="image/gif")
    # Every fetch must reach us: a cached pixel is an open we never see.
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def click_redirect(request: HttpRequest, signed: str) -> HttpResponse:
    if request.method == "GET":
        url = tracking.message_click_track(signed=signed, user_agent=_user_agent(request))
    else:
        url = tracking.click_target(signed)
    if url is None:
        raise Http404
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"
    return response
