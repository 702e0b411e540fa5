"""Per-IP rate limit: past the limit within the window, a sign-up gets a 429 page with a clear
message and creates nothing; other addresses and the next window are not affected."""

from datetime import timedelta

import pytest
import time_machine
from django.test import RequestFactory
from django.utils import timezone

from config.client_ip import client_ip
from signups.models import PendingSignup

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.RELANCE_SIGNUP_RATE_LIMIT = 3
    settings.RELANCE_SIGNUP_RATE_WINDOW = 600


@pytest.fixture
def now():
    # Frozen at the start of a window, so the test's attempts all fall in it.
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    with time_machine.travel(start, tick=False):
        yield start


def test_attempts_past_the_limit_get_a_429_and_create_nothing(signup_form, submit, sink, now):
    for n in range(3):
        assert submit(signup_form, email=f"person{n}@example.com").status_code == 200

    response = submit(signup_form, email="one-too-many@example.com")

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert not PendingSignup.objects.filter(email="one-too-many@example.com").exists()
    assert len(sink.received) == 3


def test_failed_attempts_count_too(signup_form, submit, now):
    for _ in range(3):
        assert submit(signup_form, altcha="").status_code == 400

    assert submit(signup_form).status_code == 429
    assert not PendingSignup.objects.exists()


def test_other_addresses_and_the_next_window_are_not_limited(signup_form, submit, now):
    for n in range(4):
        submit(signup_form, email=f"person{n}@example.com", remote_addr="203.0.113.1")

    assert (
        submit(signup_form, email="other@example.com", remote_addr="203.0.113.2").status_code == 200
    )
    with time_machine.travel(now + timedelta(minutes=10), tick=False):
        response = submit(signup_form, email="later@example.com", remote_addr="203.0.113.1")
    assert response.status_code == 200


def test_forwarded_for_is_ignored_unless_proxies_are_declared(settings):
    request = RequestFactory().post(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9"
    )

    assert client_ip(request) == "10.0.0.1"
    settings.RELANCE_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.9"
