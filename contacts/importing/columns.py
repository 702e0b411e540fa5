"""Which column of a file holds which contact field, whatever the exporting tool called it."""

import unicodedata
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

# Canonical field → header spellings seen in real exports (English and French), compared
# after `header_key` (lower case, no accents, letters and digits only).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "email": (
        "email", "mail", "emailaddress", "emailadresse", "adresseemail", "adressemail",
        "adresseelectronique", "courriel", "adressecourriel", "emails",
    ),
    "phone": (
        "phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone", "portable",
        "cellphone", "gsm", "numerodetelephone", "numerotelephone", "telephonemobile",
    ),
    "first_name": ("firstname", "first", "givenname", "prenom"),
    "last_name": ("lastname", "last", "surname", "familyname", "nom", "nomdefamille"),
    "language": ("language", "lang", "langue", "locale"),
    "time_zone": ("timezone", "tz", "fuseauhoraire"),
    "source": ("source", "leadsource", "origine", "provenance", "canaldacquisition"),
    "created_at": (
        "created", "createdat", "createdon", "datecreated", "creationdate", "signupdate",
        "subscribedat", "optindate", "dateinscription", "datedinscription", "inscription",
        "datecreation", "datedecreation", "dateajout", "datedajout",
    ),
    "email_status": ("status", "emailstatus", "statut", "statutemail", "statutdelemail"),
    "sms_status": ("smsstatus", "statutsms", "smsoptin", "consentementsms", "optinsms"),
    "loyalty_points": ("loyaltypoints", "points", "pointsfidelite", "pointsdefidelite"),
    "loyalty_points_expire_on": (
        "pointsexpireon", "pointsexpiry", "pointsexpiration", "pointsexpirationdate",
        "loyaltypointsexpireon", "expirationdespoints", "dateexpirationpoints",
        "dateexpirationdespoints", "pointsexpirent",
    ),
    "score": ("score",),
}  # fmt: skip

_ALIAS_TO_FIELD = {alias: name for name, aliases in HEADER_ALIASES.items() for alias in aliases}

# Columns Relance computes and exports but never takes from a file: re-importing an export must
# not copy them into the custom attributes.
COMPUTED_HEADERS = frozenset(
    {
        "engagementlevel",
        "lasttargetedat",
        "lastopenat",
        "lastclickat",
        "lastpurchaseat",
        "lastvisitat",
        "updatedat",
    }
)


def header_key(header: str) -> str:
    decomposed = unicodedata.normalize("NFKD", header.strip().lower())
    return "".join(ch for ch in decomposed if ch.isalnum() and ch.isascii())


@dataclass
class HeaderMap:
    """Positions of the known fields, and of the extra columns kept as custom attributes."""

    fields: dict[str, int] = field(default_factory=dict)
    extras: dict[str, int] = field(default_factory=dict)
    headers: list[str] = field(default_factory=list)

    def column_name(self, name: str) -> str:
        return self.headers[self.fields[name]]


class HeaderError(ValueError):
    """The header row makes the file unusable (no e-mail column)."""


def map_headers(headers: list[str], *, keep_extras: bool = True) -> HeaderMap:
    """Match each header to a contact field; unknown ones become attributes (or are ignored).

    The first column that maps to a field wins; a later duplicate is kept as an attribute.
    """
    mapping = HeaderMap(headers=[h.strip() for h in headers])
    for position, header in enumerate(mapping.headers):
        key = header_key(header)
        if key in COMPUTED_HEADERS:
            continue
        name = _ALIAS_TO_FIELD.get(key)
        if name and name not in mapping.fields:
            mapping.fields[name] = position
        elif header and keep_extras:
            mapping.extras.setdefault(header, position)
    if "email" not in mapping.fields:
        raise HeaderError(
            _("no e-mail column found in the header (%(headers)s)")
            % {"headers": ", ".join(mapping.headers)[:200]}
        )
    return mapping
