"""Per-IP rate limit of sign-up submissions: at most N attempts per fixed window.

Counted in the database (`SignupRateWindow`, one row per address and window) so that every web
process shares the count. Every POST counts, valid or not: a bot guessing its way through the
CAPTCHA is slowed down as much as one that floods valid-looking sign-ups.

Settings: `RELANCE_SIGNUP_RATE_LIMIT` (attempts, default 10), `RELANCE_SIGNUP_RATE_WINDOW`
(seconds, default 600); the visitor's address is `config.client_ip` (RELANCE_PROXY_COUNT).
"""

from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from signups.models import SignupRateWindow

DEFAULT_LIMIT = 10
DEFAULT_WINDOW_SECONDS = 600
# Windows older than this are purged by the daily task (longer than any sensible window).
KEEP_SECONDS = 24 * 3600


def rate_limit() -> int:
    return int(getattr(settings, "RELANCE_SIGNUP_RATE_LIMIT", DEFAULT_LIMIT))


def rate_window_seconds() -> int:
    return max(1, int(getattr(settings, "RELANCE_SIGNUP_RATE_WINDOW", DEFAULT_WINDOW_SECONDS)))


def signup_attempt_allowed(*, ip: str | None, now: datetime) -> bool:
    """Counts one attempt from `ip`; False once it has made more than the limit in the
    current window. An unknown address shares one counter with all unknown addresses."""
    ip = ip or "0.0.0.0"
    window = rate_window_seconds()
    start = int(now.timestamp()) // window * window
    counter = SignupRateWindow.objects.filter(ip=ip, window_start=start)
    with transaction.atomic():
        if not counter.update(hits=F("hits") + 1):
            try:
                with transaction.atomic():
                    SignupRateWindow.objects.create(ip=ip, window_start=start, hits=1)
            except IntegrityError:  # Created meanwhile by a concurrent request.
                counter.update(hits=F("hits") + 1)
        hits = counter.values_list("hits", flat=True).get()
    return hits <= rate_limit()


def rate_windows_purge(*, now: datetime) -> int:
    deleted, _ = SignupRateWindow.objects.filter(
        window_start__lt=int(now.timestamp()) - KEEP_SECONDS
    ).delete()
    return deleted
