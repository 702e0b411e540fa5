"""The messages of scenario campaigns: one per (enrollment, send block), written in bulk.

A scenario's send block hands over the contacts standing at it with the origin
"<enrollment id>:<block id>"; the unique (campaign, contact, origin) key makes a retried tick or
a second worker harmless. Delivery is `campaigns.delivery`'s job, as for any campaign.
"""

from datetime import datetime

from django.db import connection

from campaigns.models import Campaign, Message
from campaigns.services import message_token_sql
from contacts.models import Contact, EmailStatus, SmsStatus

# Two parameters a row; well under SQLite's and PostgreSQL's limits on parameters.
CHUNK_SIZE = 5000


def _reachable_sql(channel: str) -> tuple[str, list]:
    """Who may receive the channel: the opposite of suppressed."""
    if channel == Campaign.Channel.SMS:
        return "c.phone <> '' AND c.sms_status = %s", [SmsStatus.SUBSCRIBED]
    return "c.email_status = %s", [EmailStatus.SUBSCRIBED]


def scenario_messages_create(
    *, campaign: Campaign, rows: list[tuple[int, str]], now: datetime
) -> int:
    """Write a pending message of `campaign` for each (contact id, origin) in `rows`, skipping
    the contacts suppressed on the campaign's channel and the (contact, origin) pairs already
    written; returns the number of messages created."""
    if not rows:
        return 0
    message_table = connection.ops.quote_name(Message._meta.db_table)
    contact_table = connection.ops.quote_name(Contact._meta.db_table)
    created_at = Message._meta.get_field("created_at").get_db_prep_value(now, connection)
    token = message_token_sql()
    reachable, reachable_params = _reachable_sql(campaign.channel)
    created = 0
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK_SIZE):
            chunk = rows[start : start + CHUNK_SIZE]
            # VALUES names its columns column1, column2 on both databases.
            values = ", ".join(["(%s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {message_table} (campaign_id, contact_id, sender_profile_id,"
                " is_inactive, status, token, attempts, claimed_at, next_attempt_at, sent_at,"
                " provider_message_id, error, activity_recorded, origin, created_at)"
                f" SELECT %s, c.id, %s, %s, %s, {token}, 0, NULL, NULL, NULL, '', '', %s,"
                f" r.column2, %s FROM (VALUES {values}) r"
                f" JOIN {contact_table} c ON c.id = r.column1 WHERE {reachable}"
                " ON CONFLICT (campaign_id, contact_id, origin) DO NOTHING",
                [
                    campaign.pk,
                    campaign.sender_profile_id,
                    True,
                    Message.Status.PENDING,
                    False,
                    created_at,
                    *(value for row in chunk for value in row),
                    *reachable_params,
                ],
            )
            created += cursor.rowcount
    return created
