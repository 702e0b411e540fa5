"""The honeypot: a hidden field people never fill in. Filled in, the sign-up is refused with a
clear message and nothing is created."""

import pytest

from signups.models import PendingSignup

pytestmark = pytest.mark.django_db


def test_filled_honeypot_is_refused_and_creates_nothing(signup_form, submit, sink):
    response = submit(signup_form, website="https://spam.example")

    assert response.status_code == 400
    assert "This sign-up looks automated and was not accepted" in response.content.decode()
    assert not PendingSignup.objects.exists()
    assert not sink.received


def test_honeypot_is_on_the_page_out_of_sight(signup_form, client):
    html = client.get("/signup/newsletter/").content.decode()

    assert '<div class="hp" aria-hidden="true">' in html
    assert 'name="website"' in html
