"""Changes to campaigns: writing a campaign's messages from its audience."""

from datetime import datetime, timedelta

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from campaigns.audience import Audience
from campaigns.models import Campaign, Message


@transaction.atomic
def campaign_messages_create(*, campaign: Campaign, audience: Audience) -> int:
    """Write one pending `Message` per recipient of `audience`; return how many were created.

    Steps:
    1. lock the campaign row, so that two workers preparing it run one after the other;
    2. insert the active recipients who have no message yet (INSERT ... SELECT, through the
       campaign's sender profile);
    3. insert the dilution's inactive recipients, up to the limit minus the inactive messages
       already written (a second call never goes over it, even if the rotation moved), through
       the reactivation profile when the campaign has one;
    4. store the counts on the campaign (recipients from the messages actually written).

    Idempotent: existing messages are skipped (NOT EXISTS), and the unique constraint on
    (campaign, contact) has the last word (ON CONFLICT DO NOTHING).
    """
    Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
    now = timezone.now()
    not_written = ~Q(
        Exists(Message.objects.filter(campaign_id=campaign.pk, contact_id=OuterRef("pk")))
    )
    created = _messages_insert(
        campaign=campaign,
        contacts=audience.active_contacts.filter(not_written),
        sender_profile_id=campaign.sender_profile_id,
        is_inactive=False,
        now=now,
    )
    already_inactive = Message.objects.filter(campaign_id=campaign.pk, is_inactive=True).count()
    remaining = audience.inactive_included - already_inactive
    if remaining > 0:
        created += _messages_insert(
            campaign=campaign,
            contacts=audience.inactive_candidate_contacts.filter(not_written)[:remaining],
            sender_profile_id=campaign.reactivation_profile_id or campaign.sender_profile_id,
            is_inactive=True,
            now=now,
        )

    written = Message.objects.filter(campaign_id=campaign.pk).aggregate(
        recipients=Count("pk"), inactive=Count("pk", filter=Q(is_inactive=True))
    )
    fields = {
        "recipients_count": written["recipients"],
        "active_count": written["recipients"] - written["inactive"],
        "inactive_count": written["inactive"],
        "suppressed_count": audience.suppressed,
        "capped_count": audience.capped,
    }
    Campaign.objects.filter(pk=campaign.pk).update(**fields)
    for name, value in fields.items():
        setattr(campaign, name, value)
    return created


def message_token_sql() -> str:
    """SQL that makes a message's token in the database, for set-based inserts: unguessable
    and unique, 32 hex digits (122 or 128 random bits). Rows made by the ORM get
    `models.message_token` instead; both fit the column and the tracking links."""
    if connection.vendor == "postgresql":
        return "replace(gen_random_uuid()::text, '-', '')"
    return "lower(hex(randomblob(16)))"


def _messages_insert(
    *,
    campaign: Campaign,
    contacts: QuerySet,
    sender_profile_id: int | None,
    is_inactive: bool,
    now,
) -> int:
    """One INSERT ... SELECT of a pending message for each of `contacts`."""
    recipients = contacts.values(recipient_id=F("pk"))
    try:
        select_sql, params = recipients.query.sql_with_params()
    except EmptyResultSet:
        return 0
    table = connection.ops.quote_name(Message._meta.db_table)
    created_at = Message._meta.get_field("created_at").get_db_prep_value(now, connection)
    token = message_token_sql()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (campaign_id, contact_id, sender_profile_id, is_inactive,"
            " status, token, attempts, claimed_at, next_attempt_at, sent_at,"
            " provider_message_id, error, activity_recorded, origin, created_at)"
            f" SELECT %s, recipient.recipient_id, %s, %s, %s, {token}, 0, NULL, NULL, NULL,"
            f" '', '', %s, '', %s FROM ({select_sql}) recipient WHERE true"
            " ON CONFLICT (campaign_id, contact_id, origin) DO NOTHING",
            [
                campaign.pk,
                sender_profile_id,
                is_inactive,
                Message.Status.PENDING,
                False,
                created_at,
                *params,
            ],
        )
        return cursor.rowcount


# The life of a campaign: draft -> scheduled -> sending -> sent, with pause, resume and cancel.
# Each move is a conditional UPDATE from the statuses it allows, so two clicks (or a worker
# finishing at the same moment) cannot both win. The caller queues the delivery task.


# A delivery worker renews its campaign's lease after each batch; the dispatcher sends another
# worker to a sending campaign only once the lease has passed (see campaigns.delivery).
CAMPAIGN_LEASE = timedelta(minutes=5)


class CampaignStateError(Exception):
    """The campaign is not in a status that allows this; `str()` says why, for staff."""


def campaign_ready_problems(campaign: Campaign) -> list[str]:
    """Why the campaign cannot be sent as it stands (empty when it can)."""
    from campaigns.rendering import campaign_render, sample_contact

    problems = []
    if campaign.channel == Campaign.Channel.EMAIL:
        if campaign.sender_profile_id is None:
            problems.append(gettext("Choose a sender profile."))
        if not campaign.subject.strip():
            problems.append(gettext("Write a subject."))
        if not (campaign.html_body.strip() or campaign.text_body.strip()):
            problems.append(gettext("Write an HTML or a text body."))
    elif not campaign.sms_text.strip():
        problems.append(gettext("Write the SMS text."))
    # A scenario campaign goes to the contacts its scenario enrols: it has no targets.
    if campaign.kind != Campaign.Kind.SCENARIO and not (
        campaign.target_lists.exists() or campaign.target_segments.exists()
    ):
        problems.append(gettext("Choose at least one target list or segment."))
    try:
        campaign_render(campaign=campaign, contact=sample_contact())
    except ValidationError as error:
        problems.extend(message for messages in error.message_dict.values() for message in messages)
    return problems


def _move(campaign: Campaign, *, allowed: list[str], error: str, **changes) -> Campaign:
    moved = Campaign.objects.filter(pk=campaign.pk, status__in=allowed).update(**changes)
    if not moved:
        campaign.refresh_from_db(fields=["status"])
        raise CampaignStateError(error % {"status": campaign.get_status_display()})
    campaign.refresh_from_db()
    return campaign


def campaign_schedule(*, campaign: Campaign, at: datetime | None = None) -> Campaign:
    """Send the draft at `at` (now when None): the dispatcher starts it when the time comes.
    Raises `CampaignStateError` if it is not a draft, `ValidationError` if it is not ready."""
    problems = campaign_ready_problems(campaign)
    if problems:
        raise ValidationError(problems)
    now = timezone.now()
    at = at or now
    if at <= now:
        return _move(
            campaign,
            allowed=[Campaign.Status.DRAFT, Campaign.Status.SCHEDULED],
            error=gettext("Only a draft or a scheduled campaign can be sent (it is %(status)s)."),
            status=Campaign.Status.SENDING,
            scheduled_at=now,
            started_at=now,
            delivery_lease_until=now + CAMPAIGN_LEASE,
        )
    return _move(
        campaign,
        allowed=[Campaign.Status.DRAFT, Campaign.Status.SCHEDULED],
        error=gettext("Only a draft or a scheduled campaign can be scheduled (it is %(status)s)."),
        status=Campaign.Status.SCHEDULED,
        scheduled_at=at,
    )


def campaign_pause(*, campaign: Campaign) -> Campaign:
    """Stop sending after the batch in hand; nothing already claimed is lost."""
    return _move(
        campaign,
        allowed=[Campaign.Status.SCHEDULED, Campaign.Status.SENDING],
        error=gettext("Only a scheduled or sending campaign can be paused (it is %(status)s)."),
        status=Campaign.Status.PAUSED,
        delivery_lease_until=None,
    )


def campaign_resume(*, campaign: Campaign) -> Campaign:
    """Continue where it stopped (a campaign paused before its time goes back to waiting)."""
    if (
        campaign.started_at is None
        and campaign.scheduled_at
        and campaign.scheduled_at > timezone.now()
    ):
        status = Campaign.Status.SCHEDULED
    else:
        status = Campaign.Status.SENDING
    now = timezone.now()
    return _move(
        campaign,
        allowed=[Campaign.Status.PAUSED],
        error=gettext("Only a paused campaign can be resumed (it is %(status)s)."),
        status=status,
        started_at=campaign.started_at or (now if status == Campaign.Status.SENDING else None),
        delivery_lease_until=now + CAMPAIGN_LEASE if status == Campaign.Status.SENDING else None,
    )


def campaign_cancel(*, campaign: Campaign) -> Campaign:
    """Stop for good: messages not sent yet never will be."""
    return _move(
        campaign,
        allowed=[
            Campaign.Status.DRAFT,
            Campaign.Status.SCHEDULED,
            Campaign.Status.SENDING,
            Campaign.Status.PAUSED,
        ],
        error=gettext("A %(status)s campaign cannot be cancelled."),
        status=Campaign.Status.CANCELLED,
        finished_at=timezone.now(),
        delivery_lease_until=None,
    )
