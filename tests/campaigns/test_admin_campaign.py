"""Campaigns in the admin: the list, composing a draft, what is refused, non-drafts read-only."""

import pytest
from django.urls import reverse

from campaigns.models import Campaign, SenderProfile
from tests.factories import CampaignFactory, ContactListFactory, SenderProfileFactory

pytestmark = pytest.mark.django_db

ADD_URL = "admin:campaigns_campaign_add"


def campaign_data(**overrides) -> dict:
    data = {
        "name": "Spring sale",
        "channel": "email",
        "sender_profile": "",
        "reactivation_profile": "",
        "subject": "Hello {{ first_name }}",
        "preheader": "",
        "html_body": "<p>Hi {{ first_name }}</p>",
        "text_body": "Hi {{ first_name }}",
        "sms_text": "",
        "inactive_share_percent": "5",
        "scheduled_at_0": "",
        "scheduled_at_1": "",
    }
    return data | overrides


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


def test_changelist_shows_channel_status_recipients_and_inactive_share(staff_client):
    CampaignFactory(
        name="Sent one",
        status=Campaign.Status.SENT,
        recipients_count=1050,
        active_count=1000,
        inactive_count=50,
    )
    CampaignFactory(name="<script>draft</script>")

    response = staff_client.get(reverse("admin:campaigns_campaign_changelist"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Sent one" in page and "5.00 %" in page and "1,050" in page
    assert "&lt;script&gt;draft&lt;/script&gt;" in page and "<script>draft" not in page


def test_changelist_filters_by_status_when_asked(staff_client):
    CampaignFactory(name="Draft one")
    CampaignFactory(name="Sent one", status=Campaign.Status.SENT)

    response = staff_client.get(
        reverse("admin:campaigns_campaign_changelist"), {"status__exact": "sent"}
    )

    assert [c.name for c in response.context["cl"].result_list] == ["Sent one"]


def test_draft_is_created_by_the_user_when_an_email_campaign_is_valid(staff_client):
    profile = SenderProfileFactory()
    target = ContactListFactory()

    response = staff_client.post(
        reverse(ADD_URL),
        campaign_data(sender_profile=profile.pk, target_lists=[target.pk]),
    )

    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign.created_by == staff_client.user
    assert list(campaign.target_lists.all()) == [target]


def test_email_campaign_is_refused_when_it_has_no_sender_subject_or_body(staff_client):
    response = staff_client.post(
        reverse(ADD_URL), campaign_data(subject="", html_body="", text_body="")
    )

    assert response.status_code == 200
    assert {"sender_profile", "subject", "html_body"} <= set(form_errors(response))
    assert not Campaign.objects.exists()


def test_sms_campaign_is_refused_when_it_has_no_text(staff_client):
    response = staff_client.post(reverse(ADD_URL), campaign_data(channel="sms", sms_text=""))

    assert "sms_text" in form_errors(response)
    assert not Campaign.objects.exists()


def test_sms_campaign_is_saved_and_its_size_shown_when_it_has_text(staff_client):
    response = staff_client.post(
        reverse(ADD_URL),
        campaign_data(channel="sms", subject="", html_body="", text_body="", sms_text="a" * 161),
    )

    assert response.status_code == 302
    campaign = Campaign.objects.get()
    page = staff_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    assert "161 characters, 2 SMS (GSM-7)" in page.content.decode()


def test_template_error_is_shown_on_its_field_when_the_campaign_is_saved(staff_client):
    profile = SenderProfileFactory()

    response = staff_client.post(
        reverse(ADD_URL),
        campaign_data(
            sender_profile=profile.pk,
            html_body="<p>{% if %}</p>",
            subject='{% include "admin/base.html" %}',
        ),
    )

    errors = form_errors(response)
    assert set(errors) == {"html_body", "subject"}
    assert "Template error" in errors["html_body"][0]
    assert not Campaign.objects.exists()


def test_reactivation_profile_is_refused_when_its_purpose_is_main(staff_client):
    main = SenderProfileFactory(purpose=SenderProfile.Purpose.MAIN)

    response = staff_client.post(
        reverse(ADD_URL), campaign_data(sender_profile=main.pk, reactivation_profile=main.pk)
    )

    assert "reactivation_profile" in form_errors(response)
    assert not Campaign.objects.exists()


def test_reactivation_profile_is_kept_when_its_purpose_is_reactivation(staff_client):
    main = SenderProfileFactory()
    second = SenderProfileFactory(purpose=SenderProfile.Purpose.REACTIVATION)

    response = staff_client.post(
        reverse(ADD_URL), campaign_data(sender_profile=main.pk, reactivation_profile=second.pk)
    )

    assert response.status_code == 302
    assert Campaign.objects.get().reactivation_profile == second


def test_campaign_is_read_only_when_it_is_no_longer_a_draft(staff_client):
    campaign = CampaignFactory(name="Gone", status=Campaign.Status.SENDING)
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])

    page = staff_client.get(url)
    post = staff_client.post(url, campaign_data(name="Renamed"))

    assert page.status_code == 200
    assert page.context["adminform"].form.fields == {}  # everything shown read-only
    assert post.status_code == 403
    campaign.refresh_from_db()
    assert campaign.name == "Gone"


def test_draft_offers_preview_and_audience_links_when_opened(staff_client):
    campaign = CampaignFactory()

    page = staff_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))

    content = page.content.decode()
    assert reverse("admin:campaigns_campaign_preview", args=[campaign.pk]) in content
    assert reverse("admin:campaigns_campaign_audience", args=[campaign.pk]) in content
