"""The ALTCHA proof of work: a solved challenge admits one sign-up; a missing, wrong, forged,
replayed or expired answer gets a clear message and creates nothing."""

import base64
import json
from datetime import timedelta

import altcha
import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from signups.models import PendingSignup
from tests.signups.conftest import captcha_payload

pytestmark = pytest.mark.django_db


def _tampered(payload: str, **changes) -> str:
    data = json.loads(base64.b64decode(payload))
    data.update(changes)
    return base64.b64encode(json.dumps(data).encode()).decode()


def test_challenge_endpoint_serves_a_signed_challenge_any_site_may_fetch(client, signup_form):
    response = client.get(reverse("signups:challenge", kwargs={"slug": signup_form.slug}))

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert set(response.json()) == {"algorithm", "challenge", "maxNumber", "salt", "signature"}
    assert response.json()["maxNumber"] == 2000


def test_solved_challenge_is_accepted(signup_form, submit, sink):
    response = submit(signup_form)

    assert response.status_code == 200
    assert PendingSignup.objects.count() == 1
    assert len(sink.received) == 1


@pytest.mark.parametrize(
    ("altcha_value", "message"),
    [
        ("", "Please complete the anti-robot check"),
        ("not base64 at all", "The anti-robot check failed"),
        (base64.b64encode(b"{}").decode(), "The anti-robot check failed"),
    ],
)
def test_missing_or_garbled_answer_is_refused(signup_form, submit, sink, altcha_value, message):
    response = submit(signup_form, altcha=altcha_value)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PendingSignup.objects.exists()
    assert not sink.received


def test_wrong_number_is_refused(signup_form, submit, client, sink):
    payload = captcha_payload(client, signup_form)
    number = json.loads(base64.b64decode(payload))["number"]

    response = submit(signup_form, altcha=_tampered(payload, number=number + 1))

    assert response.status_code == 400
    assert "The anti-robot check failed" in response.content.decode()
    assert not PendingSignup.objects.exists()
    assert not sink.received


def test_challenge_signed_with_another_key_is_refused(signup_form, submit, sink):
    forged = altcha.create_challenge(hmac_key="not-our-key", max_number=50)
    solution = altcha.solve_challenge(forged)
    payload = altcha.Payload(
        forged.algorithm, forged.challenge, solution.number, forged.salt, forged.signature
    ).to_base64()

    response = submit(signup_form, altcha=payload)

    assert response.status_code == 400
    assert "The anti-robot check failed" in response.content.decode()
    assert not PendingSignup.objects.exists()


def test_replayed_answer_is_refused(signup_form, submit, client, sink):
    payload = captcha_payload(client, signup_form)
    submit(signup_form, altcha=payload, email="ann@example.com")

    response = submit(signup_form, altcha=payload, email="bob@example.com")

    assert response.status_code == 400
    assert "This anti-robot check was already used" in response.content.decode()
    assert list(PendingSignup.objects.values_list("email", flat=True)) == ["ann@example.com"]
    assert len(sink.received) == 1


def test_expired_challenge_is_refused(signup_form, submit, client, sink):
    payload = captcha_payload(client, signup_form)

    with time_machine.travel(timezone.now() + timedelta(minutes=21)):
        response = submit(signup_form, altcha=payload)

    assert response.status_code == 400
    assert "The anti-robot check failed" in response.content.decode()
    assert not PendingSignup.objects.exists()
