"""Normalising typed values: the fast paths must agree with the reference libraries."""

import random
from datetime import date, datetime
from zoneinfo import ZoneInfo

import phonenumbers
import pytest

from contacts.normalize import (
    InvalidValue,
    normalize_email,
    normalize_phone,
    parse_date_value,
    parse_datetime_value,
    parse_int_value,
)


def reference_phone(raw: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, "FR")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def test_phone_fast_path_agrees_with_phonenumbers_on_random_numbers():
    rng = random.Random(20261122)
    samples = []
    for i in range(6000):
        if i % 3 == 0:
            samples.append("0" + str(rng.randint(100_000_000, 999_999_999)))
        elif i % 3 == 1:
            samples.append("+" + str(rng.randint(10**6, 10**14)))
        else:
            samples.append("00" + str(rng.randint(10**8, 10**13)))
    for raw in samples:
        try:
            ours = normalize_phone(raw, "FR")
        except InvalidValue:
            ours = None
        assert ours == reference_phone(raw), raw


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("06.12.34.56.78", "+33612345678"),
        ("+33 (0)6 12 34 56 78", "+33612345678"),
        ("0033612345678", "+33612345678"),
        ("+1 650-253-0000", "+16502530000"),
        ("+44 20 7946 0958", "+442079460958"),
        ("", ""),
    ],
)
def test_phone_is_stored_in_e164(raw, expected):
    assert normalize_phone(raw, "FR") == expected


@pytest.mark.parametrize("raw", ["12", "06 12", "not a phone", "+999 123456789"])
def test_phone_is_rejected_when_invalid(raw):
    with pytest.raises(InvalidValue, match="invalid phone number"):
        normalize_phone(raw, "FR")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Jean.Dupont@Example.COM ", "jean.dupont@example.com"),
        ("o'brien+news@mail.example.ie", "o'brien+news@mail.example.ie"),
        ("user@bücher.example", "user@bücher.example"),
    ],
)
def test_email_is_trimmed_and_lower_cased(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "   ", "a@", "@b.fr", "a b@c.fr", "a@b", "a@@b.fr", "x" * 250 + "@b.fr"]
)
def test_email_is_rejected_when_invalid(raw):
    with pytest.raises(InvalidValue):
        normalize_email(raw)


def test_dates_are_read_in_iso_and_day_first_forms():
    paris = ZoneInfo("Europe/Paris")
    assert parse_datetime_value("31/12/2024") == datetime(2024, 12, 31, tzinfo=paris)
    assert parse_datetime_value("31.12.2024 08h15") == datetime(2024, 12, 31, 8, 15, tzinfo=paris)
    assert parse_datetime_value("2024-12-31T08:15:00Z") == datetime(
        2024, 12, 31, 8, 15, tzinfo=ZoneInfo("UTC")
    )
    assert parse_date_value("2024-12-31T23:30:00+00:00") == date(2025, 1, 1)
    assert parse_datetime_value("") is None


@pytest.mark.parametrize("raw", ["31/02/2024", "2024-13-01", "yesterday", "12/2024"])
def test_dates_are_rejected_naming_the_column(raw):
    with pytest.raises(InvalidValue, match="in column Inscription"):
        parse_datetime_value(raw, column="Inscription")


def test_integers_accept_spaces_and_whole_decimals_only():
    assert parse_int_value("1 200") == 1200
    assert parse_int_value("15.0") == 15
    with pytest.raises(InvalidValue):
        parse_int_value("12.5", column="points")
