"""GDPR: what Relance holds about one contact, exported or erased, and the addresses erased.

Each app above contacts registers its own part (messages, enrollments, consent records...) from
its AppConfig.ready, so this module never imports a higher app. The export and the erasure
themselves are `contacts.services.privacy`.

An erased contact's e-mail address and phone number are kept only as SHA-256 digests
(`ErasedAddress`): enough to refuse them when an import or a sign-up brings them back, without
holding the address itself. `address_is_erased` is the check for other apps (sign-ups).
"""

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext

from contacts.models import ErasedAddress

# The domain of the placeholder address an erased contact gets: `.invalid` is reserved
# (RFC 2606), so nothing can ever be delivered there.
ERASED_EMAIL_DOMAIN = "erased.invalid"


@dataclass(frozen=True)
class PrivacySection:
    """One app's part of a contact's data.

    `export(contact)` returns JSON-serialisable data (dates as ISO strings, see
    `privacy_jsonable`); `erase(contact)` removes or anonymises the personal data of that
    part, keeping rows that aggregate statistics count (it runs inside the erasure's
    transaction, before the contact's own fields are anonymised, so it can still read them)."""

    name: str
    export: Callable[[Any], Any]
    erase: Callable[[Any], None] | None = None


_SECTIONS: dict[str, PrivacySection] = {}


def privacy_section_register(
    name: str, *, export: Callable[[Any], Any], erase: Callable[[Any], None] | None = None
) -> None:
    """Registers (or replaces, so a reloaded app does not register twice) a section."""
    _SECTIONS[name] = PrivacySection(name=name, export=export, erase=erase)


def privacy_sections() -> list[PrivacySection]:
    return list(_SECTIONS.values())


def privacy_jsonable(value: Any) -> Any:
    """`value` with dates and times as ISO strings, decimals and UUIDs as strings (in dicts,
    lists and tuples too): what a section's export returns."""
    if isinstance(value, dict):
        return {str(key): privacy_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [privacy_jsonable(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return value


# --- Erased addresses ------------------------------------------------------------------------


def address_digest(value: str) -> str:
    """The hex SHA-256 stored for an address (an e-mail already trimmed and lower-cased, or an
    E.164 phone number)."""
    return hashlib.sha256(value.encode()).hexdigest()


def erased_placeholder_email(contact_id: int) -> str:
    """The unique, undeliverable address an erased contact keeps (the column is unique)."""
    return f"erased-{contact_id}@{ERASED_EMAIL_DOMAIN}"


def is_placeholder_email(email: str) -> bool:
    return email.strip().lower().endswith("@" + ERASED_EMAIL_DOMAIN)


def address_is_erased(email: str) -> bool:
    """True when `email` (any case, surrounding spaces) belonged to a contact whose data was
    erased, or is an erased contact's placeholder: such an address must not be added or
    subscribed again without a deliberate decision. For sign-ups and other apps."""
    email = (email or "").strip().lower()
    if not email:
        return False
    if is_placeholder_email(email):
        return True
    return ErasedAddress.objects.filter(
        kind=ErasedAddress.Kind.EMAIL, digest=address_digest(email)
    ).exists()


def phone_is_erased(phone: str) -> bool:
    """True when `phone` (E.164, as stored) belonged to a contact whose data was erased."""
    if not phone:
        return False
    return ErasedAddress.objects.filter(
        kind=ErasedAddress.Kind.PHONE, digest=address_digest(phone)
    ).exists()


@dataclass(frozen=True)
class ErasedAddresses:
    """Every erased digest, loaded once for an import (raw 32-byte digests: a set look-up per
    row, ~0.3 µs to hash an address). Picklable: the import's validating process gets it."""

    emails: frozenset[bytes]
    phones: frozenset[bytes]

    def refusal(self, email: str, phone: str | None) -> str:
        """Why a row with these (normalised) values must be rejected, or ""."""
        if email.endswith("@" + ERASED_EMAIL_DOMAIN) or (
            self.emails and hashlib.sha256(email.encode()).digest() in self.emails
        ):
            return gettext("address erased under GDPR")
        if phone and self.phones and hashlib.sha256(phone.encode()).digest() in self.phones:
            return gettext("phone number erased under GDPR")
        return ""


def erased_addresses_load() -> ErasedAddresses:
    """The erased digests, for checking the rows of a file (see `ErasedAddresses.refusal`)."""
    emails: set[bytes] = set()
    phones: set[bytes] = set()
    for kind, digest in ErasedAddress.objects.values_list("kind", "digest").iterator(5000):
        (emails if kind == ErasedAddress.Kind.EMAIL else phones).add(bytes.fromhex(digest))
    return ErasedAddresses(emails=frozenset(emails), phones=frozenset(phones))
