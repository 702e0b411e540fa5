from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from contacts.models import Activity, ActivityKind, Channel, Contact, EmailStatus, SmsStatus
from contacts.services import ActivityEvent, activities_record, contact_rollups_rebuild
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 3, day, hour, tzinfo=PARIS)


def test_same_event_twice_is_stored_once_when_loaded_again():
    contact = ContactFactory()
    events = [ActivityEvent(contact.pk, ActivityKind.OPEN, at(1), campaign="Spring")]

    first = activities_record(events=events)
    second = activities_record(events=events)

    assert (first.recorded, second.recorded, second.duplicates) == (1, 0, 1)
    assert Activity.objects.filter(contact=contact).count() == 1


def test_same_instant_in_another_time_zone_is_the_same_event():
    contact = ContactFactory()
    paris = at(1, 12)
    utc = paris.astimezone(ZoneInfo("UTC"))

    activities_record(events=[ActivityEvent(contact.pk, ActivityKind.CLICK, paris)])
    result = activities_record(events=[ActivityEvent(contact.pk, ActivityKind.CLICK, utc)])

    assert result.recorded == 0


def test_external_id_identifies_an_event_whatever_its_content():
    contact = ContactFactory()
    activities_record(
        events=[ActivityEvent(contact.pk, ActivityKind.PURCHASE, at(2), external_id="order-7")]
    )
    result = activities_record(
        events=[ActivityEvent(contact.pk, ActivityKind.PURCHASE, at(3), external_id="order-7")]
    )
    assert result.recorded == 0


def test_rollups_follow_the_latest_event_of_each_kind():
    contact = ContactFactory()
    activities_record(
        events=[
            ActivityEvent(contact.pk, ActivityKind.SENT, at(1)),
            ActivityEvent(contact.pk, ActivityKind.SENT, at(5)),
            ActivityEvent(contact.pk, ActivityKind.OPEN, at(2)),
            ActivityEvent(contact.pk, ActivityKind.SMS_CLICK, at(6), channel=Channel.SMS),
            ActivityEvent(contact.pk, ActivityKind.PURCHASE, at(7)),
            ActivityEvent(contact.pk, ActivityKind.VISIT, at(8), channel=Channel.WEB),
        ]
    )
    contact.refresh_from_db()
    assert contact.last_targeted_at == at(5)
    assert contact.last_open_at == at(2)
    assert contact.last_click_at == at(6)
    assert contact.last_purchase_at == at(7)
    assert contact.last_visit_at == at(8)


def test_machine_open_never_counts_as_an_open():
    contact = ContactFactory()
    activities_record(
        events=[
            ActivityEvent(contact.pk, ActivityKind.OPEN, at(1)),
            ActivityEvent(contact.pk, ActivityKind.OPEN, at(9), is_machine=True),
        ]
    )
    contact.refresh_from_db()
    assert contact.last_open_at == at(1)
    assert Activity.objects.filter(contact=contact, is_machine=True).count() == 1


def test_older_event_loaded_later_does_not_move_a_rollup_back():
    contact = ContactFactory()
    activities_record(events=[ActivityEvent(contact.pk, ActivityKind.OPEN, at(9))])
    activities_record(events=[ActivityEvent(contact.pk, ActivityKind.OPEN, at(1))])
    contact.refresh_from_db()
    assert contact.last_open_at == at(9)


def test_rollups_are_updated_for_every_contact_of_a_large_batch():
    contacts = ContactFactory.create_batch(30)
    events = [
        ActivityEvent(c.pk, ActivityKind.CLICK, at(1 + i % 20)) for i, c in enumerate(contacts)
    ]

    activities_record(events=events, batch_size=7)

    clicks = dict(Contact.objects.values_list("pk", "last_click_at"))
    assert all(clicks[c.pk] == at(1 + i % 20) for i, c in enumerate(contacts))


def test_unsubscribe_hard_bounce_and_complaint_set_the_status():
    unsub, bounced, soft, complained = ContactFactory.create_batch(4)
    activities_record(
        events=[
            ActivityEvent(unsub.pk, ActivityKind.UNSUBSCRIBE, at(1)),
            ActivityEvent(bounced.pk, ActivityKind.BOUNCE, at(1)),
            ActivityEvent(soft.pk, ActivityKind.BOUNCE, at(1), metadata={"bounce_type": "soft"}),
            ActivityEvent(complained.pk, ActivityKind.COMPLAINT, at(1)),
        ]
    )
    statuses = dict(Contact.objects.values_list("pk", "email_status"))
    assert statuses[unsub.pk] == EmailStatus.UNSUBSCRIBED
    assert statuses[bounced.pk] == EmailStatus.BOUNCED
    assert statuses[soft.pk] == EmailStatus.SUBSCRIBED
    assert statuses[complained.pk] == EmailStatus.COMPLAINED


def test_unsubscribe_never_downgrades_a_complaint():
    contact = ContactFactory(email_status=EmailStatus.COMPLAINED)
    activities_record(events=[ActivityEvent(contact.pk, ActivityKind.UNSUBSCRIBE, at(1))])
    contact.refresh_from_db()
    assert contact.email_status == EmailStatus.COMPLAINED


def test_old_unsubscribe_does_not_override_a_later_resubscription():
    contact = ContactFactory(email_status_changed_at=at(20))
    activities_record(events=[ActivityEvent(contact.pk, ActivityKind.UNSUBSCRIBE, at(1))])
    contact.refresh_from_db()
    assert contact.email_status == EmailStatus.SUBSCRIBED


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (ActivityKind.UNSUBSCRIBE, EmailStatus.UNSUBSCRIBED),
        (ActivityKind.BOUNCE, EmailStatus.BOUNCED),
        (ActivityKind.COMPLAINT, EmailStatus.COMPLAINED),
    ],
)
def test_late_opt_out_or_bounce_applies_when_the_contact_was_cleaned_since(kind, status):
    # A cleaning is not the contact's decision: an older opt-out reported after it still holds.
    contact = ContactFactory(email_status=EmailStatus.CLEANED, email_status_changed_at=at(20))
    activities_record(events=[ActivityEvent(contact.pk, kind, at(1))])
    contact.refresh_from_db()
    assert contact.email_status == status


def test_replayed_unsubscribe_does_not_undo_a_resubscription():
    contact = ContactFactory()
    event = ActivityEvent(contact.pk, ActivityKind.UNSUBSCRIBE, at(1))
    activities_record(events=[event])
    Contact.objects.filter(pk=contact.pk).update(email_status=EmailStatus.SUBSCRIBED)

    activities_record(events=[event])

    contact.refresh_from_db()
    assert contact.email_status == EmailStatus.SUBSCRIBED


def test_sms_unsubscribe_touches_only_the_sms_status():
    contact = ContactFactory(sms_status=SmsStatus.SUBSCRIBED)
    activities_record(
        events=[ActivityEvent(contact.pk, ActivityKind.UNSUBSCRIBE, at(1), channel=Channel.SMS)]
    )
    contact.refresh_from_db()
    assert (contact.sms_status, contact.email_status) == (
        SmsStatus.UNSUBSCRIBED,
        EmailStatus.SUBSCRIBED,
    )


def test_rebuild_recomputes_rollups_from_the_log():
    contacts = ContactFactory.create_batch(5)
    activities_record(events=[ActivityEvent(c.pk, ActivityKind.OPEN, at(3)) for c in contacts])
    Contact.objects.update(last_open_at=at(28), last_click_at=at(28))

    rebuilt = contact_rollups_rebuild(chunk_size=2)

    assert rebuilt == 5
    assert set(Contact.objects.values_list("last_open_at", "last_click_at")) == {(at(3), None)}


def test_rebuild_on_an_empty_base_does_nothing():
    assert contact_rollups_rebuild() == 0
