"""GDPR: export everything Relance holds about a contact, or erase its personal data.

The contact app's own data is read and anonymised here; each higher app adds its part through
`contacts.privacy.privacy_section_register` (segments: memberships; campaigns: messages;
scenarios: enrollments).
"""

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote, quote_plus

from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from contacts.models import (
    Activity,
    Contact,
    EmailStatus,
    EngagementChange,
    ErasedAddress,
    ListMembership,
    SmsStatus,
)
from contacts.privacy import (
    address_digest,
    erased_placeholder_email,
    privacy_jsonable,
    privacy_sections,
)

EXPORT_FORMAT = "relance.contact-export.v1"
ERASED_REASON = "erased"
# What replaces an erased address or number found inside free text (an error, a URL).
REDACTED = "[erased]"
# Activity metadata that only ever holds personal data: dropped on erasure. The rest (message
# id, machine reason, clicked URL, bounce type) is kept for the statistics, with the
# contact's address and number cut out of it.
PERSONAL_METADATA_KEYS = frozenset(
    {"phone", "text", "email", "recipient", "from", "to", "ip", "user_agent"}
)
_BATCH = 2000

CONTACT_EXPORT_FIELDS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "language",
    "time_zone",
    "created_at",
    "updated_at",
    "email_status",
    "email_status_reason",
    "email_status_changed_at",
    "sms_status",
    "loyalty_points",
    "loyalty_points_expire_on",
    "score",
    "engagement_level",
    "attributes",
    "last_targeted_at",
    "last_open_at",
    "last_click_at",
    "last_purchase_at",
    "last_visit_at",
    "erased_at",
)
ACTIVITY_EXPORT_FIELDS = (
    "occurred_at",
    "kind",
    "channel",
    "campaign",
    "amount",
    "is_machine",
    "external_id",
    "metadata",
    "recorded_at",
)


def contact_export(contact: Contact) -> dict[str, Any]:
    """Everything held about `contact`, JSON-ready: its fields, lists, tags, activity log and
    engagement history, then one entry per section registered by the other apps."""
    data: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now(),
        "contact": {
            "id": contact.pk,
            **{name: getattr(contact, name) for name in CONTACT_EXPORT_FIELDS},
            "lead_source": contact.lead_source.name if contact.lead_source_id else "",
        },
        "lists": list(
            ListMembership.objects.filter(contact=contact)
            .order_by("subscribed_at", "pk")
            .values("contact_list__name", "subscribed_at")
        ),
        "tags": list(contact.tags.order_by("name").values_list("name", flat=True)),
        "activities": list(
            Activity.objects.filter(contact=contact)
            .order_by("occurred_at", "pk")
            .values(*ACTIVITY_EXPORT_FIELDS)
            .iterator(_BATCH)
        ),
        "engagement_changes": list(
            EngagementChange.objects.filter(contact=contact)
            .order_by("changed_at", "pk")
            .values("changed_at", "from_level", "to_level", "score_delta")
        ),
    }
    for membership in data["lists"]:
        membership["list"] = membership.pop("contact_list__name")
    for section in privacy_sections():
        data[section.name] = section.export(contact)
    return privacy_jsonable(data)


@transaction.atomic
def contact_erase(
    contact: Contact, *, by_user: AbstractBaseUser | None, now: datetime | None = None
) -> Contact:
    """Erase `contact`'s personal data; returns the anonymised contact. Raises
    `ValidationError` (and changes nothing) when it is gone or already erased.

    Steps, in one transaction:
    1. lock the contact row (an import or a webhook writing it meanwhile waits);
    2. keep the SHA-256 of its e-mail and phone (`ErasedAddress`), which imports and
       sign-ups refuse from then on;
    3. let each registered section erase its part (messages, enrollments...);
    4. strip the activity log of personal payload (phone, SMS text, the address inside URLs
       or bounce reasons), keeping every event for the counts;
    5. leave every list and tag;
    6. anonymise the contact: placeholder address, names, phone, attributes, loyalty points
       blanked; e-mail and SMS unsubscribed with the reason "erased", so nothing ever reaches
       it again; its score, level, source and rollups stay for the statistics;
    7. replace the address in the admin log's object names.
    """
    now = now or timezone.now()
    locked = Contact.objects.select_for_update().filter(pk=contact.pk).first()
    if locked is None:
        raise ValidationError(gettext("This contact no longer exists."), code="gone")
    if locked.erased_at is not None:
        raise ValidationError(
            gettext("This contact's personal data was already erased."), code="erased"
        )
    email, phone = locked.email, locked.phone
    placeholder = erased_placeholder_email(locked.pk)

    ErasedAddress.objects.bulk_create(
        [
            ErasedAddress(
                kind=kind,
                digest=address_digest(value),
                erased_at=now,
                erased_by=by_user,
            )
            for kind, value in (
                (ErasedAddress.Kind.EMAIL, email),
                (ErasedAddress.Kind.PHONE, phone),
            )
            if value
        ],
        ignore_conflicts=True,
    )
    for section in privacy_sections():
        if section.erase is not None:
            section.erase(locked)
    _activities_scrub(locked, secrets=[email, phone])
    ListMembership.objects.filter(contact=locked).delete()
    locked.tags.clear()

    Contact.objects.filter(pk=locked.pk).update(
        email=placeholder,
        phone="",
        first_name="",
        last_name="",
        language="",
        time_zone="",
        attributes={},
        loyalty_points=0,
        loyalty_points_expire_on=None,
        email_status=EmailStatus.UNSUBSCRIBED,
        email_status_reason=ERASED_REASON,
        email_status_changed_at=now,
        sms_status=SmsStatus.UNSUBSCRIBED,
        erased_at=now,
        updated_at=now,
    )
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Contact), object_id=str(locked.pk)
    ).update(object_repr=placeholder)
    locked.refresh_from_db()
    return locked


def text_redactor(secrets: list[str]):
    """A function replacing each of `secrets` (also URL-encoded, any case) in a text with
    REDACTED; None when there is nothing to look for."""
    forms = {
        form
        for secret in secrets
        if secret
        for form in (secret, quote(secret, safe=""), quote_plus(secret))
    }
    if not forms:
        return None
    pattern = re.compile(
        "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True)),
        re.IGNORECASE,
    )
    return lambda text: pattern.sub(REDACTED, text)


def metadata_scrub(value: Any, redact) -> Any:
    """`value` (an activity's metadata) without its personal keys, the contact's address and
    number cut out of every text left."""
    if isinstance(value, dict):
        return {
            key: metadata_scrub(item, redact)
            for key, item in value.items()
            if key not in PERSONAL_METADATA_KEYS
        }
    if isinstance(value, list):
        return [metadata_scrub(item, redact) for item in value]
    if isinstance(value, str) and redact is not None:
        return redact(value)
    return value


def _activities_scrub(contact: Contact, *, secrets: list[str]) -> None:
    """Step 4 of `contact_erase`: one contact's events, read by pages of ids (no cursor left
    open over rows being rewritten) and rewritten in bulk where the metadata changes."""
    redact = text_redactor(secrets)
    events = (
        Activity.objects.filter(contact=contact)
        .exclude(metadata={})
        .only("pk", "metadata")
        .order_by("pk")
    )
    last = 0
    while page := list(events.filter(pk__gt=last)[:_BATCH]):
        last = page[-1].pk
        changed = []
        for activity in page:
            scrubbed = metadata_scrub(activity.metadata, redact)
            if scrubbed != activity.metadata:
                activity.metadata = scrubbed
                changed.append(activity)
        Activity.objects.bulk_update(changed, ["metadata"])
