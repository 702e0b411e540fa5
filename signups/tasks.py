"""django-q2 entry points of the sign-up forms (thin: see signups.services)."""

import logging

from django.utils import timezone

from signups.captcha import captcha_uses_purge
from signups.models import PendingSignup
from signups.ratelimit import rate_windows_purge
from signups.services import pending_signups_expire, signup_confirmation_email_send

logger = logging.getLogger(__name__)


def signup_confirmation_send(pending_id: int) -> None:
    pending = PendingSignup.objects.select_related("form__sender_profile").filter(pk=pending_id)
    pending = pending.first()
    if pending is None:  # Confirmed or expired before the worker got to it.
        return
    signup_confirmation_email_send(pending=pending)


def signups_expire() -> dict[str, int]:
    """Daily: unconfirmed sign-ups past their form's delay, and the bot guards' old rows."""
    now = timezone.now()
    result = {
        "pending_signups": pending_signups_expire(now=now),
        "captcha_uses": captcha_uses_purge(now=now),
        "rate_windows": rate_windows_purge(now=now),
    }
    logger.info("Sign-ups expired: %s", result)
    return result
