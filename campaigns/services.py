"""Changes to campaigns: writing a campaign's messages from its audience."""

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

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
    # Unguessable, unique tokens made by the database (32 hex digits, 122 or 128 random bits).
    if connection.vendor == "postgresql":
        token = "replace(gen_random_uuid()::text, '-', '')"
    else:
        token = "lower(hex(randomblob(16)))"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (campaign_id, contact_id, sender_profile_id, is_inactive,"
            " status, token, attempts, claimed_at, next_attempt_at, sent_at,"
            " provider_message_id, error, created_at)"
            f" SELECT %s, recipient.recipient_id, %s, %s, %s, {token}, 0, NULL, NULL, NULL,"
            f" '', '', %s FROM ({select_sql}) recipient WHERE true"
            " ON CONFLICT (campaign_id, contact_id) DO NOTHING",
            [
                campaign.pk,
                sender_profile_id,
                is_inactive,
                Message.Status.PENDING,
                created_at,
                *params,
            ],
        )
        return cursor.rowcount
