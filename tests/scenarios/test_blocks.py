"""Each block kind, run by the engine on small scenarios built directly, time moved over waits."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from campaigns.models import Campaign, Message
from campaigns.scenario_sends import scenario_messages_create
from contacts.models import Activity, ActivityKind, Contact, EmailStatus, SmsStatus, Tag
from scenarios.engine import scenarios_tick
from scenarios.models import Enrollment, EnrollmentStep, GenericChannelEntry
from tests.factories import ContactFactory, TagFactory
from tests.scenarios.factories import ScenarioCampaignFactory, enroll, scenario_build

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
# A Monday, 08:00 UTC (09:00 in Paris).
T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
END = {"key": "end", "kind": "end", "config": {"outcome": "let go"}}


def tick(at: datetime):
    with time_machine.travel(at, tick=False):
        return scenarios_tick()


def fresh(enrollment: Enrollment) -> Enrollment:
    return Enrollment.objects.get(pk=enrollment.pk)


def path(enrollment: Enrollment) -> list[tuple[str, str]]:
    return list(
        EnrollmentStep.objects.filter(enrollment=enrollment)
        .order_by("step")
        .values_list("block__key", "result")
    )


def test_entry_then_end_completes_with_outcome():
    scenario = scenario_build(
        [
            {"key": "entry", "kind": "entry", "config": {"segment": 1}, "next": {"next": "end"}},
            END,
        ]
    )
    (enrollment,) = enroll(scenario, [ContactFactory()], at=T0)

    result = tick(T0)

    enrollment = fresh(enrollment)
    assert (enrollment.state, enrollment.outcome, enrollment.finished_at) == (
        "completed",
        "let go",
        T0,
    )
    assert path(enrollment) == [("entry", "next"), ("end", "let go")]
    assert (result.advanced, result.completed, result.waiting) == (2, 1, 0)


def test_split_sends_each_enrollment_down_one_branch_by_weight_and_records_it():
    scenario = scenario_build(
        [
            {
                "key": "split",
                "kind": "split",
                "config": {"weights": {"a": 50, "b": 50}, "control_percent": 20},
                "next": {"a": "end-a", "b": "end-b", "control": "end-c"},
            },
            {"key": "end-a", "kind": "end", "config": {"outcome": "a"}},
            {"key": "end-b", "kind": "end", "config": {"outcome": "b"}},
            {"key": "end-c", "kind": "end", "config": {"outcome": "c"}},
        ]
    )
    enrollments = enroll(scenario, ContactFactory.create_batch(300), at=T0)

    tick(T0)

    rows = list(Enrollment.objects.filter(scenario=scenario).values_list("branch", "outcome"))
    counts = {branch: sum(1 for b, _ in rows if b == branch) for branch in ("a", "b", "control")}
    assert all(outcome == {"control": "c"}.get(branch, branch) for branch, outcome in rows)
    assert 30 <= counts["control"] <= 90
    assert 80 <= counts["a"] <= 160 and 80 <= counts["b"] <= 160
    # The draw depends on the enrollment and the block only: drawn again, the same branch.
    from scenarios.blocks.split import enrollment_bucket, split_branch

    first = enrollments[0]
    bucket = enrollment_bucket(enrollment_id=first.pk, block_id=scenario.blocks.get(key="split").pk)
    again = split_branch(weights={"a": 50, "b": 50}, control_percent=20, bucket=bucket)
    assert fresh(first).branch == again


def test_two_splits_in_a_row_draw_independently():
    scenario = scenario_build(
        [
            {
                "key": "first",
                "kind": "split",
                "config": {"weights": {"a": 50, "b": 50}},
                "next": {"a": "second", "b": "end"},
            },
            {
                "key": "second",
                "kind": "split",
                "config": {"weights": {"x": 50, "y": 50}},
                "next": {"x": "end", "y": "end"},
            },
            {"key": "end", "kind": "end", "config": {"outcome": "done"}},
        ]
    )
    enroll(scenario, ContactFactory.create_batch(200), at=T0)

    tick(T0)

    second = list(Enrollment.objects.filter(branch__in=["x", "y"]).values_list("branch", flat=True))
    # About half of branch "a" goes each way at the second split (not all down "x").
    assert 60 <= len(second) <= 140
    assert 0.3 <= second.count("x") / len(second) <= 0.7


def test_send_email_creates_one_pending_message_per_enrollment_through_the_campaign_profile():
    campaign = ScenarioCampaignFactory(channel=Campaign.Channel.EMAIL)
    scenario = scenario_build(
        [
            {"key": "mail", "kind": "send_email", "campaign": campaign, "next": {"next": "end"}},
            END,
        ]
    )
    first, second = enroll(scenario, ContactFactory.create_batch(2), at=T0)

    tick(T0)

    mail_block = scenario.blocks.get(key="mail")
    messages = Message.objects.filter(campaign=campaign)
    assert sorted(messages.values_list("origin", flat=True)) == sorted(
        [f"{first.pk}:{mail_block.pk}", f"{second.pk}:{mail_block.pk}"]
    )
    assert all(m.is_inactive and m.status == Message.Status.PENDING for m in messages)
    assert {m.sender_profile_id for m in messages} == {campaign.sender_profile_id}
    details = list(EnrollmentStep.objects.filter(block=mail_block).values_list("detail", flat=True))
    assert details == [{"message": "created"}] * 2


def test_scenario_messages_create_skips_contacts_suppressed_on_email():
    campaign = ScenarioCampaignFactory(channel=Campaign.Channel.EMAIL)
    subscribed = ContactFactory()
    bounced = ContactFactory(email_status=EmailStatus.BOUNCED)
    rows = [(subscribed.pk, "1:1"), (bounced.pk, "2:1")]

    created = scenario_messages_create(campaign=campaign, rows=rows, now=T0)
    again = scenario_messages_create(campaign=campaign, rows=rows, now=T0)

    assert (created, again) == (1, 0)
    assert list(Message.objects.values_list("contact", flat=True)) == [subscribed.pk]


def test_send_block_logs_suppressed_when_the_contact_cannot_receive_it():
    campaign = ScenarioCampaignFactory(channel=Campaign.Channel.SMS)
    scenario = scenario_build(
        [
            {"key": "sms", "kind": "send_sms", "campaign": campaign, "next": {"next": "end"}},
            END,
        ]
    )
    (enrollment,) = enroll(scenario, [ContactFactory(phone="")], at=T0)

    tick(T0)

    assert not Message.objects.exists()
    assert fresh(enrollment).log.get(block__key="sms").detail == {"message": "suppressed"}


def test_send_sms_skips_contacts_without_phone_or_consent():
    campaign = ScenarioCampaignFactory(channel=Campaign.Channel.SMS)
    scenario = scenario_build(
        [
            {"key": "sms", "kind": "send_sms", "campaign": campaign, "next": {"next": "end"}},
            END,
        ]
    )
    reachable = ContactFactory(phone="+33612345678", sms_status=SmsStatus.SUBSCRIBED)
    no_phone = ContactFactory(phone="", sms_status=SmsStatus.SUBSCRIBED)
    no_consent = ContactFactory(phone="+33612345679", sms_status=SmsStatus.NO_CONSENT)
    enroll(scenario, [reachable, no_phone, no_consent], at=T0)

    tick(T0)

    assert list(Message.objects.filter(campaign=campaign).values_list("contact", flat=True)) == [
        reachable.pk
    ]
    assert Enrollment.objects.filter(scenario=scenario, state="completed").count() == 3


def test_wait_holds_for_its_duration_then_goes_on():
    scenario = scenario_build(
        [
            {"key": "wait", "kind": "wait", "config": {"days": 7}, "next": {"next": "end"}},
            END,
        ]
    )
    (enrollment,) = enroll(scenario, [ContactFactory()], at=T0)

    first = tick(T0)
    held = fresh(enrollment)
    tick(T0 + timedelta(days=6, hours=23))
    still = fresh(enrollment)
    tick(T0 + timedelta(days=7))

    assert first.waiting == 1
    assert (held.state, held.wake_at, held.waiting_since) == ("waiting", T0 + timedelta(days=7), T0)
    assert still.state == "waiting"
    assert fresh(enrollment).state == "completed"
    assert path(enrollment) == [("wait", "next"), ("end", "let go")]


@pytest.mark.parametrize(
    ("zone", "now", "expected_wake"),
    [
        # 09:00 in Paris on a Monday: held until 10:00 Paris = 09:00 UTC.
        ("Europe/Paris", T0, datetime(2025, 3, 3, 9, 0, tzinfo=UTC)),
        # 03:00 in New York: held until 10:00 New York = 15:00 UTC.
        ("America/New_York", T0, datetime(2025, 3, 3, 15, 0, tzinfo=UTC)),
        # Saturday: held until Monday 10:00 Paris.
        ("Europe/Paris", T0 + timedelta(days=5), datetime(2025, 3, 10, 9, 0, tzinfo=UTC)),
        # Invalid zone: the site's (settings.TIME_ZONE, tested below as UTC or Paris).
    ],
)
def test_wait_until_holds_until_the_window_in_the_contacts_zone(zone, now, expected_wake):
    scenario = scenario_build(
        [
            {
                "key": "hour",
                "kind": "wait_until",
                "config": {"start": "10:00", "end": "12:00", "weekdays": [0, 1, 2, 3, 4]},
                "next": {"next": "end"},
            },
            END,
        ]
    )
    (enrollment,) = enroll(scenario, [ContactFactory(attributes={"time_zone": zone})], at=now)

    tick(now)
    held = fresh(enrollment)
    tick(expected_wake)

    assert (held.state, held.wake_at) == ("waiting", expected_wake)
    assert fresh(enrollment).state == "completed"


def test_wait_until_goes_on_at_once_inside_the_window_and_uses_the_contact_field_first():
    scenario = scenario_build(
        [
            {
                "key": "hour",
                "kind": "wait_until",
                "config": {"start": "08:00", "end": "09:00", "weekdays": [0]},
                "next": {"next": "end"},
            },
            END,
        ]
    )
    # 08:00 UTC on Monday is inside 08:00–09:00 in UTC (the field wins over the attribute).
    (enrollment,) = enroll(
        scenario,
        [ContactFactory(time_zone="UTC", attributes={"time_zone": "Asia/Tokyo"})],
        at=T0,
    )

    tick(T0)

    assert fresh(enrollment).state == "completed"


def test_wait_until_falls_back_to_the_site_zone_for_an_unknown_zone(settings):
    from scenarios.blocks.wait_until import window_next

    settings.TIME_ZONE = "UTC"
    scenario = scenario_build(
        [
            {
                "key": "hour",
                "kind": "wait_until",
                "config": {"start": "10:00", "end": "12:00", "weekdays": [0]},
                "next": {"next": "end"},
            },
            END,
        ]
    )
    (enrollment,) = enroll(scenario, [ContactFactory(attributes={"time_zone": "Mars/Base"})], at=T0)

    tick(T0)

    assert fresh(enrollment).wake_at == datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
    assert (
        window_next(
            now=T0,
            zone=ZoneInfo("UTC"),
            start=T0.time(),
            end=T0.time().replace(hour=9),
            weekdays={0},
        )
        == T0
    )


def _click_scenario():
    campaign = ScenarioCampaignFactory()
    scenario = scenario_build(
        [
            {"key": "mail", "kind": "send_email", "campaign": campaign, "next": {"next": "click"}},
            {
                "key": "click",
                "kind": "wait_for_click",
                "config": {"block": "mail", "timeout_days": 14},
                "next": {"clicked": "won", "timeout": "lost"},
            },
            {"key": "won", "kind": "end", "config": {"outcome": "reactivated"}},
            {"key": "lost", "kind": "end", "config": {"outcome": "let go"}},
        ]
    )
    return scenario, campaign


def test_wait_for_click_in_the_mail_takes_the_clicked_branch_at_the_next_tick():
    scenario, campaign = _click_scenario()
    clicker, idle = enroll(scenario, ContactFactory.create_batch(2), at=T0)

    tick(T0)
    Message.objects.filter(campaign=campaign, contact_id=clicker.contact_id).update(
        clicked_at=T0 + timedelta(days=2)
    )
    result = tick(T0 + timedelta(days=2, minutes=1))

    assert (fresh(clicker).state, fresh(clicker).outcome) == ("completed", "reactivated")
    assert fresh(idle).state == "waiting"
    assert result.completed == 1
    tick(T0 + timedelta(days=14))
    assert fresh(idle).outcome == "let go"
    assert path(idle) == [("mail", "next"), ("click", "timeout"), ("lost", "let go")]


def test_wait_for_click_on_a_link_counts_human_clicks_after_the_wait_began():
    scenario = scenario_build(
        [
            {
                "key": "click",
                "kind": "wait_for_click",
                "config": {"url": "https://shop.example/keep", "timeout_days": 14},
                "next": {"clicked": "won", "timeout": "lost"},
            },
            {"key": "won", "kind": "end", "config": {"outcome": "reactivated"}},
            {"key": "lost", "kind": "end", "config": {"outcome": "let go"}},
        ]
    )
    human, machine, earlier, other_url = ContactFactory.create_batch(4)
    enrollments = enroll(scenario, [human, machine, earlier, other_url], at=T0)
    tick(T0)
    clicks = [
        (human, T0 + timedelta(days=1), False, "https://shop.example/keep"),
        (machine, T0 + timedelta(days=1), True, "https://shop.example/keep"),
        (earlier, T0 - timedelta(days=1), False, "https://shop.example/keep"),
        (other_url, T0 + timedelta(days=1), False, "https://shop.example/other"),
    ]
    for n, (contact, at, is_machine, url) in enumerate(clicks):
        Activity.objects.create(
            contact=contact,
            kind=ActivityKind.CLICK,
            occurred_at=at,
            is_machine=is_machine,
            metadata={"url": url},
            natural_key=f"00000000-0000-0000-0000-00000000000{n}",
        )

    tick(T0 + timedelta(days=1, minutes=1))

    assert [fresh(e).outcome for e in enrollments] == ["reactivated", "", "", ""]


def test_condition_takes_yes_or_no_by_the_rule():
    rule = {"match": "all", "conditions": [{"field": "score", "operator": "gte", "value": 10}]}
    scenario = scenario_build(
        [
            {
                "key": "if",
                "kind": "condition",
                "config": {"rule": rule},
                "next": {"yes": "y", "no": "n"},
            },
            {"key": "y", "kind": "end", "config": {"outcome": "yes"}},
            {"key": "n", "kind": "end", "config": {"outcome": "no"}},
        ]
    )
    high, low = enroll(scenario, [ContactFactory(score=12), ContactFactory(score=3)], at=T0)

    tick(T0)

    assert (fresh(high).outcome, fresh(low).outcome) == ("yes", "no")


def test_generic_channel_adds_the_contact_once():
    scenario = scenario_build(
        [
            {
                "key": "ads",
                "kind": "generic_channel",
                "config": {"channel": "Social ads"},
                "next": {"next": "end"},
            },
            END,
        ]
    )
    contact = ContactFactory()
    (enrollment,) = enroll(scenario, [contact], at=T0)

    tick(T0)

    entry = GenericChannelEntry.objects.get()
    assert (entry.channel, entry.contact, entry.enrollment_id) == (
        "Social ads",
        contact,
        enrollment.pk,
    )


def test_tag_adds_or_removes_a_tag_and_score_changes_by_delta():
    TagFactory(name="old")
    scenario = scenario_build(
        [
            {
                "key": "tag",
                "kind": "tag",
                "config": {"tag": "won back", "action": "add"},
                "next": {"next": "untag"},
            },
            {
                "key": "untag",
                "kind": "tag",
                "config": {"tag": "old", "action": "remove"},
                "next": {"next": "score"},
            },
            {"key": "score", "kind": "score", "config": {"delta": 5}, "next": {"next": "end"}},
            END,
        ]
    )
    contacts = ContactFactory.create_batch(2, score=1)
    for contact in contacts:
        contact.tags.add(Tag.objects.get(name="old"))
    enroll(scenario, contacts, at=T0)

    tick(T0)

    for contact in Contact.objects.filter(pk__in=[c.pk for c in contacts]):
        assert set(contact.tags.values_list("name", flat=True)) == {"won back"}
        assert contact.score == 6


def test_unsubscribe_records_the_activity_and_sets_the_status_once():
    scenario = scenario_build(
        [
            {
                "key": "bye",
                "kind": "unsubscribe",
                "config": {"channel": "email", "reason": "inactivity"},
                "next": {"next": "end"},
            },
            END,
        ]
    )
    contact = ContactFactory()
    (enrollment,) = enroll(scenario, [contact], at=T0)

    tick(T0)

    contact.refresh_from_db()
    assert contact.email_status == EmailStatus.UNSUBSCRIBED
    activity = Activity.objects.get(contact=contact, kind=ActivityKind.UNSUBSCRIBE)
    assert activity.metadata["reason"] == "inactivity"
    # The scenario ends normally (not as an "unsubscribed" exit): the end block ran in the batch.
    assert fresh(enrollment).outcome == "let go"
