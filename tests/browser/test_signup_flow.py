"""A sign-up in a real browser: the ALTCHA widget solves its proof of work, the confirmation
e-mail arrives at a real SMTP server, and its link's button subscribes the contact."""

import pytest
from playwright.sync_api import expect

from contacts.models import Contact, EmailStatus
from signups.models import ConsentRecord
from tests.factories import SenderProfileFactory
from tests.signups.conftest import confirmation_path
from tests.signups.factories import SignupFormFactory
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.browser


@pytest.fixture
def sink():
    with SmtpSink() as sink:
        yield sink


def test_visitor_signs_up_solves_the_captcha_and_confirms(
    page, live_server, transactional_db, sink, settings
):
    settings.RELANCE_SIGNUP_CAPTCHA_MAX_NUMBER = 5000
    SignupFormFactory(
        slug="newsletter",
        title="Our newsletter",
        asked_fields=["first_name"],
        consent_text="I agree to receive the newsletter.",
        sender_profile=SenderProfileFactory(
            smtp_host="127.0.0.1", smtp_port=sink.port, smtp_use_tls=False
        ),
    )

    page.goto(f"{live_server.url}/signup/newsletter/?utm_source=Instagram&lang=fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.fill("input[name=email]", "ann@example.com")
    page.fill("input[name=first_name]", "Ann")
    page.check("input[name=consent]")
    page.locator("altcha-widget input[type=checkbox]").click()
    expect(page.locator("altcha-widget [data-state=verified]")).to_be_visible()
    page.click("button[type=submit]")

    # The thank-you page (worded in the page's language) has no form.
    expect(page.locator("#signup-form")).to_have_count(0)
    assert page.url.endswith("/signup/newsletter/?utm_source=Instagram&lang=fr")
    assert not Contact.objects.exists()
    [mail] = sink.received

    page.goto(live_server.url + confirmation_path(mail))
    page.click("button[type=submit]")

    expect(page.locator("button[type=submit]")).to_have_count(0)
    contact = Contact.objects.get()
    assert (contact.email, contact.first_name) == ("ann@example.com", "Ann")
    assert contact.email_status == EmailStatus.SUBSCRIBED
    assert contact.lead_source.name == "Instagram"
    assert ConsentRecord.objects.get().utm == {"utm_source": "Instagram"}
