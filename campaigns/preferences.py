"""The preference centre's rules: what a contact may change about the messages it gets.

Reached without a login from the signed, dated link every e-mail carries (see
`campaigns.tracking.preferences_url`). A contact may:

- join or leave the lists staff mark as shown in the preference centre (`ContactList.is_public`);
- turn e-mail on or off: on again from unsubscribed or cleaned only, never from bounced or
  complained (the address is broken, or the person called us spam: only staff may decide);
- turn SMS on or off when it has a phone number: on again only if it had consented before
  (unsubscribed), never from "no consent", bounced or complained;
- unsubscribe from everything;
- say "keep me subscribed", which counts as engagement (an activity of kind `stay`, rolled up
  as a click) and brings back a contact a list cleaning had suppressed.

Opt-outs go through the unsubscribe activity, as from the unsubscribe page (the status follows,
and the campaign report counts it when the link came with a message); every other change is
an activity of kind `preferences` listing what changed: the contact's consent history.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from campaigns.models import Message
from campaigns.tracking import message_unsubscribe
from contacts.models import (
    ActivityKind,
    Channel,
    Contact,
    ContactList,
    EmailStatus,
    ListMembership,
    SmsStatus,
)
from contacts.services import ActivityEvent, activities_record

# Reason of the statuses the contact sets on the page.
PREFERENCE_REASON = "preference centre"
# A second "keep me subscribed" within this window (a double click, the unsubscribe page's
# button then the preference page's) is the same event: recorded once.
STAY_WINDOW = timedelta(minutes=10)

EMAIL_CAN_RESUBSCRIBE = (EmailStatus.UNSUBSCRIBED, EmailStatus.CLEANED)
EMAIL_CAN_CHANGE = (EmailStatus.SUBSCRIBED, *EMAIL_CAN_RESUBSCRIBE)
SMS_CAN_CHANGE = (SmsStatus.SUBSCRIBED, SmsStatus.UNSUBSCRIBED)


def preference_lists() -> QuerySet[ContactList]:
    """The lists shown in the preference centre, by name."""
    return ContactList.objects.filter(is_public=True).order_by("name")


def contact_preference_list_ids(contact: Contact) -> set[int]:
    """The shown lists `contact` is on."""
    return set(
        ListMembership.objects.filter(contact=contact, contact_list__is_public=True).values_list(
            "contact_list_id", flat=True
        )
    )


@dataclass
class PreferencesChange:
    email_status: tuple[str, str] | None = None
    sms_status: tuple[str, str] | None = None
    lists_joined: list[str] = field(default_factory=list)
    lists_left: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.email_status or self.sms_status or self.lists_joined or self.lists_left)

    def metadata(self, message: Message | None) -> dict:
        data: dict = {"message": message.pk} if message else {}
        if self.email_status:
            data["email_status"] = list(self.email_status)
        if self.sms_status:
            data["sms_status"] = list(self.sms_status)
        if self.lists_joined:
            data["lists_joined"] = self.lists_joined
        if self.lists_left:
            data["lists_left"] = self.lists_left
        return data


def _campaign_key(message: Message | None) -> str:
    return message.campaign.key if message else ""


def _locked(contact: Contact) -> Contact | None:
    return (
        Contact.objects.select_for_update()
        .filter(pk=contact.pk, erased_at__isnull=True)
        .only("pk", "phone", "email_status", "sms_status")
        .first()
    )


def _email_unsubscribe(contact: Contact, message: Message | None, now: datetime) -> None:
    """The e-mail opt-out, as the unsubscribe page records it (with the message, so that the
    campaign report counts it)."""
    if message is not None:
        message_unsubscribe(message=message, now=now)
        return
    activities_record(
        events=[
            ActivityEvent(
                contact_id=contact.pk,
                kind=ActivityKind.UNSUBSCRIBE,
                occurred_at=now,
                channel=Channel.EMAIL,
                metadata={"source": "preferences"},
            )
        ]
    )


def _sms_unsubscribe(contact: Contact, message: Message | None, now: datetime) -> None:
    activities_record(
        events=[
            ActivityEvent(
                contact_id=contact.pk,
                kind=ActivityKind.UNSUBSCRIBE,
                occurred_at=now,
                channel=Channel.SMS,
                campaign=_campaign_key(message),
                # The content key ignores the channel: it would take this for the e-mail
                # opt-out made at the same instant ("unsubscribe from everything").
                external_id=f"relance:preferences:sms-unsubscribe:{contact.pk}:{now.isoformat()}",
                metadata={"source": "preferences"},
            )
        ]
    )


def _email_resubscribe(contact: Contact, now: datetime) -> bool:
    # Dated, so that an older unsubscribe or bounce reported later cannot undo it (see
    # contacts.services.activity), and conditional, so that a bounce meanwhile wins.
    return bool(
        Contact.objects.filter(pk=contact.pk, email_status__in=EMAIL_CAN_RESUBSCRIBE).update(
            email_status=EmailStatus.SUBSCRIBED,
            email_status_reason=PREFERENCE_REASON,
            email_status_changed_at=now,
            updated_at=now,
        )
    )


def _preferences_record(
    contact: Contact, message: Message | None, change: PreferencesChange, now: datetime
) -> None:
    activities_record(
        events=[
            ActivityEvent(
                contact_id=contact.pk,
                kind=ActivityKind.PREFERENCES,
                occurred_at=now,
                channel=Channel.WEB,
                campaign=_campaign_key(message),
                metadata=change.metadata(message),
            )
        ]
    )


@transaction.atomic
def contact_preferences_update(
    *,
    contact: Contact,
    message: Message | None,
    email: bool,
    sms: bool,
    lists: Iterable[ContactList],
    now: datetime | None = None,
) -> PreferencesChange:
    """Apply what the contact chose on the page; returns what changed (nothing: no record).

    Steps, in one transaction:
    1. lock the contact (two submissions at once make one change);
    2. lists: join the chosen shown lists, leave the other shown ones (lists staff do not
       show are never touched);
    3. e-mail: off unsubscribes (a subscribed contact); on resubscribes an unsubscribed or
       cleaned one; a bounced or complained address is left as it is;
    4. SMS (with a phone number): off unsubscribes a subscribed contact, on resubscribes an
       unsubscribed one; anything else is left as it is;
    5. record a `preferences` activity listing the changes.
    """
    now = now or timezone.now()
    change = PreferencesChange()
    locked = _locked(contact)
    if locked is None:
        return change

    shown = {contact_list.pk: contact_list.name for contact_list in preference_lists()}
    wanted = {contact_list.pk for contact_list in lists if contact_list.pk in shown}
    current = contact_preference_list_ids(locked)
    if leaving := current - wanted:
        ListMembership.objects.filter(contact=locked, contact_list_id__in=leaving).delete()
        change.lists_left = sorted(shown[pk] for pk in leaving)
    if joining := wanted - current:
        ListMembership.objects.bulk_create(
            [
                ListMembership(contact=locked, contact_list_id=pk, subscribed_at=now)
                for pk in sorted(joining)
            ],
            ignore_conflicts=True,
        )
        change.lists_joined = sorted(shown[pk] for pk in joining)

    if not email and locked.email_status == EmailStatus.SUBSCRIBED:
        _email_unsubscribe(locked, message, now)
        change.email_status = (locked.email_status, EmailStatus.UNSUBSCRIBED)
    elif email and locked.email_status in EMAIL_CAN_RESUBSCRIBE and _email_resubscribe(locked, now):
        change.email_status = (locked.email_status, EmailStatus.SUBSCRIBED)

    if locked.phone:
        if not sms and locked.sms_status == SmsStatus.SUBSCRIBED:
            _sms_unsubscribe(locked, message, now)
            change.sms_status = (locked.sms_status, SmsStatus.UNSUBSCRIBED)
        elif sms and locked.sms_status == SmsStatus.UNSUBSCRIBED:
            Contact.objects.filter(pk=locked.pk, sms_status=SmsStatus.UNSUBSCRIBED).update(
                sms_status=SmsStatus.SUBSCRIBED, updated_at=now
            )
            change.sms_status = (locked.sms_status, SmsStatus.SUBSCRIBED)

    if change.changed:
        _preferences_record(locked, message, change, now)
    return change


@transaction.atomic
def contact_unsubscribe_all(
    *, contact: Contact, message: Message | None, now: datetime | None = None
) -> bool:
    """Unsubscribe from e-mail and SMS at once (lists are kept: a later opt-in finds them);
    False when there was nothing left to unsubscribe from."""
    now = now or timezone.now()
    locked = _locked(contact)
    if locked is None:
        return False
    done = False
    if locked.email_status in (EmailStatus.SUBSCRIBED, EmailStatus.CLEANED):
        _email_unsubscribe(locked, message, now)
        done = True
    if locked.phone and locked.sms_status in (SmsStatus.SUBSCRIBED, SmsStatus.CLEANED):
        _sms_unsubscribe(locked, message, now)
        done = True
    return done


def contact_stay_record(
    *, contact_id: int, message: Message | None, now: datetime | None = None
) -> bool:
    """ "Keep me subscribed": record the engagement once per STAY_WINDOW (the natural key is
    the contact and the window), and subscribe again a contact that a list cleaning had
    suppressed for inactivity (the click disproves it). Unsubscribed, bounced and complained
    contacts keep their status. Returns whether the event was new."""
    now = now or timezone.now()
    window = int(now.timestamp() // STAY_WINDOW.total_seconds())
    with transaction.atomic():
        result = activities_record(
            events=[
                ActivityEvent(
                    contact_id=contact_id,
                    kind=ActivityKind.STAY,
                    occurred_at=now,
                    channel=Channel.EMAIL,
                    campaign=_campaign_key(message),
                    external_id=f"relance:stay:{contact_id}:{window}",
                    metadata={"message": message.pk} if message else {},
                )
            ]
        )
        Contact.objects.filter(
            pk=contact_id, email_status=EmailStatus.CLEANED, erased_at__isnull=True
        ).update(
            email_status=EmailStatus.SUBSCRIBED,
            email_status_reason=PREFERENCE_REASON,
            email_status_changed_at=now,
            updated_at=now,
        )
    return bool(result.recorded)
