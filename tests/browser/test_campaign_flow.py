"""A campaign in a real browser: compose it, preview it, send a test, send it; the messages
arrive at a real SMTP server and the report counts them."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from campaigns.models import Campaign
from tests.factories import ContactFactory, ContactListFactory, SenderProfileFactory
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.browser


@pytest.fixture
def sink():
    with SmtpSink() as sink:
        yield sink


def test_staff_composes_previews_tests_and_sends_a_campaign(logged_in_page, live_server, sink):
    page = logged_in_page
    newsletter = ContactListFactory(name="Newsletter")
    newsletter.contacts.add(
        ContactFactory(email="ann@example.com", first_name="Ann"),
        ContactFactory(email="bob@example.com", first_name="Bob"),
    )
    SenderProfileFactory(
        name="Boutique",
        from_email="news@boutique.example",
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        smtp_use_tls=False,
        rate_per_minute=100000,
    )

    # Compose.
    page.goto(live_server.url + reverse("admin:campaigns_campaign_add"))
    page.fill("#id_name", "Spring sale")
    page.select_option("#id_sender_profile", label="Boutique <news@boutique.example>")
    page.fill("#id_subject", "Hello {{ first_name }}")
    page.fill(
        "#id_html_body", '<p>Hi {{ first_name }}, <a href="https://shop.example/sale">sale</a></p>'
    )
    page.select_option("#id_target_lists_from", label="Newsletter")
    page.click("#id_target_lists_add")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    campaign = Campaign.objects.get(name="Spring sale")

    # Preview for a chosen contact.
    page.click("text=Preview")
    page.fill("#preview-email", "bob@example.com")
    page.click("#preview-contact input[type=submit]")
    expect(page.locator("#preview-subject")).to_have_text("Hello Bob")

    # A test to the agency's address.
    page.click(".object-tools >> text=Send")
    page.fill("#id_to", "me@agency.example")
    page.fill("#id_contact_email", "ann@example.com")
    page.click("button[value=test]")
    expect(page.locator(".messagelist")).to_contain_text("Test sent to me@agency.example.")
    assert sink.recipients() == ["me@agency.example"]
    assert sink.received[0].message["Subject"] == "[Test] Hello Ann"

    # Send: the worker (inline in tests) delivers to both contacts.
    page.click("button[value=send]")
    expect(page.locator(".messagelist")).to_contain_text("Sending has started.")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT
    assert sorted(sink.recipients()[1:]) == ["ann@example.com", "bob@example.com"]

    page.click(".object-tools >> text=Report")
    expect(page.locator("#report-status")).to_have_text("Sent")
    expect(page.locator("#report-statuses")).to_contain_text("2")
