"""The embeddable snippet: a plain HTML form posting to the public page from another site,
with our ALTCHA script, the honeypot and the consent text version it shows."""

import re

import pytest
from django.test import Client

from signups.models import PendingSignup
from signups.snippet import signup_form_snippet
from tests.signups.conftest import captcha_payload
from tests.signups.factories import SignupFormFactory

pytestmark = pytest.mark.django_db


def test_snippet_posts_to_the_public_page_with_our_captcha_and_honeypot(settings):
    settings.RELANCE_PUBLIC_URL = "https://news.boutique.example"
    form = SignupFormFactory(
        slug="club", asked_fields=["first_name", "language"], consent_text="I agree."
    )

    html = signup_form_snippet(form)

    assert '<form method="post" action="https://news.boutique.example/signup/club/"' in html
    assert 'challengeurl="https://news.boutique.example/signup/club/challenge/"' in html
    assert 'src="https://news.boutique.example/static/altcha/altcha.min.js"' in html
    assert 'name="website"' in html
    assert 'name="consent_version" value="1"' in html
    assert 'name="first_name"' in html and 'name="language"' in html
    assert "I agree." in html
    assert "csrfmiddlewaretoken" not in html


def test_a_post_from_another_site_is_accepted_without_csrf_token(signup_form, sink):
    browser = Client(enforce_csrf_checks=True)
    html = signup_form_snippet(signup_form)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))

    response = browser.post(
        "/signup/newsletter/",
        {
            **fields,
            "email": "ann@example.com",
            "consent": "on",
            "website": "",
            "altcha": captcha_payload(browser, signup_form),
        },
        HTTP_ORIGIN="https://blog.example",
    )

    assert response.status_code == 200
    assert PendingSignup.objects.get().email == "ann@example.com"
