"""Helpers of the sign-up tests: a form, a solved CAPTCHA, a submission, the link e-mailed."""

import re
from urllib.parse import urlsplit

import altcha
import pytest
from django.urls import reverse

from tests.factories import SenderProfileFactory
from tests.signups.factories import SignupFormFactory
from tests.smtp_sink import SmtpSink

CONFIRM_LINK = re.compile(r"https?://\S+/signup/confirm/[^/\s]+/")


@pytest.fixture(autouse=True)
def light_captcha(settings):
    """A small proof of work: the tests solve real challenges, quickly."""
    settings.RELANCE_SIGNUP_CAPTCHA_MAX_NUMBER = 2000


@pytest.fixture
def sink():
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def signup_form(db, sink):
    """A form whose confirmation e-mails go through SMTP to the local sink."""
    profile = SenderProfileFactory(
        name="Boutique",
        from_name="La Boutique",
        from_email="news@boutique.example",
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        smtp_use_tls=False,
    )
    return SignupFormFactory(
        name="Newsletter",
        slug="newsletter",
        sender_profile=profile,
        asked_fields=["first_name", "last_name"],
    )


def captcha_payload(client, signup_form) -> str:
    """Fetches a challenge from the form's endpoint and solves it, as the widget does."""
    data = client.get(reverse("signups:challenge", kwargs={"slug": signup_form.slug})).json()
    challenge = altcha.Challenge(
        data["algorithm"], data["challenge"], data["maxNumber"], data["salt"], data["signature"]
    )
    solution = altcha.solve_challenge(challenge)
    assert solution is not None
    payload = altcha.Payload(
        data["algorithm"], data["challenge"], solution.number, data["salt"], data["signature"]
    )
    return payload.to_base64()


def signup_data(client, signup_form, **fields) -> dict:
    data = {
        "email": "ann@example.com",
        "first_name": "Ann",
        "consent": "on",
        "consent_version": str(signup_form.consent_version),
        "website": "",
    }
    data.update(fields)
    if "altcha" not in data:
        data["altcha"] = captcha_payload(client, signup_form)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def submit(client, django_capture_on_commit_callbacks):
    """POSTs a sign-up (a solved CAPTCHA unless given) and runs what it queued on commit
    (the confirmation e-mail, sent inline: the test settings run tasks synchronously)."""

    def submit(signup_form, query: str = "", remote_addr: str = "203.0.113.7", **fields):
        url = reverse("signups:signup", kwargs={"slug": signup_form.slug}) + query
        data = signup_data(client, signup_form, **fields)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data, REMOTE_ADDR=remote_addr)

    return submit


def confirmation_path(mail) -> str:
    """The confirmation link of a received e-mail, as a path on the test server."""
    text = mail.message.get_body(("plain",)).get_content()
    match = CONFIRM_LINK.search(text)
    assert match, text
    return urlsplit(match.group(0)).path
