"""Each block kind checks its settings and says what is wrong, in words staff understand."""

import pytest
from django.core.exceptions import ValidationError

from scenarios.blocks import REGISTRY

pytestmark = pytest.mark.django_db

KINDS = {
    "entry",
    "split",
    "send_email",
    "send_sms",
    "wait",
    "wait_until",
    "wait_for_click",
    "condition",
    "generic_channel",
    "tag",
    "score",
    "unsubscribe",
    "end",
}


def errors(kind: str, config: dict) -> str:
    with pytest.raises(ValidationError) as raised:
        REGISTRY[kind].config_clean(config)
    return " ".join(raised.value.messages)


def test_every_kind_is_registered_with_a_label():
    assert set(REGISTRY) == KINDS
    assert all(str(handler.label) for handler in REGISTRY.values())
    assert {k for k, h in REGISTRY.items() if h.waits} == {"wait", "wait_until", "wait_for_click"}
    assert {k for k, h in REGISTRY.items() if h.ends} == {"end"}
    assert {k: h.sends for k, h in REGISTRY.items() if h.sends} == {
        "send_email": "email",
        "send_sms": "sms",
    }


@pytest.mark.parametrize(
    ("kind", "config", "message"),
    [
        ("entry", {"segment": "x"}, "segment: enter a whole number"),
        ("entry", {"segment": 3, "reentry": "sometimes"}, "re-entry: choose one of never"),
        ("entry", {"segment": 3, "reentry": "after_days", "reentry_days": 0}, "at least 1 day"),
        ("split", {"weights": {"a": 50}}, "at least two branches"),
        ("split", {"weights": {"a": -1, "b": 5}}, "weight of a: at least 0"),
        ("split", {"weights": {"a": 0, "b": 0}}, "weight above 0"),
        ("split", {"weights": {"a": 1, "b": 1}, "control_percent": 100}, "below 100"),
        ("wait", {}, "Give the wait a duration"),
        ("wait", {"days": "two"}, "days: enter a whole number"),
        ("wait_until", {"start": "25:00", "end": "12:00"}, "from: a time such as 10:00"),
        ("wait_until", {"start": "12:00", "end": "10:00"}, "end after it starts"),
        ("wait_until", {"weekdays": [7]}, "weekdays: choose at least one day"),
        ("wait_for_click", {"timeout_days": 14}, "either in an earlier send block"),
        ("wait_for_click", {"url": "shop.example"}, "starting with https://"),
        ("wait_for_click", {"block": "mail", "timeout_days": 0}, "timeout (days): at least 1"),
        ("condition", {"rule": "score > 3"}, "group of conditions"),
        ("generic_channel", {"channel": " "}, "channel: required"),
        ("tag", {"tag": "vip", "action": "toggle"}, "action: choose one of add, remove"),
        ("score", {"delta": 0}, "change of 0"),
        ("unsubscribe", {"channel": "fax"}, "channel: choose one of email, sms"),
        ("end", {}, "outcome: required"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(kind, config, message):
    assert message in errors(kind, config)


def test_good_settings_come_back_canonical():
    assert REGISTRY["split"].config_clean({"weights": {"a": "70", "b": 30}}) == {
        "weights": {"a": 70, "b": 30},
        "control_percent": 0,
    }
    assert REGISTRY["wait_until"].config_clean({"start": "9:30", "end": "11:00"}) == {
        "start": "09:30",
        "end": "11:00",
        "weekdays": [0, 1, 2, 3, 4],
    }
    assert REGISTRY["wait_for_click"].config_clean({"block": "mail"}) == {
        "block": "mail",
        "timeout_days": 14,
    }
    assert REGISTRY["unsubscribe"].config_clean({"channel": "email"}) == {
        "channel": "email",
        "reason": "inactivity",
    }


def test_branches_and_references():
    split = REGISTRY["split"]
    assert split.branches_for({"weights": {"a": 1, "b": 1}, "control_percent": 10}) == (
        "a",
        "b",
        "control",
    )
    assert split.branches_for({"weights": {"a": 1, "b": 1}, "control_percent": 0}) == ("a", "b")
    assert REGISTRY["wait_for_click"].branches_for({}) == ("clicked", "timeout")
    assert REGISTRY["condition"].branches_for({}) == ("yes", "no")
    assert REGISTRY["end"].branches_for({}) == ()
    assert REGISTRY["entry"].references({"segment": 4}) == {"segments": [4]}
    assert REGISTRY["wait_for_click"].references({"block": "mail"}) == {"blocks": ["mail"]}
    assert REGISTRY["tag"].references({"tag": "vip"}) == {"tags": ["vip"]}
