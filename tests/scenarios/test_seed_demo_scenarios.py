"""The demo scenario `make run` starts with."""

import pytest
from django.core.management import call_command

from scenarios.models import Scenario
from segments.models import Segment
from tests.factories import SegmentMembershipFactory

pytestmark = pytest.mark.django_db


def test_demo_scenario_is_activated_once_and_enrols_the_inactive(
    django_capture_on_commit_callbacks,
):
    call_command("seed_demo_campaigns")
    member = SegmentMembershipFactory(segment=Segment.objects.get(slug="inactive"))

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo_scenarios")
        call_command("seed_demo_scenarios")

    (scenario,) = Scenario.objects.all()
    assert scenario.status == Scenario.Status.ACTIVE
    assert list(scenario.enrollments.values_list("contact_id", flat=True)) == [member.contact_id]


def test_without_sender_profiles_the_demo_scenario_stays_a_draft(capsys):
    call_command("seed_demo_scenarios")

    (scenario,) = Scenario.objects.all()
    assert scenario.status == Scenario.Status.DRAFT
    assert "left as a draft" in capsys.readouterr().out
