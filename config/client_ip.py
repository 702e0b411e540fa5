"""The address a request came from, for every app (rate limits, login lockouts, consent
records, machine-open detection): one reading of the proxy set-up, `RELANCE_PROXY_COUNT`."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR without a proxy (RELANCE_PROXY_COUNT = 0). Behind N proxies, each appends
    the address it got the request from to X-Forwarded-For, so the client's is the N-th from
    the right; what is further left was written by the client and proves nothing. None when
    that is not an IP address."""
    address = request.META.get("REMOTE_ADDR", "")
    proxies = getattr(settings, "RELANCE_PROXY_COUNT", 0)
    if proxies > 0:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            address = hops[-proxies]
    try:
        validate_ipv46_address(address)
    except ValidationError:
        return None
    return address
