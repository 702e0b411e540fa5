"""Checks shared by the block kinds' `config_clean` (`handlers_load` imports this module too; it
registers no kind)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class ConfigErrors:
    """Collects the mistakes of one config, raised together."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        self.messages.append(message)

    def raise_any(self) -> None:
        if self.messages:
            raise ValidationError(self.messages)


def integer(
    config: dict,
    name: str,
    errors: ConfigErrors,
    *,
    default: int | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
    label: str = "",
) -> int | None:
    """`config[name]` as an int within bounds (a numeric string is accepted)."""
    label = label or name
    value = config.get(name, default)
    if value is None or value == "":
        if default is None:
            errors.add(_("%(label)s: enter a whole number.") % {"label": label})
        return default
    if isinstance(value, bool):
        value = None
    else:
        try:
            value = int(str(value).strip())
        except ValueError:
            value = None
    if value is None:
        errors.add(_("%(label)s: enter a whole number.") % {"label": label})
        return None
    if minimum is not None and value < minimum:
        errors.add(_("%(label)s: at least %(min)d.") % {"label": label, "min": minimum})
    if maximum is not None and value > maximum:
        errors.add(_("%(label)s: at most %(max)d.") % {"label": label, "max": maximum})
    return value


def text(config: dict, name: str, errors: ConfigErrors, *, label: str = "", max_length=100) -> str:
    label = label or name
    value = config.get(name)
    if not isinstance(value, str) or not value.strip():
        errors.add(_("%(label)s: required.") % {"label": label})
        return ""
    value = value.strip()
    if len(value) > max_length:
        errors.add(
            _("%(label)s: at most %(max)d characters.") % {"label": label, "max": max_length}
        )
    return value


def choice(config: dict, name: str, errors: ConfigErrors, choices, *, default=None, label=""):
    label = label or name
    value = config.get(name, default)
    if value not in choices:
        errors.add(
            _("%(label)s: choose one of %(choices)s.")
            % {"label": label, "choices": ", ".join(str(c) for c in choices)}
        )
    return value
