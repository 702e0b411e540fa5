"""Unconfirmed sign-ups expire after their form's delay (the daily task), along with the bot
guards' old rows."""

from datetime import timedelta

import pytest
from django.utils import timezone

from signups.models import CaptchaChallengeUse, PendingSignup, SignupRateWindow
from signups.tasks import signups_expire
from tests.signups.conftest import confirmation_path
from tests.signups.factories import SignupFormFactory

pytestmark = pytest.mark.django_db


def _pending(form, email: str, age: timedelta) -> PendingSignup:
    return PendingSignup.objects.create(
        form=form,
        email=email,
        consent_text=form.consent_texts.get(),
        created_at=timezone.now() - age,
    )


def test_task_deletes_sign_ups_older_than_their_forms_delay():
    weekly = SignupFormFactory(expiry_days=7)
    daily = SignupFormFactory(expiry_days=1)
    _pending(weekly, "weekly-old@example.com", timedelta(days=7, minutes=1))
    _pending(weekly, "weekly-recent@example.com", timedelta(days=6))
    _pending(daily, "daily-old@example.com", timedelta(days=1, minutes=1))
    _pending(daily, "daily-recent@example.com", timedelta(hours=20))

    result = signups_expire()

    assert result["pending_signups"] == 2
    assert set(PendingSignup.objects.values_list("email", flat=True)) == {
        "weekly-recent@example.com",
        "daily-recent@example.com",
    }


def test_expired_link_after_the_task_is_still_a_clear_page(signup_form, submit, sink, client):
    submit(signup_form)
    PendingSignup.objects.update(created_at=timezone.now() - timedelta(days=8))
    signups_expire()

    response = client.post(confirmation_path(sink.received[0]))

    assert response.status_code == 404
    assert "This link is not valid" in response.content.decode()


def test_task_purges_expired_challenges_and_old_rate_windows():
    now = timezone.now()
    CaptchaChallengeUse.objects.create(challenge="old", expires_at=now - timedelta(minutes=1))
    CaptchaChallengeUse.objects.create(challenge="live", expires_at=now + timedelta(minutes=5))
    SignupRateWindow.objects.create(ip="203.0.113.1", window_start=int(now.timestamp()) - 2 * 86400)
    SignupRateWindow.objects.create(ip="203.0.113.1", window_start=int(now.timestamp()) - 60)

    signups_expire()

    assert list(CaptchaChallengeUse.objects.values_list("challenge", flat=True)) == ["live"]
    assert SignupRateWindow.objects.count() == 1
