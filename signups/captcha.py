"""The sign-up forms' CAPTCHA: an ALTCHA proof of work, served and checked here, no third party.

The browser fetches a signed challenge (`captcha_challenge_create`, served by
`signups.views.captcha_challenge`), spends a moment of CPU finding the number behind it, and
posts the answer with the form; `CaptchaField` checks the signature and the expiry, then claims
the challenge in `CaptchaChallengeUse` so that one solved challenge admits one submission (a
database table rather than django-altcha's cache, so that every web process sees the claim).

Settings: `ALTCHA_HMAC_KEY` (django-altcha's; default: derived from SECRET_KEY),
`ALTCHA_CHALLENGE_EXPIRE` (milliseconds, django-altcha's, default 20 minutes) and
`RELANCE_SIGNUP_CAPTCHA_MAX_NUMBER` (the work asked of the browser, default 100,000).
"""

import base64
import datetime
import json
import logging

import altcha
from django import forms
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django_altcha import AltchaField
from django_altcha.conf import get_setting

from signups.models import CaptchaChallengeUse

logger = logging.getLogger(__name__)

DEFAULT_MAX_NUMBER = 100_000


def captcha_hmac_key() -> str:
    """The key signing challenges: ALTCHA_HMAC_KEY, or one derived from SECRET_KEY so that a
    deployment works without one more secret."""
    configured = getattr(settings, "ALTCHA_HMAC_KEY", None)
    if configured:
        return configured
    return salted_hmac("signups.captcha", "altcha-hmac-key").hexdigest()


def captcha_max_number() -> int:
    return int(getattr(settings, "RELANCE_SIGNUP_CAPTCHA_MAX_NUMBER", DEFAULT_MAX_NUMBER))


def captcha_challenge_create() -> altcha.Challenge:
    expires_ms = get_setting("ALTCHA_CHALLENGE_EXPIRE")
    return altcha.create_challenge(
        altcha.ChallengeOptions(
            hmac_key=captcha_hmac_key(),
            max_number=captcha_max_number(),
            # Aware: altcha turns it into a UTC timestamp whatever the server's zone.
            expires=timezone.now() + datetime.timedelta(milliseconds=expires_ms),
        )
    )


def _payload_challenge(value: str) -> tuple[str, datetime.datetime]:
    """The challenge string of a verified payload and when it expires."""
    payload = json.loads(base64.b64decode(value).decode())
    expires = altcha.extract_params(payload).get("expires")
    if expires:
        expires_at = datetime.datetime.fromtimestamp(int(expires[0]), tz=datetime.UTC)
    else:
        expires_at = timezone.now() + datetime.timedelta(days=1)
    return payload["challenge"], expires_at


def captcha_challenge_claim(*, challenge: str, expires_at: datetime.datetime) -> bool:
    """Marks a solved challenge as used; False when it already was (a replayed answer)."""
    try:
        with transaction.atomic():
            CaptchaChallengeUse.objects.create(challenge=challenge, expires_at=expires_at)
    except IntegrityError:
        return False
    return True


def captcha_uses_purge(*, now: datetime.datetime) -> int:
    """Forgets expired challenges: their answers are refused as expired anyway."""
    deleted, _ = CaptchaChallengeUse.objects.filter(expires_at__lt=now).delete()
    return deleted


class CaptchaField(AltchaField):
    """django-altcha's field and widget, checked with our key against our replay table."""

    default_error_messages = {
        "required": _(
            "Please complete the anti-robot check (it needs JavaScript) and send the form again."
        ),
        "invalid": _("The anti-robot check failed. Please try again."),
        "replay": _("This anti-robot check was already used. Please try again."),
    }

    def validate(self, value) -> None:
        if not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        try:
            verified, error = altcha.verify_solution(
                payload=value, hmac_key=captcha_hmac_key(), check_expires=True
            )
            challenge, expires_at = _payload_challenge(value) if verified else ("", None)
        except Exception:  # A forged payload may break the decoder in many ways.
            verified, error = False, "undecodable payload"
        if not verified:
            logger.info("Sign-up CAPTCHA refused: %s", error or "wrong answer")
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if not captcha_challenge_claim(challenge=challenge, expires_at=expires_at):
            raise forms.ValidationError(self.error_messages["replay"], code="replay")
