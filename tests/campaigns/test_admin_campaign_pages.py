"""A campaign's preview and audience pages in the admin, and who may open them."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from contacts.models import ActivityKind, EmailStatus
from segments.models import Segment, SegmentMembership
from tests.factories import (
    ActivityFactory,
    CampaignFactory,
    ContactFactory,
    ContactListFactory,
)

pytestmark = pytest.mark.django_db


def preview_url(campaign) -> str:
    return reverse("admin:campaigns_campaign_preview", args=[campaign.pk])


def audience_url(campaign) -> str:
    return reverse("admin:campaigns_campaign_audience", args=[campaign.pk])


def on_list(*contacts):
    contact_list = ContactListFactory()
    contact_list.contacts.add(*contacts)
    return contact_list


def test_preview_escapes_the_html_into_a_sandboxed_iframe_when_content_has_script(staff_client):
    contact = ContactFactory(email="ann@example.com", first_name="<b>Ann</b>")
    campaign = CampaignFactory(
        subject="Hi {{ first_name }}",
        html_body="<p>{{ first_name }}</p><script>alert(1)</script>",
        text_body="Hello {{ first_name }}",
    )

    response = staff_client.get(preview_url(campaign), {"email": "ANN@example.com"})

    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["contact"] == contact
    # The HTML lives in the srcdoc attribute only, escaped once more, in a sandbox.
    assert 'sandbox=""' in page
    assert 'srcdoc="&lt;p&gt;&amp;lt;b&amp;gt;Ann&amp;lt;/b&amp;gt;&lt;/p&gt;&lt;script&gt;' in page
    assert "<script>alert(1)</script>" not in page
    # Subject and text are plain text: shown escaped, never as markup.
    assert "Hi &lt;b&gt;Ann&lt;/b&gt;" in page and "<b>Ann</b>" not in page


def test_preview_uses_the_first_contact_of_the_audience_when_no_email_is_given(staff_client):
    first, second = ContactFactory(first_name="First"), ContactFactory(first_name="Second")
    campaign = CampaignFactory(target_lists=[on_list(second, first)], text_body="{{ first_name }}")

    response = staff_client.get(preview_url(campaign))

    assert response.context["contact"] == first
    assert response.context["rendered"].text == "First"


def test_preview_falls_back_to_a_sample_contact_when_the_email_is_unknown(staff_client):
    campaign = CampaignFactory(text_body="Hi {{ first_name }}")

    response = staff_client.get(preview_url(campaign), {"email": "nobody@example.com"})

    assert response.context["contact_source"] == "sample"
    assert response.context["rendered"].text == "Hi Camille"
    assert "No contact has this e-mail address." in response.content.decode()


def test_preview_shows_the_sms_and_its_size_when_the_campaign_is_an_sms(staff_client):
    ContactFactory(email="ann@example.com", first_name="François")
    campaign = CampaignFactory(channel=Campaign.Channel.SMS, sms_text="Bonjour {{ first_name }}")

    response = staff_client.get(preview_url(campaign), {"email": "ann@example.com"})

    page = response.content.decode()
    assert "Bonjour François" in page
    assert tuple(response.context["sms_size"]) == (16, 1, "UCS-2")
    assert "<iframe" not in page


def test_preview_reports_a_template_error_when_stored_content_no_longer_renders(staff_client):
    campaign = CampaignFactory(status=Campaign.Status.SENT, html_body="{% if %}")

    response = staff_client.get(preview_url(campaign))

    assert response.status_code == 200
    assert response.context["rendered"] is None
    assert "Template error" in response.content.decode()


def test_audience_page_lays_out_each_step_when_contacts_are_targeted(staff_client):
    now = timezone.now()
    active = [ContactFactory() for _ in range(3)]
    capped = ContactFactory()
    ActivityFactory(contact=capped, kind=ActivityKind.SENT, occurred_at=now)
    unsubscribed = ContactFactory(email_status=EmailStatus.UNSUBSCRIBED)
    bounced = ContactFactory(email_status=EmailStatus.BOUNCED)
    excluded = ContactFactory()
    inactive = [ContactFactory() for _ in range(2)]
    segment = Segment.objects.get(slug="inactive")
    SegmentMembership.objects.bulk_create(
        SegmentMembership(segment=segment, contact=c, entered_at=now) for c in inactive
    )
    campaign = CampaignFactory(
        target_lists=[on_list(*active, capped, unsubscribed, bounced, excluded, *inactive)],
        exclude_lists=[on_list(excluded)],
        inactive_share_percent=Decimal("50"),
    )

    response = staff_client.get(audience_url(campaign))

    counts = response.context["counts"]
    assert response.status_code == 200
    assert (counts["targeted"], counts["excluded"], counts["suppressed"]) == ("9", "1", "2")
    assert (counts["capped_active"], counts["active"], counts["inactive"]) == ("1", "3", "2")
    assert (counts["inactive_limit"], counts["inactive_included"]) == ("1", "1")
    assert counts["recipients"] == "4"
    page = response.content.decode()
    assert "50 % of 3 = 1" in page
    assert "Unsubscribed" in page and "Bounced" in page


def test_audience_page_shows_an_empty_audience_when_nothing_is_targeted(staff_client):
    campaign = CampaignFactory()

    response = staff_client.get(audience_url(campaign))

    assert "5 % of 0 = 0" in response.content.decode()


@pytest.mark.parametrize("url", [preview_url, audience_url])
def test_page_is_forbidden_when_the_user_may_not_view_campaigns(client, django_user_model, url):
    user = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    client.force_login(user)
    campaign = CampaignFactory()

    assert client.get(url(campaign)).status_code == 403


@pytest.mark.parametrize("url", [preview_url, audience_url])
def test_page_opens_when_the_user_may_only_view_campaigns(client, django_user_model, url):
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    client.force_login(user)
    campaign = CampaignFactory()

    assert client.get(url(campaign)).status_code == 200


def test_preview_says_when_delivery_adds_the_links_footer(staff_client):
    without = CampaignFactory(text_body="Hi", html_body="")
    with_links = CampaignFactory(
        text_body="Hi {{ preferences_url }} {{ unsubscribe_url }}", html_body=""
    )

    assert 'id="preview-footer-note"' in staff_client.get(preview_url(without)).content.decode()
    assert 'id="preview-footer-note"' not in (
        staff_client.get(preview_url(with_links)).content.decode()
    )
