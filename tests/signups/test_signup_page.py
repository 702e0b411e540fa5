"""The public page of a form: the fields it asks, the consent text, the CAPTCHA widget, the
page's UTM parameters carried as hidden fields, a French/English switch; inactive forms and bad
input get clear pages."""

import pytest

from signups.models import PendingSignup, SignupForm
from tests.signups.factories import SignupFormFactory

pytestmark = pytest.mark.django_db


def test_page_shows_the_fields_asked_the_consent_text_and_the_captcha(client):
    SignupFormFactory(
        slug="club",
        title="Join the club",
        asked_fields=["first_name", "phone"],
        required_fields=["phone"],
        consent_text="I agree <to> the terms.",
    )

    response = client.get("/signup/club/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Join the club</h1>" in html
    assert 'name="email"' in html
    assert 'name="first_name"' in html
    assert 'type="tel" name="phone"' in html and "required" in html
    assert 'name="last_name"' not in html
    assert "I agree &lt;to&gt; the terms." in html
    assert 'challengeurl="/signup/club/challenge/"' in html
    assert "/static/altcha/altcha.min.js" in html
    assert 'name="consent_version" value="1"' in html


def test_page_language_follows_the_switch(client):
    SignupFormFactory(slug="club")

    english = client.get("/signup/club/?utm_source=x", HTTP_ACCEPT_LANGUAGE="en")
    french = client.get("/signup/club/?utm_source=x&lang=fr", HTTP_ACCEPT_LANGUAGE="en")

    assert '<html lang="en">' in english.content.decode()
    assert english["Content-Language"] == "en"
    assert '<html lang="fr">' in french.content.decode()
    assert french["Content-Language"] == "fr"
    # The switch keeps the page's other parameters.
    assert 'href="/signup/club/?utm_source=x&amp;lang=fr"' in english.content.decode()


def test_page_follows_the_browsers_language(client):
    SignupFormFactory(slug="club")

    response = client.get("/signup/club/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")

    assert response["Content-Language"] == "fr"


def test_errors_are_shown_in_the_pages_language(client, submit):
    form = SignupFormFactory(slug="club")

    response = submit(form, email="", lang="fr")

    assert response.status_code == 400
    assert "Ce champ est obligatoire." in response.content.decode()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-address"}, "invalid e-mail address"),
        ({"consent": None}, "Please tick the box to give your consent."),
        ({"phone": "12"}, "phone"),
    ],
)
def test_bad_input_gets_a_clear_message_and_creates_nothing(client, submit, sink, fields, message):
    form = SignupFormFactory(slug="club", asked_fields=["phone"])

    response = submit(form, **fields)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PendingSignup.objects.exists()
    assert not sink.received


def test_a_required_field_left_empty_is_refused(client, submit):
    form = SignupFormFactory(
        slug="club", asked_fields=["first_name"], required_fields=["first_name"]
    )

    response = submit(form, first_name="")

    assert response.status_code == 400
    assert not PendingSignup.objects.exists()


def test_phone_and_language_answers_are_stored_normalised(client, submit):
    form = SignupFormFactory(slug="club", asked_fields=["phone", "language"])

    submit(form, phone="06 12 34 56 78", language="fr")

    assert PendingSignup.objects.get().data == {"phone": "+33612345678", "language": "fr"}


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_inactive_or_unknown_form_shows_a_clear_page(client, method):
    SignupFormFactory(slug="closed", is_active=False)

    for url in ("/signup/closed/", "/signup/nothing-here/"):
        response = getattr(client, method)(url)
        assert response.status_code == 404
        assert "Form not available" in response.content.decode()
    assert not PendingSignup.objects.exists()


def test_a_form_never_saved_through_the_service_is_not_shown(client, db):
    contact_list = SignupFormFactory().contact_list
    SignupForm.objects.create(name="Raw", slug="raw", contact_list=contact_list, consent_text="x")

    assert client.get("/signup/raw/").status_code == 404
