import re
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, F, Q

from contacts.demo import postgres
from contacts.demo.hashing import pg_hashint8extended
from contacts.models import (
    Activity,
    ActivityKind,
    Channel,
    Contact,
    EmailStatus,
    ListMembership,
    SmsStatus,
)
from contacts.services import (
    activity_natural_key,
    contact_rollups_refresh,
    engagement_levels_update,
)
from tests.factories import ActivityFactory, ContactFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
ROLLUPS = ["last_targeted_at", "last_open_at", "last_click_at", "last_purchase_at", "last_visit_at"]
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the SQL path needs PostgreSQL"
)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, list]:
    """Everything the demo stores, but database ids and `updated_at`."""
    contact_fields = [
        f.attname
        for f in Contact._meta.concrete_fields
        if f.attname not in ("id", "updated_at", "lead_source_id")
    ]
    return {
        "contacts": list(
            Contact.objects.order_by("email").values_list(*contact_fields, "lead_source__name")
        ),
        "events": list(
            Activity.objects.order_by(
                "contact__email", "occurred_at", "kind", "campaign"
            ).values_list(
                "contact__email",
                "kind",
                "occurred_at",
                "channel",
                "campaign",
                "amount",
                "is_machine",
                "external_id",
                "metadata",
                "recorded_at",
            )
        ),  # fmt: skip
        "lists": list(
            ListMembership.objects.order_by("contact__email", "contact_list__name").values_list(
                "contact__email", "contact_list__name", "subscribed_at"
            )
        ),
        "tags": list(
            Contact.tags.through.objects.order_by("contact__email", "tag__name").values_list(
                "contact__email", "tag__name"
            )
        ),
    }


def test_same_base_when_seeded_again_with_the_same_seed():
    seed("--contacts", "300", "--seed", "7")
    first = snapshot()

    seed("--contacts", "300", "--seed", "7", "--flush")

    assert snapshot() == first


def test_another_base_when_the_seed_differs():
    seed("--contacts", "300", "--seed", "7")
    first = snapshot()

    seed("--contacts", "300", "--seed", "8", "--flush")

    assert snapshot()["contacts"] != first["contacts"]


def test_same_base_when_seeded_at_another_hour_of_the_same_day(frozen_time):
    seed("--contacts", "200")
    morning = snapshot()

    frozen_time.move_to(NOW.replace(hour=22))
    seed("--contacts", "200", "--flush")

    assert snapshot() == morning


def test_summary_counts_what_was_stored_when_seeded():
    output = seed("--contacts", "300")

    match = re.search(r"seeded (\d+) contacts, (\d+) events in [\d.]+ s", output)
    assert match, output
    assert int(match[1]) == Contact.objects.count() == 300
    assert int(match[2]) == Activity.objects.count()
    # About 30 events per contact, as in a real base.
    assert 20 * 300 < Activity.objects.count() < 40 * 300


def test_rollups_match_the_log_when_seeded():
    seed("--contacts", "300")
    stored = list(Contact.objects.order_by("pk").values_list("pk", *ROLLUPS))

    contact_rollups_refresh(contacts=Contact.objects.all())

    assert list(Contact.objects.order_by("pk").values_list("pk", *ROLLUPS)) == stored
    # Machine opens are in the log but never count as opens.
    machine_only = Contact.objects.filter(
        Q(last_open_at__isnull=True) | Q(last_open_at__lt=F("activities__occurred_at")),
        activities__kind=ActivityKind.OPEN,
        activities__is_machine=True,
    )
    assert machine_only.exists()


def test_engagement_levels_are_those_the_nightly_job_sets_when_seeded():
    seed("--contacts", "300")

    # The seeded history ends at the start of today (UTC): the job, run then, has nothing to do.
    start_of_day = NOW.replace(hour=0, minute=0)
    outcome = engagement_levels_update(now=start_of_day, dry_run=True)

    assert outcome.examined == 300
    assert outcome.changed_total == 0
    never = Contact.objects.filter(
        last_open_at__isnull=True, last_click_at__isnull=True, last_visit_at__isnull=True
    )
    recent = Contact.objects.filter(
        Q(last_open_at__gte=start_of_day - timedelta(days=7))
        | Q(last_click_at__gte=start_of_day - timedelta(days=7))
        | Q(last_visit_at__gte=start_of_day - timedelta(days=7))
    )
    assert set(never.values_list("engagement_level", flat=True)) == {"never"}
    assert set(recent.values_list("engagement_level", flat=True)) == {"recent"}
    assert Contact.objects.filter(engagement_level="inactive").exists()


def test_contest_contacts_engage_far_less_than_shop_contacts_when_seeded():
    seed("--contacts", "600")

    def never_engaged_share(source: str) -> float:
        contacts = Contact.objects.filter(lead_source__name=source)
        never = contacts.filter(last_open_at__isnull=True, last_click_at__isnull=True)
        return never.count() / contacts.count()

    assert never_engaged_share("Jeu concours") > 2 * never_engaged_share("Boutique")
    shares = {source: never_engaged_share(source) for source in ("Site web", "Facebook Ads")}
    assert never_engaged_share("Boutique") < min(shares.values())
    assert max(shares.values()) < never_engaged_share("Jeu concours")


def test_emails_are_unique_and_lower_case_when_seeded():
    seed("--contacts", "500")

    emails = list(Contact.objects.values_list("email", flat=True))
    assert len(set(emails)) == len(emails) == 500
    assert all(email == email.lower() and "@" in email for email in emails)


def test_no_event_before_sign_up_or_in_the_future_when_seeded():
    seed("--contacts", "300")

    assert not Activity.objects.filter(occurred_at__lt=F("contact__created_at")).exists()
    assert not Activity.objects.filter(occurred_at__gte=NOW).exists()
    assert not Contact.objects.filter(created_at__gte=NOW).exists()
    oldest = Contact.objects.order_by("created_at").first().created_at
    assert NOW - oldest > timedelta(days=2 * 365)


def test_history_has_every_kind_of_event_when_seeded():
    seed("--contacts", "300")

    kinds = set(Activity.objects.values_list("kind", "channel", "is_machine").distinct())
    for expected in [
        (ActivityKind.SENT, Channel.EMAIL, False),
        (ActivityKind.DELIVERED, Channel.EMAIL, False),
        (ActivityKind.OPEN, Channel.EMAIL, False),
        (ActivityKind.OPEN, Channel.EMAIL, True),
        (ActivityKind.CLICK, Channel.EMAIL, False),
        (ActivityKind.PURCHASE, Channel.WEB, False),
        (ActivityKind.PURCHASE, Channel.STORE, False),
        (ActivityKind.VISIT, Channel.WEB, False),
        (ActivityKind.SMS_SENT, Channel.SMS, False),
        (ActivityKind.SMS_CLICK, Channel.SMS, False),
    ]:
        assert expected in kinds
    purchases = Activity.objects.filter(kind=ActivityKind.PURCHASE)
    assert not purchases.filter(Q(amount__isnull=True) | Q(amount__lte=0)).exists()
    # Campaigns: about two e-mails a week over the last two years.
    campaigns = Activity.objects.filter(kind=ActivityKind.SENT).values("campaign").distinct()
    assert 190 <= campaigns.count() <= 215
    assert Activity.objects.filter(campaign__startswith="Newsletter 2025-").exists()


def test_statuses_match_the_unsubscribes_bounces_and_complaints_when_seeded():
    seed("--contacts", "1000")

    for status, kind in [
        (EmailStatus.UNSUBSCRIBED, ActivityKind.UNSUBSCRIBE),
        (EmailStatus.BOUNCED, ActivityKind.BOUNCE),
        (EmailStatus.COMPLAINED, ActivityKind.COMPLAINT),
    ]:
        contacts = Contact.objects.filter(email_status=status)
        assert contacts.exists(), status
        for contact in contacts:
            stop = contact.activities.get(kind=kind, channel=Channel.EMAIL)
            assert stop.occurred_at == contact.email_status_changed_at
            # Nothing is sent after an unsubscribe, a hard bounce or a complaint.
            assert not contact.activities.filter(kind="sent", occurred_at__gt=stop.occurred_at)
    stopped = Activity.objects.filter(kind__in=["unsubscribe", "bounce", "complaint"])
    subscribed = Contact.objects.filter(email_status=EmailStatus.SUBSCRIBED)
    assert not stopped.filter(channel=Channel.EMAIL, contact__in=subscribed).exists()
    sms_stops = Activity.objects.filter(kind=ActivityKind.UNSUBSCRIBE, channel=Channel.SMS)
    assert set(sms_stops.values_list("contact_id", flat=True)) == set(
        Contact.objects.filter(sms_status=SmsStatus.UNSUBSCRIBED).values_list("pk", flat=True)
    )


def test_phones_loyalty_lists_and_tags_look_real_when_seeded():
    seed("--contacts", "500")

    phones = [p for p in Contact.objects.values_list("phone", flat=True) if p]
    assert 0.4 * 500 < len(phones) < 0.8 * 500
    assert all(re.fullmatch(r"\+33[67]\d{8}", phone) for phone in phones)
    assert not Contact.objects.filter(phone="", sms_status=SmsStatus.SUBSCRIBED).exists()
    assert Contact.objects.filter(sms_status=SmsStatus.SUBSCRIBED).exists()
    soon = Contact.objects.filter(
        loyalty_points__gt=0,
        loyalty_points_expire_on__gt=NOW.date(),
        loyalty_points_expire_on__lte=NOW.date() + timedelta(days=30),
    )
    assert soon.exists()
    assert not Contact.objects.filter(loyalty_points__gt=0, loyalty_points_expire_on=None)
    lists = dict(ListMembership.objects.values_list("contact_list__name").annotate(n=Count("pk")))
    assert lists["Newsletter"] > 100 and lists["Clients fidèles"] > 0
    assert not ListMembership.objects.filter(subscribed_at__lt=F("contact__created_at"))
    assert Contact.objects.filter(tags__name="acheteur").exists()


def test_refuses_and_changes_nothing_when_the_base_has_contacts():
    existing = ContactFactory(email="real.customer@example.com")

    with pytest.raises(CommandError, match="already has contacts"):
        seed("--contacts", "100")

    assert list(Contact.objects.all()) == [existing]


def test_existing_contacts_and_their_history_go_when_flushed():
    old = ActivityFactory(contact=ContactFactory(email="old@example.com"))

    seed("--contacts", "100", "--flush")

    assert Contact.objects.count() == 100
    assert not Contact.objects.filter(email="old@example.com").exists()
    assert not Activity.objects.filter(natural_key=old.natural_key).exists()


def test_refuses_a_contact_count_below_one():
    with pytest.raises(CommandError, match="at least 1"):
        seed("--contacts", "0")


def test_python_mirror_of_hashint8extended_matches_known_values():
    # Values computed by PostgreSQL 15: SELECT hashint8extended(v, s).
    assert pg_hashint8extended(0, 0) == 4154612158245552303
    assert pg_hashint8extended(123456, 987654321) == 6806368687952608041
    assert pg_hashint8extended(-5, 42) == -8747513389509221398
    assert pg_hashint8extended(5000000000, 7) == -7347393645835168615


@on_postgresql
def test_python_mirror_of_hashint8extended_matches_postgresql():
    pairs = [(n * 7919 - 3000, s * 104729) for n in range(60) for s in range(5)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT hashint8extended(v, s) FROM unnest(%s::bigint[], %s::bigint[]) AS t(v, s)",
            [[v for v, _ in pairs], [s for _, s in pairs]],
        )
        expected = [row[0] for row in cursor.fetchall()]
    assert [pg_hashint8extended(v, s) for v, s in pairs] == expected


@on_postgresql
def test_sql_and_python_paths_store_the_same_base_on_postgresql():
    seed("--contacts", "300", "--flush", "--method", "python")  # --flush: ids from 1
    python = snapshot()
    python_keys = list(Activity.objects.order_by("natural_key").values_list("natural_key"))

    seed("--contacts", "300", "--flush", "--method", "sql")

    assert snapshot() == python
    assert list(Activity.objects.order_by("natural_key").values_list("natural_key")) == (
        python_keys
    )


@on_postgresql
def test_natural_keys_computed_in_sql_equal_activity_natural_key():
    seed("--contacts", "300", "--method", "sql")

    activities = Activity.objects.values_list(
        "natural_key", "contact_id", "kind", "occurred_at", "campaign"
    )
    assert len(activities) > 5000
    for key, contact_id, kind, occurred_at, campaign in activities:
        assert key == activity_natural_key(
            contact_id=contact_id, kind=kind, occurred_at=occurred_at, campaign=campaign
        )


def _schema() -> set[tuple[str, str]]:
    tables = ["contacts_activity", "contacts_contact", "contacts_listmembership"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)"
            " UNION ALL SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = ANY(%s::regclass[])",
            [tables, tables],
        )
        return set(cursor.fetchall())


@on_postgresql
def test_indexes_and_constraints_are_back_when_seeded_on_postgresql():
    before = _schema()

    seed("--contacts", "200", "--method", "sql")

    assert _schema() == before
    assert ("activity_contact_kind_at_idx",) in {(name,) for name, _ in before}


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_helper_session_stores_the_same_base_when_the_base_is_large(monkeypatch):
    # Chunks of 50 contacts: the helper session draws chunks 1, 2, 4 and 5 of 6.
    monkeypatch.setattr(postgres, "CHUNK", 50)
    monkeypatch.setattr(postgres, "HELPER_FROM", 10**9)
    seed("--contacts", "300", "--flush")  # --flush: ids from 1
    alone = snapshot()
    alone_ids = list(Activity.objects.order_by("pk").values_list("pk", "natural_key"))

    monkeypatch.setattr(postgres, "HELPER_FROM", 0)
    seed("--contacts", "300", "--flush")

    assert snapshot() == alone
    assert list(Activity.objects.order_by("pk").values_list("pk", "natural_key")) == alone_ids
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'demo_seed%%'")
        assert cursor.fetchone() == (0,)
