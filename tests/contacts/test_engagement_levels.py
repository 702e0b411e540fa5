"""The engagement job: levels from the days since the last engagement, history and score."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from contacts.models import Contact, EngagementChange, EngagementLevel, EngagementPolicy
from contacts.services import engagement_levels_update
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 14, 9, 30, tzinfo=PARIS)
DAY = timedelta(days=1)
MICROSECOND = timedelta(microseconds=1)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def level_of(contact: Contact) -> str:
    contact.refresh_from_db()
    return contact.engagement_level


def history_of(contact: Contact) -> list[tuple[str, str, int]]:
    return [
        (change.from_level, change.to_level, change.score_delta)
        for change in EngagementChange.objects.filter(contact=contact).order_by("id")
    ]


@pytest.mark.parametrize(
    ("ago", "level"),
    [
        (timedelta(0), EngagementLevel.RECENT),
        (7 * DAY, EngagementLevel.RECENT),
        (7 * DAY + MICROSECOND, EngagementLevel.ENGAGED),
        (21 * DAY, EngagementLevel.ENGAGED),
        (21 * DAY + MICROSECOND, EngagementLevel.DISENGAGED),
        (30 * DAY, EngagementLevel.DISENGAGED),
        (30 * DAY + MICROSECOND, EngagementLevel.INACTIVE),
        (400 * DAY, EngagementLevel.INACTIVE),
    ],
)
def test_level_follows_the_policy_periods_when_last_engagement_is_at_a_boundary(ago, level):
    contact = ContactFactory(last_open_at=NOW - ago)

    engagement_levels_update()

    assert level_of(contact) == level


def test_level_is_never_when_contact_has_no_open_click_or_visit():
    contact = ContactFactory(
        engagement_level=EngagementLevel.INACTIVE,
        last_targeted_at=NOW - DAY,
        last_purchase_at=NOW - DAY,
    )

    engagement_levels_update()

    assert level_of(contact) == EngagementLevel.NEVER


@pytest.mark.parametrize("rollup", ["last_open_at", "last_click_at", "last_visit_at"])
def test_each_kind_of_engagement_counts_when_it_is_the_only_one(rollup):
    contact = ContactFactory(**{rollup: NOW - 10 * DAY})

    engagement_levels_update()

    assert level_of(contact) == EngagementLevel.ENGAGED


@pytest.mark.parametrize("recent", ["last_open_at", "last_click_at", "last_visit_at"])
def test_the_latest_engagement_wins_when_others_are_older_or_missing(recent):
    # The other two rollups: one long ago, one never (NULL must not hide the recent one).
    others = [name for name in ("last_open_at", "last_click_at", "last_visit_at") if name != recent]
    contact = ContactFactory(**{recent: NOW - 2 * DAY, others[0]: NOW - 300 * DAY})

    engagement_levels_update()

    assert level_of(contact) == EngagementLevel.RECENT


def test_purchases_and_sends_do_not_count_when_there_is_no_engagement():
    contact = ContactFactory(
        last_purchase_at=NOW, last_targeted_at=NOW, last_open_at=NOW - 90 * DAY
    )

    engagement_levels_update()

    assert level_of(contact) == EngagementLevel.INACTIVE


def test_first_evaluation_records_the_change_from_never_and_scores_it_when_contact_is_new():
    recent = ContactFactory(last_open_at=NOW - DAY, score=5)
    engaged = ContactFactory(last_click_at=NOW - 10 * DAY)
    disengaged = ContactFactory(last_visit_at=NOW - 25 * DAY)
    inactive = ContactFactory(last_open_at=NOW - 60 * DAY, score=3)
    never = ContactFactory()

    result = engagement_levels_update()

    assert history_of(recent) == [("never", "recent", 10)]
    assert history_of(engaged) == [("never", "engaged", 10)]
    assert history_of(disengaged) == [("never", "disengaged", -5)]
    assert history_of(inactive) == [("never", "inactive", -10)]
    assert history_of(never) == []
    scores = dict(Contact.objects.values_list("pk", "score"))
    assert [scores[c.pk] for c in (recent, engaged, disengaged, inactive, never)] == [
        15,
        10,
        -5,
        -7,
        0,
    ]
    assert result.changed == {
        "recent": 1,
        "engaged": 1,
        "disengaged": 1,
        "inactive": 1,
        "never": 0,
    }
    assert result.examined == 5


def test_history_is_dated_now_when_a_level_changes():
    contact = ContactFactory(last_open_at=NOW - DAY)

    engagement_levels_update()

    assert EngagementChange.objects.get(contact=contact).changed_at == NOW


def test_score_moves_with_each_change_as_contact_drifts_away(frozen_now):
    contact = ContactFactory(last_open_at=NOW - DAY, score=0)

    for days_later in (0, 10, 25, 35):
        frozen_now.move_to(NOW + days_later * DAY)
        engagement_levels_update()

    assert history_of(contact) == [
        ("never", "recent", 10),
        ("recent", "engaged", 0),
        ("engaged", "disengaged", -5),
        ("disengaged", "inactive", -10),
    ]
    contact.refresh_from_db()
    assert (contact.engagement_level, contact.score) == ("inactive", -5)


def test_score_stays_when_contact_moves_back_from_engaged_to_recent():
    contact = ContactFactory(
        engagement_level=EngagementLevel.ENGAGED, score=40, last_click_at=NOW - 3 * DAY
    )

    engagement_levels_update()

    contact.refresh_from_db()
    assert (contact.engagement_level, contact.score) == ("recent", 40)
    assert history_of(contact) == [("engaged", "recent", 0)]


def test_score_rises_when_an_inactive_contact_engages_again():
    contact = ContactFactory(
        engagement_level=EngagementLevel.INACTIVE, score=-10, last_open_at=NOW - 2 * DAY
    )

    engagement_levels_update()

    contact.refresh_from_db()
    assert (contact.engagement_level, contact.score) == ("recent", 0)
    assert history_of(contact) == [("inactive", "recent", 10)]


def test_nothing_changes_when_the_job_runs_twice_at_the_same_time():
    contacts = [
        ContactFactory(last_open_at=NOW - days * DAY, score=1) for days in (1, 10, 25, 60)
    ] + [ContactFactory()]
    engagement_levels_update()
    before = list(Contact.objects.order_by("pk").values_list("engagement_level", "score"))

    result = engagement_levels_update()

    assert result.changed_total == 0
    assert result.examined == len(contacts)
    assert EngagementChange.objects.count() == 4
    assert list(Contact.objects.order_by("pk").values_list("engagement_level", "score")) == before


def test_no_history_when_level_already_matches():
    contact = ContactFactory(
        engagement_level=EngagementLevel.DISENGAGED, score=7, last_open_at=NOW - 22 * DAY
    )

    engagement_levels_update()

    contact.refresh_from_db()
    assert (contact.engagement_level, contact.score) == ("disengaged", 7)
    assert history_of(contact) == []


def test_edited_periods_take_effect_when_policy_changes():
    EngagementPolicy.objects.update_or_create(
        pk=1, defaults={"recent_days": 2, "engaged_days": 5, "disengaged_days": 90}
    )
    engaged = ContactFactory(last_open_at=NOW - 3 * DAY)
    disengaged = ContactFactory(last_open_at=NOW - 60 * DAY)
    inactive = ContactFactory(last_open_at=NOW - 90 * DAY - MICROSECOND)

    engagement_levels_update()

    assert [level_of(c) for c in (engaged, disengaged, inactive)] == [
        "engaged",
        "disengaged",
        "inactive",
    ]


def test_edited_amounts_take_effect_when_policy_changes():
    EngagementPolicy.objects.update_or_create(
        pk=1,
        defaults={
            "score_recent": 3,
            "score_engaged": 2,
            "score_disengaged": -1,
            "score_inactive": -50,
            "score_never": -7,
        },
    )
    contacts = {
        "recent": ContactFactory(last_open_at=NOW - DAY),
        "engaged": ContactFactory(last_open_at=NOW - 10 * DAY),
        "disengaged": ContactFactory(last_open_at=NOW - 25 * DAY),
        "inactive": ContactFactory(last_open_at=NOW - 40 * DAY),
        "never": ContactFactory(engagement_level=EngagementLevel.INACTIVE),
    }

    engagement_levels_update()

    scores = dict(Contact.objects.values_list("pk", "score"))
    assert {level: scores[c.pk] for level, c in contacts.items()} == {
        "recent": 3,
        "engaged": 2,
        "disengaged": -1,
        "inactive": -50,
        "never": -7,
    }


def test_every_contact_is_handled_when_the_base_spans_several_batches():
    contacts = [ContactFactory(last_open_at=NOW - DAY) for _ in range(7)]
    seen = []

    result = engagement_levels_update(batch_size=3, progress=lambda r: seen.append(r.examined))

    assert {level_of(c) for c in contacts} == {"recent"}
    assert result.examined == 7 and result.changed["recent"] == 7
    assert seen == [3, 6, 7]


def test_an_explicit_now_is_used_when_given():
    contact = ContactFactory(last_open_at=NOW - DAY)

    engagement_levels_update(now=NOW + 40 * DAY)

    assert level_of(contact) == EngagementLevel.INACTIVE
    assert EngagementChange.objects.get(contact=contact).changed_at == NOW + 40 * DAY


def test_dry_run_counts_per_level_and_writes_nothing_when_levels_would_change():
    contact = ContactFactory(last_open_at=NOW - DAY, score=4)
    ContactFactory(last_open_at=NOW - 60 * DAY)
    ContactFactory()

    result = engagement_levels_update(dry_run=True)

    assert result.dry_run
    assert result.changed == {
        "recent": 1,
        "engaged": 0,
        "disengaged": 0,
        "inactive": 1,
        "never": 0,
    }
    assert result.examined == 3
    contact.refresh_from_db()
    assert (contact.engagement_level, contact.score) == ("never", 4)
    assert not EngagementChange.objects.exists()


def test_nothing_to_do_when_the_base_is_empty():
    result = engagement_levels_update()

    assert (result.examined, result.changed_total) == (0, 0)


def test_batch_size_below_one_is_refused():
    with pytest.raises(ValueError, match="batch_size"):
        engagement_levels_update(batch_size=0)
