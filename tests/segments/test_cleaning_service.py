"""List cleaning: who a criterion picks, what a cleaning writes, and how it is undone."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import ActivityKind, Channel, Contact, EmailStatus
from contacts.services import ActivityEvent, activities_record
from segments.models import CleanedContact, Cleaning
from segments.services import (
    CleaningCriterion,
    CleaningKind,
    cleaning_preview,
    cleaning_revert,
    contacts_clean,
)
from tests.factories import (
    ActivityFactory,
    ContactFactory,
    LeadSourceFactory,
    SegmentFactory,
    SegmentMembershipFactory,
)

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 14, 9, 30, tzinfo=PARIS)
DAY = timedelta(days=1)
MICROSECOND = timedelta(microseconds=1)
LONG_AGO = NOW - 400 * DAY


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("marketer", "m@example.com", "pw")


def never_opened(days: int = 90) -> CleaningCriterion:
    return CleaningCriterion(kind=CleaningKind.NEVER_OPENED, days=days)


def never_clicked(days: int = 90) -> CleaningCriterion:
    return CleaningCriterion(kind=CleaningKind.NEVER_CLICKED, days=days)


def old_contact(**fields) -> Contact:
    """A subscribed contact in the base for long enough for any test period."""
    return ContactFactory(created_at=LONG_AGO, **fields)


def status_of(contact: Contact) -> tuple[str, str, datetime | None]:
    contact.refresh_from_db()
    return contact.email_status, contact.email_status_reason, contact.email_status_changed_at


def cleaned_ids(cleaning: Cleaning) -> set[int]:
    return set(
        Contact.objects.filter(
            email_status=EmailStatus.CLEANED, email_status_reason=f"cleaning #{cleaning.pk}"
        ).values_list("pk", flat=True)
    )


# Who a criterion picks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_open", "cleaned"),
    [
        (None, True),
        (NOW - 90 * DAY - MICROSECOND, True),
        (NOW - 90 * DAY, False),  # opened exactly N days ago: within the last N days
        (NOW - 89 * DAY, False),
        (NOW - DAY, False),
    ],
)
def test_contact_is_cleaned_when_it_did_not_open_within_n_days(user, last_open, cleaned):
    contact = old_contact(last_open_at=last_open)

    cleaning = contacts_clean(criterion=never_opened(90), user=user)

    assert (contact.pk in cleaned_ids(cleaning)) is cleaned
    assert cleaning.contact_count == int(cleaned)


@pytest.mark.parametrize(
    ("last_click", "cleaned"),
    [
        (None, True),
        (NOW - 30 * DAY - MICROSECOND, True),
        (NOW - 30 * DAY, False),
        (NOW - 29 * DAY, False),
    ],
)
def test_contact_is_cleaned_when_it_did_not_click_within_n_days(user, last_click, cleaned):
    # Opened yesterday: only clicks count for this criterion.
    contact = old_contact(last_open_at=NOW - DAY, last_click_at=last_click)

    cleaning = contacts_clean(criterion=never_clicked(30), user=user)

    assert (contact.pk in cleaned_ids(cleaning)) is cleaned


def test_recent_clicker_is_kept_when_criterion_is_never_opened(user):
    # Different rollups: a contact who never opened but clicked last week is still cleaned by
    # "never opened" (clicks are not opens), and kept by "never clicked".
    contact = old_contact(last_open_at=None, last_click_at=NOW - 7 * DAY)

    by_clicks = contacts_clean(criterion=never_clicked(30), user=user)
    assert contact.pk not in cleaned_ids(by_clicks)
    by_opens = contacts_clean(criterion=never_opened(30), user=user)
    assert contact.pk in cleaned_ids(by_opens)


@pytest.mark.parametrize(
    ("in_base_since", "cleaned"),
    [
        (NOW - 90 * DAY - MICROSECOND, True),
        (NOW - 90 * DAY, False),  # exactly N days in the base: not "more than N days"
        (NOW - 10 * DAY, False),
    ],
)
def test_new_contact_is_kept_when_it_joined_less_than_n_days_ago(user, in_base_since, cleaned):
    contact = ContactFactory(created_at=in_base_since, last_open_at=None)

    cleaning = contacts_clean(criterion=never_opened(90), user=user)

    assert (contact.pk in cleaned_ids(cleaning)) is cleaned


@pytest.mark.parametrize(
    "status",
    [
        EmailStatus.UNSUBSCRIBED,
        EmailStatus.BOUNCED,
        EmailStatus.COMPLAINED,
        EmailStatus.CLEANED,
    ],
)
def test_contact_is_left_alone_when_it_is_not_subscribed(user, status):
    before = NOW - 50 * DAY
    contact = old_contact(
        email_status=status, email_status_reason="earlier", email_status_changed_at=before
    )
    subscribed = old_contact()

    cleaning = contacts_clean(criterion=never_opened(90), user=user)

    assert status_of(contact) == (status, "earlier", before)
    assert cleaned_ids(cleaning) == {subscribed.pk}
    assert cleaning.contact_count == 1


def test_current_subscribed_members_are_cleaned_when_criterion_is_a_segment(user):
    segment = SegmentFactory(name="Winter buyers")
    member = SegmentMembershipFactory(segment=segment).contact
    former = SegmentMembershipFactory(segment=segment, exited_at=NOW - DAY).contact
    unsubscribed = SegmentMembershipFactory(
        segment=segment, contact=ContactFactory(email_status=EmailStatus.UNSUBSCRIBED)
    ).contact
    SegmentMembershipFactory(contact=ContactFactory())  # another segment
    criterion = CleaningCriterion(kind=CleaningKind.SEGMENT, segment=segment)

    cleaning = contacts_clean(criterion=criterion, user=user)

    assert cleaned_ids(cleaning) == {member.pk}
    assert status_of(former)[0] == EmailStatus.SUBSCRIBED
    assert status_of(unsubscribed)[0] == EmailStatus.UNSUBSCRIBED
    assert cleaning.segment == segment
    assert cleaning.criterion == "Members of the segment “Winter buyers”"


def test_preview_counts_and_splits_by_source_when_contacts_match():
    fair, web = LeadSourceFactory(name="Fair"), LeadSourceFactory(name="Web")
    for _ in range(3):
        old_contact(lead_source=fair)
    old_contact(lead_source=web)
    old_contact(lead_source=None)
    old_contact(lead_source=web, last_open_at=NOW - DAY)  # opened: not concerned

    preview = cleaning_preview(criterion=never_opened(90))

    assert preview.count == 5
    assert preview.by_source[0] == ("Fair", 3)
    assert dict(preview.by_source) == {"Fair": 3, "Web": 1, "": 1}


# What a cleaning writes ----------------------------------------------------------------------


def test_cleaning_sets_status_reason_and_date_and_records_who_when_confirmed(user):
    earlier = NOW - 300 * DAY
    contact = old_contact(email_status_reason="import", email_status_changed_at=earlier)

    cleaning = contacts_clean(criterion=never_opened(180), user=user)

    assert status_of(contact) == (EmailStatus.CLEANED, f"cleaning #{cleaning.pk}", NOW)
    cleaning.refresh_from_db()
    assert cleaning.created_by == user
    assert cleaning.created_at == NOW
    assert cleaning.criterion == "Never opened in the last 180 days"
    assert cleaning.contact_count == 1
    assert cleaning.reverted_at is None
    kept = CleanedContact.objects.get(cleaning=cleaning)
    assert (kept.contact_id, kept.previous_status, kept.previous_reason) == (
        contact.pk,
        EmailStatus.SUBSCRIBED,
        "import",
    )
    assert kept.previous_changed_at == earlier


def test_nothing_is_deleted_when_contacts_are_cleaned(user):
    for _ in range(4):
        old_contact()

    contacts_clean(criterion=never_opened(90), user=user)

    assert Contact.objects.count() == 4
    assert Contact.objects.filter(email_status=EmailStatus.CLEANED).count() == 4


def test_cleaning_is_recorded_with_no_contact_when_nobody_matches(user):
    old_contact(last_open_at=NOW - DAY)

    cleaning = contacts_clean(criterion=never_opened(90), user=user)

    assert cleaning.contact_count == 0
    assert not CleanedContact.objects.exists()


def test_queries_do_not_grow_with_the_base_when_cleaning_and_reverting(user):
    def queries_for(count: int) -> tuple[int, int]:
        for _ in range(count):
            old_contact()
        with CaptureQueriesContext(connection) as cleaning_queries:
            cleaning = contacts_clean(criterion=never_opened(90), user=user)
        with CaptureQueriesContext(connection) as revert_queries:
            cleaning_revert(cleaning=cleaning, user=user)
        return len(cleaning_queries), len(revert_queries)

    assert queries_for(2) == queries_for(25)


@pytest.mark.parametrize("days", [0, -5, 10_001, None])
def test_cleaning_is_refused_and_writes_nothing_when_days_are_out_of_range(user, days):
    old_contact()

    with pytest.raises(ValidationError):
        contacts_clean(criterion=never_opened(days), user=user)

    assert not Cleaning.objects.exists()
    assert not Contact.objects.filter(email_status=EmailStatus.CLEANED).exists()


def test_cleaning_is_refused_when_segment_criterion_has_no_segment(user):
    with pytest.raises(ValidationError):
        contacts_clean(criterion=CleaningCriterion(kind=CleaningKind.SEGMENT), user=user)

    assert not Cleaning.objects.exists()


# Revert ----------------------------------------------------------------------------------------


def test_revert_restores_previous_status_reason_and_date_when_contacts_are_still_cleaned(
    user, django_user_model, frozen_now
):
    earlier = NOW - 300 * DAY
    contact = old_contact(email_status_reason="staff", email_status_changed_at=earlier)
    never_changed = old_contact()
    cleaning = contacts_clean(criterion=never_opened(90), user=user)
    reverter = django_user_model.objects.create_user("boss", "b@example.com", "pw")
    frozen_now.shift(2 * DAY)

    restored = cleaning_revert(cleaning=cleaning, user=reverter)

    assert restored == 2
    assert status_of(contact) == (EmailStatus.SUBSCRIBED, "staff", earlier)
    assert status_of(never_changed) == (EmailStatus.SUBSCRIBED, "", None)
    cleaning.refresh_from_db()
    assert (cleaning.reverted_by, cleaning.reverted_at, cleaning.restored_count) == (
        reverter,
        NOW + 2 * DAY,
        2,
    )


def test_revert_keeps_new_status_when_contact_unsubscribed_or_bounced_since(user, frozen_now):
    unsubscribed, bounced, resubscribed, untouched = (old_contact() for _ in range(4))
    cleaning = contacts_clean(criterion=never_opened(90), user=user)
    frozen_now.shift(DAY)
    activities_record(
        events=[
            ActivityEvent(unsubscribed.pk, ActivityKind.UNSUBSCRIBE, NOW + DAY),
            ActivityEvent(bounced.pk, ActivityKind.BOUNCE, NOW + DAY),
        ]
    )
    # Staff put this one back by hand, then a later cleaning did not pick it.
    Contact.objects.filter(pk=resubscribed.pk).update(
        email_status=EmailStatus.SUBSCRIBED, email_status_reason="staff"
    )

    restored = cleaning_revert(cleaning=cleaning, user=user)

    assert restored == 1
    assert status_of(unsubscribed)[0] == EmailStatus.UNSUBSCRIBED
    assert status_of(bounced)[0] == EmailStatus.BOUNCED
    assert status_of(resubscribed)[:2] == (EmailStatus.SUBSCRIBED, "staff")
    assert status_of(untouched)[0] == EmailStatus.SUBSCRIBED


def test_revert_leaves_contact_of_a_later_cleaning_when_it_was_cleaned_again(user):
    contact = old_contact()
    first = contacts_clean(criterion=never_opened(90), user=user)
    cleaning_revert(cleaning=first, user=user)
    second = contacts_clean(criterion=never_opened(90), user=user)

    # The first cleaning is already reverted; reverting the second puts the contact back.
    assert cleaning_revert(cleaning=first, user=user) == 0
    assert status_of(contact)[:2] == (EmailStatus.CLEANED, f"cleaning #{second.pk}")
    assert cleaning_revert(cleaning=second, user=user) == 1
    assert status_of(contact)[0] == EmailStatus.SUBSCRIBED


def test_revert_keeps_contact_suppressed_when_an_unsubscribe_arrived_late(user):
    # The contact unsubscribed before the cleaning, but the event was recorded while it was
    # cleaned (a delayed webhook): the status did not change, the revert must not resubscribe.
    late, on_time = old_contact(), old_contact()
    cleaning = contacts_clean(criterion=never_opened(90), user=user)
    ActivityFactory(
        contact=late, kind=ActivityKind.UNSUBSCRIBE, channel=Channel.EMAIL, occurred_at=NOW - DAY
    )

    restored = cleaning_revert(cleaning=cleaning, user=user)

    assert restored == 1
    assert status_of(late)[0] == EmailStatus.CLEANED
    assert status_of(on_time)[0] == EmailStatus.SUBSCRIBED


def test_second_revert_changes_nothing_when_cleaning_was_already_reverted(
    user, django_user_model, frozen_now
):
    contact = old_contact()
    cleaning = contacts_clean(criterion=never_opened(90), user=user)
    assert cleaning_revert(cleaning=cleaning, user=user) == 1
    # Cleaned again by hand afterwards: a stale second revert must not touch it.
    Contact.objects.filter(pk=contact.pk).update(
        email_status=EmailStatus.CLEANED, email_status_reason=f"cleaning #{cleaning.pk}"
    )
    other = django_user_model.objects.create_user("other", "o@example.com", "pw")
    frozen_now.shift(DAY)
    stale_copy = Cleaning.objects.get(pk=cleaning.pk)
    stale_copy.reverted_at = None  # as loaded by a page opened before the first revert

    assert cleaning_revert(cleaning=stale_copy, user=other) == 0

    assert status_of(contact)[0] == EmailStatus.CLEANED
    cleaning.refresh_from_db()
    assert (cleaning.reverted_by, cleaning.reverted_at, cleaning.restored_count) == (user, NOW, 1)
