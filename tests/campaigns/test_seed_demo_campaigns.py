"""`seed_demo_campaigns`: a ready-to-send demo draft, created once."""

import pytest
from django.core.management import call_command

from campaigns.models import Campaign, SenderProfile
from campaigns.services import campaign_ready_problems
from tests.factories import ContactListFactory

pytestmark = pytest.mark.django_db


def test_demo_draft_is_ready_to_send_and_created_once(capsys):
    ContactListFactory(name="Newsletter")

    call_command("seed_demo_campaigns")
    call_command("seed_demo_campaigns")

    campaign = Campaign.objects.get()
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign_ready_problems(campaign) == []
    assert campaign.reactivation_profile.purpose == SenderProfile.Purpose.REACTIVATION
    assert SenderProfile.objects.count() == 2
