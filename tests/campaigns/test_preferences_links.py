"""Every e-mail carries a signed link to its contact's preference page: placed by the template
through `{{ preferences_url }}`, or in a footer added when the template does not place it."""

import re

import pytest
from django.conf import settings

from campaigns import delivery
from campaigns.models import Message
from campaigns.rendering import RenderedMessage, email_footer_add
from campaigns.services import campaign_schedule
from campaigns.tracking import preferences_token_resolve
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    ContactListFactory,
    SenderProfileFactory,
)
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.django_db

PREFERENCES_LINK = re.compile(re.escape(settings.RELANCE_PUBLIC_URL) + r"/p/([A-Za-z0-9_.:-]+)/")
UNSUBSCRIBE_LINK = re.compile(re.escape(settings.RELANCE_PUBLIC_URL) + r"/u/[A-Za-z0-9_.:-]+/")


@pytest.fixture
def sink():
    with SmtpSink() as sink:
        yield sink


def deliver(sink, *, html: str, text: str):
    """Send a one-recipient campaign over SMTP; returns (parsed e-mail, its Message row)."""
    contact = ContactFactory(first_name="Ann")
    contact_list = ContactListFactory()
    contact_list.contacts.add(contact)
    profile = SenderProfileFactory(
        smtp_host="127.0.0.1", smtp_port=sink.port, smtp_use_tls=False, rate_per_minute=100000
    )
    campaign = CampaignFactory(
        sender_profile=profile, html_body=html, text_body=text, target_lists=[contact_list]
    )
    campaign_schedule(campaign=campaign)
    delivery.campaign_deliver(campaign_id=campaign.pk)
    (received,) = sink.received
    return received.message, Message.objects.get(campaign=campaign)


def bodies(email) -> tuple[str, str]:
    html = email.get_body(("html",))
    return (
        html.get_content() if html is not None else "",
        email.get_body(("plain",)).get_content(),
    )


def test_an_email_whose_template_has_no_links_gets_a_footer_with_both(sink):
    email, message = deliver(
        sink, html="<html><body><p>Hello {{ first_name }}</p></body></html>", text="Hello"
    )

    html, text = bodies(email)
    for body in (html, text):
        (signed,) = PREFERENCES_LINK.findall(body)
        link = preferences_token_resolve(signed)
        assert (link.contact_id, link.message_token, link.expired) == (
            message.contact_id,
            message.token,
            False,
        )
        assert len(UNSUBSCRIBE_LINK.findall(body)) == 1
    assert "Manage your preferences" in html and "Manage your preferences" in text
    # In the body, before its end, and never rewritten through the click redirect.
    assert html.index("Manage your preferences") < html.index("</body>")
    assert "/t/c/" not in html


def test_an_email_placing_both_links_itself_gets_no_footer(sink):
    email, _ = deliver(
        sink,
        html=(
            '<p>Hi</p><a href="{{ preferences_url }}">Prefs</a>'
            '<a href="{{ unsubscribe_url }}">Stop</a>'
        ),
        text="Hi. Preferences: {{ preferences_url }} Stop: {{ unsubscribe_url }}",
    )

    html, text = bodies(email)
    assert len(PREFERENCES_LINK.findall(html)) == len(PREFERENCES_LINK.findall(text)) == 1
    assert "Manage your preferences" not in html + text


def test_a_text_only_email_gets_the_footer_in_its_text(sink):
    email, _ = deliver(sink, html="", text="Hello {{ first_name }}")

    html, text = bodies(email)
    assert html == ""
    assert text.startswith("Hello Ann")
    assert len(PREFERENCES_LINK.findall(text)) == 1


def test_footer_links_only_what_the_template_lacks():
    campaign = CampaignFactory.build(
        html_body='<a href="{{ unsubscribe_url }}">x</a>', text_body="{{ preferences_url }}"
    )
    rendered = RenderedMessage(
        subject="s", preheader="", html='<a href="U">x</a>', text="P", sms=""
    )

    result = email_footer_add(
        rendered, campaign=campaign, preferences_url="P?a=1&b=2", unsubscribe_url="U"
    )

    assert result.html.count('href="U"') == 1
    assert 'href="P?a=1&amp;b=2"' in result.html
    assert result.text.startswith("P\n") and "Unsubscribe: U" in result.text
