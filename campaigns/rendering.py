"""A campaign's content rendered for one contact, and the size of an SMS.

Content is written in the Django template language, compiled by a dedicated engine that sees
nothing but the contact's fields: no loaders (`{% include %}`, `{% extends %}` are not even
tags here), no tag libraries (`{% load %}` is refused), and none of the built-in tags that reach
outside the context (`{% debug %}` prints the context and the loaded modules, `{% url %}` the
URL configuration). A missing or empty value renders as empty text, never as "None".

The HTML body is auto-escaped (a first name `<b>` stays text); the subject, preheader, text body
and SMS are plain text and are not. Every rendered part is a plain `str`, never a "safe" string,
so whatever displays it (the admin preview) escapes it again.
"""

import functools
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.template import Context, Engine, Library, Template, TemplateSyntaxError
from django.utils.translation import gettext, ngettext

from campaigns.models import Campaign
from contacts.models import Contact

# Built-in tags that read something other than the context, or can blow up a render.
REFUSED_TAGS = frozenset(
    {"block", "csrf_token", "debug", "extends", "include", "load", "lorem", "url"}
)
# Content fields, and whether they are HTML (auto-escaped).
CONTENT_FIELDS = {
    "subject": False,
    "preheader": False,
    "html_body": True,
    "text_body": False,
    "sms_text": False,
}


def _engine() -> Engine:
    engine = Engine(loaders=[], libraries={}, string_if_invalid="")
    allowed = Library()
    for library in engine.template_builtins:
        allowed.filters.update(library.filters)
        allowed.tags.update(
            (name, tag) for name, tag in library.tags.items() if name not in REFUSED_TAGS
        )
    engine.template_builtins = [allowed]
    return engine


# Escaping is the render context's: on for HTML, off for text (see `_render`).
ENGINE = _engine()


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    preheader: str
    html: str
    text: str
    sms: str


class SmsSize(NamedTuple):
    # Billed units: GSM-7 septets (an extension character counts twice) or UTF-16 code units.
    characters: int
    segments: int
    encoding: str


@functools.lru_cache(maxsize=256)
def template_compile(source: str) -> Template:
    """Compile `source`; a syntax error or a refused tag becomes a `ValidationError`.

    Cached by source: a campaign's templates are compiled once, not once per recipient
    (a compiled template renders any number of contexts). Errors are not cached."""
    try:
        return ENGINE.from_string(source)
    except TemplateSyntaxError as error:
        raise ValidationError(
            gettext("Template error: %(error)s") % {"error": error}, code="template"
        ) from error


def _blank_none(value: Any) -> Any:
    """None becomes "" (also inside custom attributes), so nothing renders as "None"."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return {str(key): _blank_none(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_blank_none(item) for item in value]
    return value


def contact_context(contact: Contact) -> dict[str, Any]:
    """The values a template sees: plain data, never the model instance itself."""
    lead_source = contact.lead_source.name if contact.lead_source_id else ""
    attributes = contact.attributes if isinstance(contact.attributes, dict) else {}
    return _blank_none(
        {
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "full_name": contact.full_name,
            "email": contact.email,
            "phone": contact.phone,
            "loyalty_points": contact.loyalty_points,
            "loyalty_points_expire_on": contact.loyalty_points_expire_on,
            "score": contact.score,
            "lead_source": lead_source,
            "attributes": attributes,
        }
    )


def _render(source: str, *, html: bool, context: dict[str, Any]) -> str:
    if not source:
        return ""
    try:
        rendered = template_compile(source).render(Context(context, autoescape=html))
    except ValidationError:
        raise
    except Exception as error:  # A filter given a bad argument, say: report, don't crash.
        raise ValidationError(
            gettext("Template error: %(error)s") % {"error": error}, code="template"
        ) from error
    # The engine marks its output safe; hand back a plain string that displays escape again.
    return str.__str__(rendered)


def campaign_render(
    *, campaign: Campaign, contact: Contact, unsubscribe_url: str = "#"
) -> RenderedMessage:
    """Render every content field of `campaign` for `contact`.

    `{{ unsubscribe_url }}` is the message's own unsubscribe page when sending, "#" in previews.
    Raises a `ValidationError` keyed by field name when a template cannot be compiled or
    rendered (the campaign form reports the same errors on save).
    """
    context = contact_context(contact) | {"unsubscribe_url": unsubscribe_url}
    parts: dict[str, str] = {}
    errors: dict[str, ValidationError] = {}
    for name, html in CONTENT_FIELDS.items():
        try:
            parts[name] = _render(getattr(campaign, name), html=html, context=context)
        except ValidationError as error:
            errors[name] = error
    if errors:
        raise ValidationError(errors)
    return RenderedMessage(
        subject=" ".join(parts["subject"].split()),
        preheader=" ".join(parts["preheader"].split()),
        html=parts["html_body"],
        text=parts["text_body"],
        sms=parts["sms_text"],
    )


def sample_contact() -> Contact:
    """A made-up, unsaved contact: to try templates when saving, or to preview with no one."""
    return Contact(
        email="camille.martin@example.com",
        phone="+33612345678",
        first_name="Camille",
        last_name="Martin",
        loyalty_points=1200,
        loyalty_points_expire_on=date(2030, 1, 31),
        score=42,
        attributes={},
    )


def template_check(source: str, *, html: bool) -> None:
    """Compile `source` and render it for the sample contact: raises `ValidationError`."""
    _render(source, html=html, context=contact_context(sample_contact()))


# GSM 03.38: the basic character set (one septet each) and its extension table (two septets:
# an escape, then the character). Anything else switches the whole message to UCS-2.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
GSM7 = "GSM-7"
UCS2 = "UCS-2"
# Units in one message alone, and in each part of a concatenated one (the rest is its header).
SINGLE_LIMIT = {GSM7: 160, UCS2: 70}
PART_LIMIT = {GSM7: 153, UCS2: 67}


def _gsm7_units(char: str) -> int | None:
    if char in GSM7_BASIC:
        return 1
    if char in GSM7_EXTENSION:
        return 2
    return None


def sms_segments(text: str) -> SmsSize:
    """How long `text` is as an SMS, in how many parts, and in which encoding.

    GSM-7 when every character is in the GSM 03.38 tables: 160 septets in one message, 153 per
    part beyond. UCS-2 otherwise: 70 code units, 67 per part (an emoji takes two). A character
    (an escape pair, a surrogate pair) is never split between two parts.
    """
    gsm = [_gsm7_units(char) for char in text]
    if all(units is not None for units in gsm):
        encoding, sizes = GSM7, gsm
    else:
        encoding, sizes = UCS2, [2 if ord(char) > 0xFFFF else 1 for char in text]
    total = sum(sizes)
    if total == 0:
        return SmsSize(0, 0, encoding)
    if total <= SINGLE_LIMIT[encoding]:
        return SmsSize(total, 1, encoding)
    part_limit = PART_LIMIT[encoding]
    segments, used = 1, 0
    for size in sizes:
        if used + size > part_limit:
            segments, used = segments + 1, 0
        used += size
    return SmsSize(total, segments, encoding)


def sms_size_display(text: str) -> str:
    size = sms_segments(text)
    return (
        ngettext(
            "%(characters)d characters, %(segments)d SMS (%(encoding)s)",
            "%(characters)d characters, %(segments)d SMS (%(encoding)s)",
            size.segments,
        )
        % size._asdict()
    )
