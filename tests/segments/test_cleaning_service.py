"""List cleaning: who a criterion picks, what a cleaning writes, and how it is undone.

Staff request a cleaning (or a revert) and a worker runs it. Tasks run inline in tests, when
the request's transaction commits: the `clean` and `revert` fixtures go through that whole path.
"""

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
    cleaning_request,
    cleaning_revert_request,
    cleaning_revert_run,
    cleaning_run,
    evaluation_lock_expiry,
)
from segments.services import cleaning as cleaning_module
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


@pytest.fixture
def clean(user, django_capture_on_commit_callbacks):
    def clean(criterion: CleaningCriterion, *, by=None) -> Cleaning:
        """Request a cleaning as the admin does; the worker runs it when the request commits."""
        with django_capture_on_commit_callbacks(execute=True):
            cleaning = cleaning_request(criterion=criterion, user=by or user)
        cleaning.refresh_from_db()
        return cleaning

    return clean


@pytest.fixture
def revert(user, django_capture_on_commit_callbacks):
    def revert(cleaning: Cleaning, *, by=None) -> Cleaning:
        """Request the revert as the admin does; the worker runs it when the request commits."""
        with django_capture_on_commit_callbacks(execute=True):
            cleaning_revert_request(cleaning=cleaning, user=by or user)
        cleaning.refresh_from_db()
        return cleaning

    return revert


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
def test_contact_is_cleaned_when_it_did_not_open_within_n_days(clean, last_open, cleaned):
    contact = old_contact(last_open_at=last_open)

    cleaning = clean(never_opened(90))

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
def test_contact_is_cleaned_when_it_did_not_click_within_n_days(clean, last_click, cleaned):
    # Opened yesterday: only clicks count for this criterion.
    contact = old_contact(last_open_at=NOW - DAY, last_click_at=last_click)

    cleaning = clean(never_clicked(30))

    assert (contact.pk in cleaned_ids(cleaning)) is cleaned


def test_recent_clicker_is_kept_when_criterion_is_never_opened(clean):
    # Different rollups: a contact who never opened but clicked last week is still cleaned by
    # "never opened" (clicks are not opens), and kept by "never clicked".
    contact = old_contact(last_open_at=None, last_click_at=NOW - 7 * DAY)

    by_clicks = clean(never_clicked(30))
    assert contact.pk not in cleaned_ids(by_clicks)
    by_opens = clean(never_opened(30))
    assert contact.pk in cleaned_ids(by_opens)


@pytest.mark.parametrize(
    ("in_base_since", "cleaned"),
    [
        (NOW - 90 * DAY - MICROSECOND, True),
        (NOW - 90 * DAY, False),  # exactly N days in the base: not "more than N days"
        (NOW - 10 * DAY, False),
    ],
)
def test_new_contact_is_kept_when_it_joined_less_than_n_days_ago(clean, in_base_since, cleaned):
    contact = ContactFactory(created_at=in_base_since, last_open_at=None)

    cleaning = clean(never_opened(90))

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
def test_contact_is_left_alone_when_it_is_not_subscribed(clean, status):
    before = NOW - 50 * DAY
    contact = old_contact(
        email_status=status, email_status_reason="earlier", email_status_changed_at=before
    )
    subscribed = old_contact()

    cleaning = clean(never_opened(90))

    assert status_of(contact) == (status, "earlier", before)
    assert cleaned_ids(cleaning) == {subscribed.pk}
    assert cleaning.contact_count == 1


def test_current_subscribed_members_are_cleaned_when_criterion_is_a_segment(clean):
    segment = SegmentFactory(name="Winter buyers")
    member = SegmentMembershipFactory(segment=segment).contact
    former = SegmentMembershipFactory(segment=segment, exited_at=NOW - DAY).contact
    unsubscribed = SegmentMembershipFactory(
        segment=segment, contact=ContactFactory(email_status=EmailStatus.UNSUBSCRIBED)
    ).contact
    SegmentMembershipFactory(contact=ContactFactory())  # another segment
    criterion = CleaningCriterion(kind=CleaningKind.SEGMENT, segment=segment)

    cleaning = clean(criterion)

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


def test_cleaning_sets_status_reason_and_date_and_records_who_when_confirmed(user, clean):
    earlier = NOW - 300 * DAY
    contact = old_contact(email_status_reason="import", email_status_changed_at=earlier)

    cleaning = clean(never_opened(180))

    assert status_of(contact) == (EmailStatus.CLEANED, f"cleaning #{cleaning.pk}", NOW)
    assert cleaning.status == Cleaning.Status.DONE
    assert cleaning.created_by == user
    assert (cleaning.created_at, cleaning.started_at, cleaning.finished_at) == (NOW, NOW, NOW)
    assert cleaning.criterion == "Never opened in the last 180 days"
    assert (cleaning.kind, cleaning.days) == (CleaningKind.NEVER_OPENED, 180)
    assert cleaning.contact_count == 1
    assert cleaning.error == ""
    assert cleaning.revert_status == Cleaning.RevertStatus.NONE
    assert cleaning.reverted_at is None
    kept = CleanedContact.objects.get(cleaning=cleaning)
    assert (kept.contact_id, kept.previous_status, kept.previous_reason) == (
        contact.pk,
        EmailStatus.SUBSCRIBED,
        "import",
    )
    assert kept.previous_changed_at == earlier


def test_nothing_is_deleted_when_contacts_are_cleaned(clean):
    for _ in range(4):
        old_contact()

    clean(never_opened(90))

    assert Contact.objects.count() == 4
    assert Contact.objects.filter(email_status=EmailStatus.CLEANED).count() == 4


def test_cleaning_is_recorded_with_no_contact_when_nobody_matches(clean):
    old_contact(last_open_at=NOW - DAY)

    cleaning = clean(never_opened(90))

    assert cleaning.status == Cleaning.Status.DONE
    assert cleaning.contact_count == 0
    assert not CleanedContact.objects.exists()


def test_queries_do_not_grow_with_the_base_when_cleaning_and_reverting(user):
    def queries_for(count: int) -> tuple[int, int]:
        for _ in range(count):
            old_contact()
        cleaning = cleaning_request(criterion=never_opened(90), user=user)
        with CaptureQueriesContext(connection) as cleaning_queries:
            cleaning_run(cleaning_id=cleaning.pk)
        cleaning_revert_request(cleaning=cleaning, user=user)
        with CaptureQueriesContext(connection) as revert_queries:
            cleaning_revert_run(cleaning_id=cleaning.pk)
        return len(cleaning_queries), len(revert_queries)

    assert queries_for(2) == queries_for(25)


@pytest.mark.parametrize("days", [0, -5, 10_001, None])
def test_cleaning_is_refused_and_writes_nothing_when_days_are_out_of_range(
    user, days, django_capture_on_commit_callbacks
):
    old_contact()

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ValidationError):
        cleaning_request(criterion=never_opened(days), user=user)

    assert callbacks == []
    assert not Cleaning.objects.exists()
    assert not Contact.objects.filter(email_status=EmailStatus.CLEANED).exists()


def test_cleaning_is_refused_when_segment_criterion_has_no_segment(user):
    with pytest.raises(ValidationError):
        cleaning_request(criterion=CleaningCriterion(kind=CleaningKind.SEGMENT), user=user)

    assert not Cleaning.objects.exists()


# Requested, then run by a worker ---------------------------------------------------------------


def test_cleaning_waits_as_pending_and_changes_nothing_until_the_request_commits(
    user, django_capture_on_commit_callbacks, frozen_now
):
    contact = old_contact()

    with django_capture_on_commit_callbacks() as callbacks:
        cleaning = cleaning_request(criterion=never_opened(90), user=user)

    cleaning.refresh_from_db()
    assert cleaning.status == Cleaning.Status.PENDING
    assert (cleaning.created_by, cleaning.created_at) == (user, NOW)
    assert (cleaning.kind, cleaning.days, cleaning.segment) == ("never_opened", 90, None)
    assert (cleaning.started_at, cleaning.finished_at, cleaning.contact_count) == (None, None, 0)
    assert not cleaning.can_be_reverted
    assert status_of(contact)[0] == EmailStatus.SUBSCRIBED
    assert len(callbacks) == 1

    # when the request commits, the queued task runs (inline in tests) a minute later
    frozen_now.shift(timedelta(minutes=1))
    callbacks[0]()

    cleaning.refresh_from_db()
    assert cleaning.status == Cleaning.Status.DONE
    assert cleaning.started_at == cleaning.finished_at == NOW + timedelta(minutes=1)
    assert cleaning.contact_count == 1
    assert cleaning.can_be_reverted
    assert status_of(contact) == (
        EmailStatus.CLEANED,
        f"cleaning #{cleaning.pk}",
        NOW + timedelta(minutes=1),
    )


def test_cleaning_runs_once_when_the_task_is_delivered_twice(clean):
    old_contact()
    cleaning = clean(never_opened(90))
    newcomer = old_contact()  # would be picked by a second run

    assert cleaning_run(cleaning_id=cleaning.pk) is None

    cleaning.refresh_from_db()
    assert (cleaning.status, cleaning.contact_count) == (Cleaning.Status.DONE, 1)
    assert CleanedContact.objects.filter(cleaning=cleaning).count() == 1
    assert status_of(newcomer)[0] == EmailStatus.SUBSCRIBED


def test_cleaning_is_left_to_its_worker_when_another_task_finds_it_running(user):
    contact = old_contact()
    cleaning = cleaning_request(criterion=never_opened(90), user=user)
    Cleaning.objects.filter(pk=cleaning.pk).update(status=Cleaning.Status.RUNNING)

    assert cleaning_run(cleaning_id=cleaning.pk) is None

    cleaning.refresh_from_db()
    assert cleaning.status == Cleaning.Status.RUNNING
    assert status_of(contact)[0] == EmailStatus.SUBSCRIBED


def test_cleaning_is_taken_over_when_its_worker_was_killed_long_ago(user):
    contact = old_contact()
    cleaning = cleaning_request(criterion=never_opened(90), user=user)
    # A worker claimed it longer ago than any task may run, then died (its work rolled back).
    Cleaning.objects.filter(pk=cleaning.pk).update(
        status=Cleaning.Status.RUNNING, started_at=NOW - evaluation_lock_expiry() - MICROSECOND
    )

    assert cleaning_run(cleaning_id=cleaning.pk) is not None

    cleaning.refresh_from_db()
    assert (cleaning.status, cleaning.contact_count) == (Cleaning.Status.DONE, 1)
    assert status_of(contact)[0] == EmailStatus.CLEANED


def test_run_does_nothing_when_the_cleaning_does_not_exist():
    assert cleaning_run(cleaning_id=987654) is None
    assert cleaning_revert_run(cleaning_id=987654) is None


def test_cleaning_fails_with_the_reason_when_its_segment_was_deleted_before_it_ran(
    user, django_capture_on_commit_callbacks
):
    segment = SegmentFactory(name="Dormant")
    member = SegmentMembershipFactory(segment=segment).contact
    criterion = CleaningCriterion(kind=CleaningKind.SEGMENT, segment=segment)
    with django_capture_on_commit_callbacks() as callbacks:
        cleaning = cleaning_request(criterion=criterion, user=user)
    segment.delete()

    callbacks[0]()

    cleaning.refresh_from_db()
    assert cleaning.status == Cleaning.Status.FAILED
    assert cleaning.error == "The segment was deleted before the cleaning ran."
    assert cleaning.finished_at == NOW
    assert cleaning.contact_count == 0
    assert not cleaning.can_be_reverted
    assert status_of(member)[0] == EmailStatus.SUBSCRIBED


def test_failed_cleaning_changes_no_contact_when_it_breaks_after_its_writes(user, monkeypatch):
    contacts = [old_contact() for _ in range(3)]
    cleaning = cleaning_request(criterion=never_opened(90), user=user)
    clean_contacts = cleaning_module._contacts_clean

    def clean_then_break(**kwargs) -> int:
        assert clean_contacts(**kwargs) == 3  # every contact was cleaned, inside the transaction
        raise RuntimeError("connection lost")

    monkeypatch.setattr(cleaning_module, "_contacts_clean", clean_then_break)

    with pytest.raises(RuntimeError):
        cleaning_run(cleaning_id=cleaning.pk)

    cleaning.refresh_from_db()
    assert cleaning.status == Cleaning.Status.FAILED
    assert cleaning.error == "unexpected error: connection lost"
    assert cleaning.contact_count == 0
    assert not CleanedContact.objects.exists()
    assert {status_of(contact) for contact in contacts} == {(EmailStatus.SUBSCRIBED, "", None)}


# Revert ----------------------------------------------------------------------------------------


def test_revert_restores_previous_status_reason_and_date_when_contacts_are_still_cleaned(
    clean, revert, django_user_model, frozen_now
):
    earlier = NOW - 300 * DAY
    contact = old_contact(email_status_reason="staff", email_status_changed_at=earlier)
    never_changed = old_contact()
    cleaning = clean(never_opened(90))
    reverter = django_user_model.objects.create_user("boss", "b@example.com", "pw")
    frozen_now.shift(2 * DAY)

    cleaning = revert(cleaning, by=reverter)

    assert cleaning.restored_count == 2
    assert status_of(contact) == (EmailStatus.SUBSCRIBED, "staff", earlier)
    assert status_of(never_changed) == (EmailStatus.SUBSCRIBED, "", None)
    assert cleaning.revert_status == Cleaning.RevertStatus.DONE
    assert (cleaning.reverted_by, cleaning.revert_requested_at, cleaning.reverted_at) == (
        reverter,
        NOW + 2 * DAY,
        NOW + 2 * DAY,
    )
    assert cleaning.status == Cleaning.Status.DONE  # the cleaning's own record is kept
    assert cleaning.contact_count == 2


def test_revert_keeps_new_status_when_contact_unsubscribed_or_bounced_since(
    clean, revert, frozen_now
):
    unsubscribed, bounced, resubscribed, untouched = (old_contact() for _ in range(4))
    cleaning = clean(never_opened(90))
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

    assert revert(cleaning).restored_count == 1

    assert status_of(unsubscribed)[0] == EmailStatus.UNSUBSCRIBED
    assert status_of(bounced)[0] == EmailStatus.BOUNCED
    assert status_of(resubscribed)[:2] == (EmailStatus.SUBSCRIBED, "staff")
    assert status_of(untouched)[0] == EmailStatus.SUBSCRIBED


def test_revert_leaves_contact_of_a_later_cleaning_when_it_was_cleaned_again(user, clean, revert):
    contact = old_contact()
    first = clean(never_opened(90))
    revert(first)
    second = clean(never_opened(90))

    # The first cleaning is already reverted; reverting the second puts the contact back.
    with pytest.raises(ValidationError, match="already reverted"):
        cleaning_revert_request(cleaning=first, user=user)
    assert status_of(contact)[:2] == (EmailStatus.CLEANED, f"cleaning #{second.pk}")
    assert revert(second).restored_count == 1
    assert status_of(contact)[0] == EmailStatus.SUBSCRIBED


def test_revert_keeps_contact_suppressed_when_an_unsubscribe_arrived_late(clean, revert):
    # The contact unsubscribed before the cleaning, but the event was recorded while it was
    # cleaned (a delayed webhook): the status did not change, the revert must not resubscribe.
    late, on_time = old_contact(), old_contact()
    cleaning = clean(never_opened(90))
    ActivityFactory(
        contact=late, kind=ActivityKind.UNSUBSCRIBE, channel=Channel.EMAIL, occurred_at=NOW - DAY
    )

    assert revert(cleaning).restored_count == 1

    assert status_of(late)[0] == EmailStatus.CLEANED
    assert status_of(on_time)[0] == EmailStatus.SUBSCRIBED


def test_second_revert_changes_nothing_when_cleaning_was_already_reverted(
    user, clean, revert, django_user_model, frozen_now
):
    contact = old_contact()
    cleaning = clean(never_opened(90))
    assert revert(cleaning).restored_count == 1
    # Cleaned again by hand afterwards: a stale second revert must not touch it.
    Contact.objects.filter(pk=contact.pk).update(
        email_status=EmailStatus.CLEANED, email_status_reason=f"cleaning #{cleaning.pk}"
    )
    other = django_user_model.objects.create_user("other", "o@example.com", "pw")
    frozen_now.shift(DAY)
    stale_copy = Cleaning.objects.get(pk=cleaning.pk)
    stale_copy.revert_status = Cleaning.RevertStatus.NONE  # as loaded before the first revert

    with pytest.raises(ValidationError, match="This cleaning was already reverted."):
        cleaning_revert_request(cleaning=stale_copy, user=other)
    assert cleaning_revert_run(cleaning_id=cleaning.pk) is None  # the task delivered again

    assert status_of(contact)[0] == EmailStatus.CLEANED
    cleaning.refresh_from_db()
    assert (cleaning.reverted_by, cleaning.reverted_at, cleaning.restored_count) == (user, NOW, 1)


def test_second_revert_request_is_refused_while_the_first_waits_for_its_worker(
    user, clean, django_capture_on_commit_callbacks
):
    contact = old_contact()
    cleaning = clean(never_opened(90))

    with django_capture_on_commit_callbacks() as callbacks:
        cleaning_revert_request(cleaning=cleaning, user=user)
    cleaning.refresh_from_db()
    assert cleaning.revert_status == Cleaning.RevertStatus.PENDING
    assert not cleaning.can_be_reverted
    assert status_of(contact)[0] == EmailStatus.CLEANED  # nothing restored before the worker
    with (
        django_capture_on_commit_callbacks() as second_callbacks,
        pytest.raises(ValidationError, match="This cleaning is already being reverted."),
    ):
        cleaning_revert_request(cleaning=cleaning, user=user)
    assert second_callbacks == []

    callbacks[0]()

    cleaning.refresh_from_db()
    assert (cleaning.revert_status, cleaning.restored_count) == (Cleaning.RevertStatus.DONE, 1)
    assert status_of(contact)[0] == EmailStatus.SUBSCRIBED


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (Cleaning.Status.PENDING, "This cleaning has not finished yet"),
        (Cleaning.Status.RUNNING, "This cleaning has not finished yet"),
        (Cleaning.Status.FAILED, "there is nothing to revert"),
    ],
)
def test_revert_request_is_refused_when_the_cleaning_is_not_done(user, status, message):
    cleaning = cleaning_request(criterion=never_opened(90), user=user)
    Cleaning.objects.filter(pk=cleaning.pk).update(status=status)
    cleaning.refresh_from_db()

    with pytest.raises(ValidationError, match=message):
        cleaning_revert_request(cleaning=cleaning, user=user)

    cleaning.refresh_from_db()
    assert (cleaning.revert_status, cleaning.reverted_by) == (Cleaning.RevertStatus.NONE, None)


def test_failed_revert_changes_no_contact_and_may_be_asked_again(user, clean, revert, monkeypatch):
    contacts = [old_contact() for _ in range(2)]
    cleaning = clean(never_opened(90))
    restore = cleaning_module._contacts_restore

    def restore_then_break(**kwargs) -> int:
        assert restore(**kwargs) == 2  # both restored, inside the transaction
        raise RuntimeError("connection lost")

    monkeypatch.setattr(cleaning_module, "_contacts_restore", restore_then_break)
    cleaning_revert_request(cleaning=cleaning, user=user)

    with pytest.raises(RuntimeError):
        cleaning_revert_run(cleaning_id=cleaning.pk)

    cleaning.refresh_from_db()
    assert cleaning.revert_status == Cleaning.RevertStatus.FAILED
    assert cleaning.revert_error == "unexpected error: connection lost"
    assert (cleaning.reverted_at, cleaning.restored_count) == (None, 0)
    assert {status_of(contact)[0] for contact in contacts} == {EmailStatus.CLEANED}
    assert cleaning.can_be_reverted

    monkeypatch.undo()
    cleaning = revert(cleaning)

    assert (cleaning.revert_status, cleaning.revert_error) == (Cleaning.RevertStatus.DONE, "")
    assert cleaning.restored_count == 2
    assert {status_of(contact)[0] for contact in contacts} == {EmailStatus.SUBSCRIBED}
