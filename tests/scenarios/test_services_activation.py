"""The activation check, activation, pause and resume, and removing a block."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns.models import Campaign
from scenarios.models import Block, Enrollment, Scenario
from scenarios.services import (
    block_remove,
    scenario_activate,
    scenario_check,
    scenario_pause,
    scenario_resume,
)
from segments.models import Segment
from tests.factories import ContactFactory, SegmentFactory, SegmentMembershipFactory
from tests.scenarios.factories_admin import (
    GOOD_RULE,
    end,
    entry,
    reactivation_profile,
    scenario_campaign,
    scenario_from,
    scenario_with,
    wait,
)

pytestmark = pytest.mark.django_db


def _problems_mention(problems: list[str], *words: str) -> bool:
    return any(all(word in problem for word in words) for problem in problems)


def test_minimal_graph_passes_the_check():
    assert scenario_check(scenario_with([entry(), wait(), end()])) == []


def test_check_fails_when_a_branch_leads_nowhere():
    problems = scenario_check(scenario_with([entry(), wait(next_key="")]))

    assert _problems_mention(problems, "wait", "leads nowhere")


def test_check_fails_when_no_path_reaches_an_end():
    scenario = scenario_with([entry(), wait("wait", "wait-2"), wait("wait-2", "wait")])

    problems = scenario_check(scenario)

    assert _problems_mention(problems, "wait-2", "reaches an end")


def test_check_fails_on_a_cycle_without_a_wait():
    scenario = scenario_with(
        [
            entry("score"),
            {"key": "score", "kind": "score", "config": {"delta": 1}, "next": {"next": "cond"}},
            {
                "key": "cond",
                "kind": "condition",
                "config": {"rule": GOOD_RULE},
                "next": {"yes": "end", "no": "score"},
            },
            end(),
        ]
    )

    problems = scenario_check(scenario)

    assert _problems_mention(problems, "loop without a wait", "score", "cond")


def test_a_cycle_through_a_wait_is_allowed():
    scenario = scenario_with(
        [
            entry("wait"),
            wait("wait", "cond"),
            {
                "key": "cond",
                "kind": "condition",
                "config": {"rule": GOOD_RULE},
                "next": {"yes": "end", "no": "wait"},
            },
            end(),
        ]
    )

    assert scenario_check(scenario) == []


def test_a_cycle_through_a_wait_until_is_refused():
    # Inside its window a "wait until" lets contacts straight through: it cannot break a loop.
    scenario = scenario_with(
        [
            entry("hours"),
            {"key": "hours", "kind": "wait_until", "config": {}, "next": {"next": "cond"}},
            {
                "key": "cond",
                "kind": "condition",
                "config": {"rule": GOOD_RULE},
                "next": {"yes": "end", "no": "hours"},
            },
            end(),
        ]
    )

    assert _problems_mention(scenario_check(scenario), "loop without a wait", "hours", "cond")


def test_a_wait_for_click_must_refer_to_a_send_block():
    scenario = scenario_with(
        [
            entry("click"),
            {
                "key": "click",
                "kind": "wait_for_click",
                "config": {"block": "entry", "timeout_days": 3},
                "next": {"clicked": "end", "timeout": "end"},
            },
            end(),
        ]
    )

    assert _problems_mention(scenario_check(scenario), "click", "not a send block")


def test_check_fails_without_an_entry_or_with_two():
    assert _problems_mention(scenario_check(scenario_with([wait(), end()])), "no entry block")
    two = scenario_with([entry(), {**entry(), "key": "entry-2"}, wait(), end()])
    assert _problems_mention(scenario_check(two), "2 entry blocks")


def test_check_fails_when_a_send_block_has_no_campaign():
    scenario = scenario_with(
        [entry("send"), {"key": "send", "kind": "send_email", "next": {"next": "end"}}, end()]
    )

    assert _problems_mention(scenario_check(scenario), "send", "no campaign")


def test_check_fails_when_the_campaign_is_not_ready_or_of_the_wrong_channel():
    not_ready = scenario_campaign(subject="")
    sms = scenario_campaign(channel=Campaign.Channel.SMS, sms_text="Coucou")
    scenario = scenario_with(
        [
            entry("send"),
            {"key": "send", "kind": "send_email", "next": {"next": "sms"}, "campaign": not_ready},
            {"key": "sms", "kind": "send_email", "next": {"next": "end"}, "campaign": sms},
            end(),
        ]
    )

    problems = scenario_check(scenario)

    assert _problems_mention(problems, "send", "not ready", "subject")
    assert _problems_mention(problems, "sms", "not an email campaign")
    # A scenario campaign has no target lists, and that is not a problem.
    assert not _problems_mention(problems, "target list")


def test_check_fails_when_the_entry_segment_was_deleted():
    segment = SegmentFactory()
    scenario = scenario_with([entry(segment=segment), wait(), end()])
    segment.delete()

    assert _problems_mention(scenario_check(scenario), "entry", "segment that does not exist")


def test_check_fails_on_invalid_settings_and_unknown_kinds():
    scenario = scenario_with(
        [
            entry(),
            {"key": "wait", "kind": "wait", "config": {"days": "soon"}, "next": {"next": "x"}},
            {"key": "x", "kind": "teleport", "next": {"next": "end"}},
            end(),
        ]
    )

    problems = scenario_check(scenario)

    assert _problems_mention(problems, "wait")
    assert _problems_mention(problems, "teleport", "unknown kind")


def test_activation_refused_changes_nothing():
    scenario = scenario_with([entry(), wait(next_key="")])

    with pytest.raises(ValidationError) as error:
        scenario_activate(scenario=scenario)

    assert any("leads nowhere" in message for message in error.value.messages)
    scenario.refresh_from_db()
    assert scenario.status == Scenario.Status.DRAFT
    assert scenario.activated_at is None


def test_activation_starts_the_scenario_and_its_campaigns():
    reactivation_profile()
    scenario = scenario_from("inactivity")
    scenario.only_new_entries = True
    scenario.save()
    now = timezone.now()

    scenario_activate(scenario=scenario, now=now)

    scenario.refresh_from_db()
    assert scenario.status == Scenario.Status.ACTIVE
    assert scenario.activated_at == now
    campaigns = Campaign.objects.filter(kind=Campaign.Kind.SCENARIO)
    assert campaigns.count() == 2
    assert set(campaigns.values_list("status", flat=True)) == {Campaign.Status.SENDING}
    assert all(c.started_at == now for c in campaigns)
    assert not Enrollment.objects.exists()
    with pytest.raises(ValidationError):
        scenario_activate(scenario=scenario)


def test_pause_and_resume_move_the_campaigns_too():
    reactivation_profile()
    scenario = scenario_from("we-miss-you", name="Adieu")
    Scenario.objects.filter(pk=scenario.pk).update(only_new_entries=True)
    scenario.refresh_from_db()
    scenario_activate(scenario=scenario)
    campaign = scenario.blocks.get(key="email").campaign

    scenario_pause(scenario=scenario)
    campaign.refresh_from_db()
    assert (scenario.status, campaign.status) == ("paused", Campaign.Status.PAUSED)
    with pytest.raises(ValidationError):
        scenario_pause(scenario=scenario)

    scenario_resume(scenario=scenario)
    campaign.refresh_from_db()
    assert (scenario.status, campaign.status) == ("active", Campaign.Status.SENDING)


def test_removing_a_block_exits_the_enrollments_waiting_there():
    scenario = scenario_with([entry(), wait(), end()], status=Scenario.Status.PAUSED)
    block = scenario.blocks.get(key="wait")
    waiting = Enrollment.objects.create(
        scenario=scenario, contact=ContactFactory(), block=block, state="waiting", steps=2
    )
    done = Enrollment.objects.create(
        scenario=scenario, contact=ContactFactory(), block=block, state="completed"
    )

    assert block_remove(block=block) == 1

    waiting.refresh_from_db()
    done.refresh_from_db()
    assert (waiting.state, waiting.outcome, waiting.steps) == ("exited", "block removed", 3)
    assert waiting.finished_at is not None
    assert waiting.log.get(step=3).result == "block removed"
    assert done.state == "completed"
    assert not Block.objects.filter(pk=block.pk).exists()


def test_removing_a_block_of_an_active_scenario_is_refused():
    scenario = scenario_with([entry(), wait(), end()], status=Scenario.Status.ACTIVE)

    with pytest.raises(ValidationError):
        block_remove(block=scenario.blocks.get(key="wait"))

    assert scenario.blocks.filter(key="wait").exists()


def test_activation_enrols_the_contacts_already_in_the_trigger_segment_in_a_worker(
    django_capture_on_commit_callbacks,
):
    reactivation_profile()
    scenario = scenario_from("we-miss-you")
    member = SegmentMembershipFactory(segment=Segment.objects.get(slug="inactive"))

    with django_capture_on_commit_callbacks() as callbacks:
        scenario_activate(scenario=scenario)
    # Nothing is enrolled inside the request; the task is queued for when it commits.
    assert not scenario.enrollments.exists()
    assert len(callbacks) == 1
    callbacks[0]()  # the worker runs it (tests run django-q2 tasks inline)
    callbacks[0]()  # a retried task enrols nobody twice

    scenario.refresh_from_db()
    assert list(scenario.enrollments.values_list("contact_id", flat=True)) == [member.contact_id]
    assert scenario.existing_enrolled == 1
    assert scenario.existing_enrolled_at is not None


def test_the_enrolment_task_leaves_a_scenario_paused_meanwhile_alone(
    django_capture_on_commit_callbacks,
):
    reactivation_profile()
    scenario = scenario_from("we-miss-you")
    SegmentMembershipFactory(segment=Segment.objects.get(slug="inactive"))

    with django_capture_on_commit_callbacks() as callbacks:
        scenario_activate(scenario=scenario)
    scenario_pause(scenario=scenario)
    callbacks[0]()

    scenario.refresh_from_db()
    assert not scenario.enrollments.exists()
    assert scenario.existing_enrolled_at is None


def test_resuming_enrols_who_entered_the_segment_while_paused(django_capture_on_commit_callbacks):
    reactivation_profile()
    scenario = scenario_from("we-miss-you")
    Scenario.objects.filter(pk=scenario.pk).update(only_new_entries=True)
    scenario.refresh_from_db()
    inactive = Segment.objects.get(slug="inactive")
    SegmentMembershipFactory(segment=inactive, entered_at=timezone.now() - timedelta(days=3))
    scenario_activate(scenario=scenario)
    scenario_pause(scenario=scenario)
    during = SegmentMembershipFactory(segment=inactive, entered_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        scenario_resume(scenario=scenario)

    # The one already there at activation stays out ("only new entries").
    assert list(scenario.enrollments.values_list("contact_id", flat=True)) == [during.contact_id]
