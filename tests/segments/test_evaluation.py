"""`segment_evaluate` over time: entries, exits, stays, the record of each run, the signal."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from contacts.models import Contact
from segments.models import Segment, SegmentEvaluation, SegmentMembership
from segments.services import segment_evaluate, segment_evaluation_dry_run
from segments.signals import segment_entered
from tests.factories import ContactFactory, SegmentFactory, SegmentMembershipFactory, TagFactory

pytestmark = pytest.mark.django_db

T1 = datetime(2025, 3, 3, 8, 0, tzinfo=ZoneInfo("UTC"))
T2 = T1 + timedelta(hours=12)
T3 = T2 + timedelta(hours=12)
HIGH_SCORE = {"match": "all", "conditions": [{"field": "score", "operator": "gte", "value": 10}]}


def evaluate(segment: Segment, at: datetime):
    with time_machine.travel(at, tick=False):
        return segment_evaluate(segment_id=segment.pk)


def members(segment: Segment) -> set[str]:
    return set(
        segment.memberships.filter(exited_at__isnull=True).values_list("contact__email", flat=True)
    )


def set_score(contact: Contact, score: int) -> None:
    Contact.objects.filter(pk=contact.pk).update(score=score)


@pytest.fixture
def segment():
    return SegmentFactory(
        slug="high", rule=HIGH_SCORE, is_active=True, evaluation_interval_hours=12
    )


@pytest.fixture
def received():
    """What `segment_entered` announced: (segment slug, entered_at, count, emails) per send."""
    sent = []

    def receiver(sender, *, segment, entered_at, count, **kwargs):
        emails = set(
            segment.memberships.filter(entered_at=entered_at).values_list(
                "contact__email", flat=True
            )
        )
        sent.append((segment.slug, entered_at, count, emails))

    segment_entered.connect(receiver, weak=False)
    yield sent
    segment_entered.disconnect(receiver)


def test_first_evaluation_enters_every_match_when_membership_is_empty(segment):
    ContactFactory(email="a@example.com", score=10)
    ContactFactory(email="b@example.com", score=50)
    ContactFactory(email="low@example.com", score=9)

    result = evaluate(segment, T1)

    assert (result.entered, result.exited, result.members, result.failed) == (2, 0, 2, False)
    assert members(segment) == {"a@example.com", "b@example.com"}
    assert set(segment.memberships.values_list("entered_at", flat=True)) == {T1}
    segment.refresh_from_db()
    assert segment.member_count == 2
    assert segment.last_evaluated_at == T1
    assert segment.last_evaluation_duration is not None
    assert segment.next_evaluation_at == T1 + timedelta(hours=12)
    assert segment.evaluation_started_at is None


def test_reevaluation_counts_who_entered_and_left_when_contacts_changed(segment):
    stays = ContactFactory(email="stays@example.com", score=10)
    leaves = ContactFactory(email="leaves@example.com", score=10)
    joins = ContactFactory(email="joins@example.com", score=0)
    evaluate(segment, T1)
    set_score(leaves, 0)
    set_score(joins, 20)

    result = evaluate(segment, T2)

    assert (result.entered, result.exited, result.members) == (1, 1, 2)
    assert members(segment) == {"stays@example.com", "joins@example.com"}
    assert SegmentMembership.objects.get(contact=leaves).exited_at == T2
    stay = SegmentMembership.objects.get(contact=stays)
    assert (stay.entered_at, stay.exited_at) == (T1, None)
    assert SegmentMembership.objects.get(contact=joins).entered_at == T2
    segment.refresh_from_db()
    assert (segment.member_count, segment.last_evaluated_at) == (2, T2)
    assert segment.next_evaluation_at == T2 + timedelta(hours=12)


def test_reentry_opens_a_new_stay_and_keeps_the_old_one_when_contact_comes_back(segment):
    contact = ContactFactory(email="back@example.com", score=10)
    evaluate(segment, T1)
    set_score(contact, 0)
    evaluate(segment, T2)
    set_score(contact, 10)

    result = evaluate(segment, T3)

    assert (result.entered, result.exited, result.members) == (1, 0, 1)
    stays = list(
        SegmentMembership.objects.filter(contact=contact)
        .order_by("entered_at")
        .values_list("entered_at", "exited_at")
    )
    assert stays == [(T1, T2), (T3, None)]


def test_nothing_changes_when_evaluated_again_with_the_same_contacts(segment):
    ContactFactory(score=10)
    evaluate(segment, T1)

    result = evaluate(segment, T2)

    assert (result.entered, result.exited, result.members) == (0, 0, 1)
    assert SegmentMembership.objects.count() == 1


def test_each_run_is_recorded_when_evaluated_several_times(segment):
    contact = ContactFactory(score=10)
    evaluate(segment, T1)
    set_score(contact, 0)
    evaluate(segment, T2)
    evaluate(segment, T3)

    runs = list(
        SegmentEvaluation.objects.filter(segment=segment)
        .order_by("started_at")
        .values_list("started_at", "status", "entered", "exited", "members", "error")
    )
    assert runs == [
        (T1, "done", 1, 0, 1, ""),
        (T2, "done", 0, 1, 0, ""),
        (T3, "done", 0, 0, 0, ""),
    ]


def test_signal_announces_the_entered_contacts_once_when_some_entered(segment, received):
    ContactFactory(email="old@example.com", score=10)
    evaluate(segment, T1)
    ContactFactory(email="new1@example.com", score=10)
    ContactFactory(email="new2@example.com", score=10)

    evaluate(segment, T2)

    assert received == [
        ("high", T1, 1, {"old@example.com"}),
        ("high", T2, 2, {"new1@example.com", "new2@example.com"}),
    ]


def test_signal_is_not_sent_when_nobody_entered(segment, received):
    contact = ContactFactory(score=10)
    evaluate(segment, T1)
    set_score(contact, 0)

    evaluate(segment, T2)  # one exit, no entry
    evaluate(segment, T3)  # nothing at all

    assert [sent[1] for sent in received] == [T1]


def test_receiver_error_rolls_the_evaluation_back_and_is_recorded_when_it_raises(segment):
    stays = ContactFactory(email="stays@example.com", score=10)
    leaves = ContactFactory(email="leaves@example.com", score=10)
    evaluate(segment, T1)
    set_score(leaves, 0)
    ContactFactory(email="joins@example.com", score=10)
    assert stays.pk

    def broken(sender, **kwargs):
        raise RuntimeError("scenario engine down")

    segment_entered.connect(broken, weak=False)
    try:
        with pytest.raises(RuntimeError, match="scenario engine down"):
            evaluate(segment, T2)
    finally:
        segment_entered.disconnect(broken)

    # membership as it was after T1: nobody left, nobody entered
    assert members(segment) == {"stays@example.com", "leaves@example.com"}
    assert SegmentMembership.objects.filter(exited_at__isnull=False).count() == 0
    failed = SegmentEvaluation.objects.get(segment=segment, started_at=T2)
    assert failed.status == SegmentEvaluation.Status.FAILED
    assert "scenario engine down" in failed.error
    segment.refresh_from_db()
    assert (segment.member_count, segment.last_evaluated_at) == (2, T1)
    assert segment.evaluation_started_at is None


def test_broken_stored_rule_fails_and_changes_nothing_when_its_tag_was_deleted(segment):
    tag = TagFactory(name="vip")
    ContactFactory(email="tagged@example.com").tags.add(tag)
    segment.rule = {
        "match": "all",
        "conditions": [{"field": "tag", "operator": "is", "value": [tag.pk]}],
    }
    segment.save()
    evaluate(segment, T1)
    tag_id = tag.pk
    tag.delete()

    result = evaluate(segment, T2)

    assert result.failed
    assert f"#{tag_id} does not exist" in result.error
    assert members(segment) == {"tagged@example.com"}
    failed = SegmentEvaluation.objects.get(segment=segment, started_at=T2)
    assert (failed.status, failed.members) == (SegmentEvaluation.Status.FAILED, 1)
    segment.refresh_from_db()
    assert (segment.member_count, segment.last_evaluated_at) == (1, T1)
    assert segment.evaluation_started_at is None
    # tried again on the next interval, not in a loop
    assert segment.next_evaluation_at == T2 + timedelta(hours=12)


def test_rule_on_another_segment_reads_its_current_members_when_evaluated(segment):
    ContactFactory(email="high@example.com", score=10)
    ContactFactory(email="low@example.com", score=0)
    evaluate(segment, T1)
    outside = SegmentFactory(
        slug="outside",
        rule={
            "match": "all",
            "conditions": [{"field": "segment", "operator": "is_not", "value": [segment.pk]}],
        },
    )

    result = evaluate(outside, T1)

    assert result.members == 1
    assert members(outside) == {"low@example.com"}


def test_attribute_contains_rule_is_written_when_the_value_has_percent_signs(segment):
    ContactFactory(email="fifty@example.com", attributes={"offer": "50% OFF"})
    ContactFactory(email="other@example.com", attributes={"offer": "5000"})
    segment.rule = {
        "match": "all",
        "conditions": [
            {"field": "attribute", "operator": "contains", "key": "offer", "value": "0% off"}
        ],
    }
    segment.save()

    result = evaluate(segment, T1)

    assert (result.entered, result.members) == (1, 1)
    assert members(segment) == {"fifty@example.com"}


def test_empty_any_rule_empties_the_segment_when_evaluated(segment):
    ContactFactory(score=10)
    evaluate(segment, T1)
    segment.rule = {"match": "any", "conditions": []}
    segment.save()

    result = evaluate(segment, T2)

    assert (result.entered, result.exited, result.members, result.failed) == (0, 1, 0, False)


def test_dry_run_counts_the_change_without_writing_when_contacts_changed(segment):
    stays = ContactFactory(score=10)
    leaves = ContactFactory(score=10)
    evaluate(segment, T1)
    set_score(leaves, 0)
    ContactFactory(score=10)
    ContactFactory(score=10)

    with time_machine.travel(T2, tick=False):
        change = segment_evaluation_dry_run(segment=segment)

    assert (change.entered, change.exited, change.members) == (2, 1, 3)
    assert SegmentMembership.objects.count() == 2
    assert SegmentEvaluation.objects.filter(segment=segment).count() == 1
    assert stays.pk


def test_inactive_segment_is_not_rescheduled_when_evaluated_by_hand():
    segment = SegmentFactory(rule=HIGH_SCORE, is_active=False)
    ContactFactory(score=10)

    result = evaluate(segment, T1)

    assert result.members == 1
    segment.refresh_from_db()
    assert (segment.last_evaluated_at, segment.next_evaluation_at) == (T1, None)


def test_members_left_open_elsewhere_are_untouched_when_another_segment_is_evaluated(segment):
    other = SegmentFactory(slug="other")
    contact = ContactFactory(score=0)
    SegmentMembershipFactory(segment=other, contact=contact, entered_at=T1)

    evaluate(segment, T2)

    assert SegmentMembership.objects.get(segment=other).exited_at is None
