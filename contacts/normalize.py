"""Turn what people type (and what other tools export) into the values Relance stores.

Each function takes a raw string and returns the stored value, or raises `InvalidValue` with a
message a marketer can act on. The import runs these on every row of million-row files, so the
common cases take a fast path and the slow, thorough libraries are the fallback.
"""

import re
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _


class InvalidValue(ValueError):
    """A value that cannot be stored; the message says why, in the user's language."""


# Covers the e-mail addresses real bases hold; anything else goes to Django's validator.
_SIMPLE_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)


def normalize_email(raw: str) -> str:
    """Trimmed, lower-cased e-mail address; raises InvalidValue when it is not one."""
    email = (raw or "").strip().lower()
    if not email:
        raise InvalidValue(_("missing e-mail address"))
    if len(email) <= 254 and _SIMPLE_EMAIL.fullmatch(email):
        return email
    if len(email) > 254:
        raise InvalidValue(_("invalid e-mail address %(value)r") % {"value": raw.strip()[:80]})
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidValue(
            _("invalid e-mail address %(value)r") % {"value": raw.strip()[:80]}
        ) from None
    return email


_PHONE_SEPARATORS = str.maketrans("", "", " .-()/\u00a0")
_DIGITS = re.compile(r"\+?\d{4,20}")


@lru_cache(maxsize=8)
def _national_prefix(region: str) -> tuple[int, str]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return metadata.country_code, metadata.national_prefix or ""


_NUMBER_TYPES = (
    "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number",
    "voip", "pager", "uan", "voicemail",
)  # fmt: skip


@lru_cache(maxsize=64)
def _valid_patterns(country_code: int) -> tuple[tuple[re.Pattern, frozenset[int]], ...]:
    """The (pattern, possible lengths) of the general description and of each number type.

    phonenumbers' own check (~30 µs a number) goes through generic helpers; matching the same
    patterns directly takes a few microseconds. Only for codes used by one region: shared
    codes (+1, +7, +44...) need the library's region logic, and get an empty tuple.
    """
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    if len(regions) != 1:
        return ()
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(regions[0])
    if metadata is None:
        return ()
    general = metadata.general_desc
    general_lengths = frozenset(general.possible_length or ())
    # First the general description (as phonenumbers checks it first), then each type.
    checks = [(re.compile(general.national_number_pattern), general_lengths)]
    for name in _NUMBER_TYPES:
        desc = getattr(metadata, name)
        if desc is None or not desc.national_number_pattern:
            continue
        lengths = frozenset(desc.possible_length or ()) or general_lengths
        checks.append((re.compile(desc.national_number_pattern), lengths))
    return tuple(checks)


def _is_valid_fast(country_code: int, national: str) -> bool:
    checks = _valid_patterns(country_code)
    if not checks:
        return False
    (general, general_lengths), types = checks[0], checks[1:]
    if len(national) not in general_lengths or not general.fullmatch(national):
        return False
    return any(
        len(national) in lengths and pattern.fullmatch(national) for pattern, lengths in types
    )


def _phone_fast(digits: str, region: str) -> tuple[int, str] | None:
    """(country code, national number) without the slow full parser, when unambiguous."""
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if digits.startswith("+"):
        for length in (1, 2, 3):
            code = int(digits[1 : 1 + length])
            if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                national = digits[1 + length :]
                break
        else:
            return None
    else:
        code, prefix = _national_prefix(region)
        if not prefix or not digits.startswith(prefix):
            return None
        national = digits[len(prefix) :]
    if not national or national.startswith("0"):
        return None
    return code, national


def normalize_phone(raw: str, region: str | None = None) -> str:
    """E.164 phone number ('' for an empty value); raises InvalidValue when it is not one."""
    value = (raw or "").strip()
    if not value:
        return ""
    region = region or settings.RELANCE_PHONE_REGION
    digits = value.translate(_PHONE_SEPARATORS)
    fast = _phone_fast(digits, region) if _DIGITS.fullmatch(digits) else None
    if fast is not None and _is_valid_fast(*fast):
        return f"+{fast[0]}{fast[1]}"
    # Anything else (other separators, extensions, shared country codes, national prefixes
    # to strip) goes through the full parser.
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidValue(_("invalid phone number %(value)r") % {"value": value[:40]})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Day-first dates as French and most European exports write them: 31/12/2024, 31-12-2024,
# 31.12.2024, optionally followed by a time.
_DAY_FIRST = re.compile(
    r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})"
    r"(?:[ T](\d{1,2})[:h](\d{2})(?::(\d{2}))?)?"
)


def _parse_datetime(value: str) -> datetime | date | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    match = _DAY_FIRST.fullmatch(value)
    if match is None:
        return None
    day, month, year, hour, minute, second = match.groups()
    try:
        if hour is None:
            return date(int(year), int(month), int(day))
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))
    except ValueError:
        return None


def parse_datetime_value(raw: str, *, column: str = "") -> datetime | None:
    """Aware datetime from an ISO or day-first string (None for an empty value).

    A date without a time means midnight; a naive time is read in the project's time zone.
    """
    value = (raw or "").strip()
    if not value:
        return None
    parsed = _aware_datetime(value, settings.TIME_ZONE)
    if parsed is None:
        raise InvalidValue(_bad_date_message(value, column))
    return parsed


@lru_cache(maxsize=4096)
def _aware_datetime(value: str, zone_name: str) -> datetime | None:
    # Cached, with the zone looked up once: timezone.make_aware goes through asgiref per call,
    # too slow for every row of a million-row file that repeats the same dates.
    parsed = _parse_datetime(value)
    if parsed is None:
        return None
    if not isinstance(parsed, datetime):
        parsed = datetime.combine(parsed, time())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(zone_name))
    return parsed


def parse_date_value(raw: str, *, column: str = "") -> date | None:
    """Date from an ISO or day-first string (None for an empty value)."""
    value = (raw or "").strip()
    if not value:
        return None
    parsed = _parse_datetime(value)
    if parsed is None:
        raise InvalidValue(_bad_date_message(value, column))
    if isinstance(parsed, datetime):
        if timezone.is_aware(parsed):
            parsed = timezone.localtime(parsed)
        return parsed.date()
    return parsed


def _bad_date_message(value: str, column: str) -> str:
    if column:
        return _("unreadable date %(value)r in column %(column)s") % {
            "value": value[:40],
            "column": column,
        }
    return _("unreadable date %(value)r") % {"value": value[:40]}


def parse_int_value(raw: str, *, column: str = "") -> int | None:
    """Integer (None for an empty value); accepts '1 200' and '1200.0'."""
    value = (raw or "").strip().replace(" ", "").replace("\u00a0", "")
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        number = None
    if number is None or not number.is_integer():
        raise InvalidValue(
            _("not a whole number %(value)r in column %(column)s")
            % {"value": value[:40], "column": column}
        )
    return int(number)
