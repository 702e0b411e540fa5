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

import dataclasses
import functools
import html as html_lib
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template import Context, Engine, Library, Template, TemplateSyntaxError
from django.utils import translation
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
    *,
    campaign: Campaign,
    contact: Contact,
    unsubscribe_url: str = "#",
    preferences_url: str = "#",
) -> RenderedMessage:
    """Render every content field of `campaign` for `contact`.

    `{{ unsubscribe_url }}` and `{{ preferences_url }}` are the message's own unsubscribe and
    preference pages when sending, "#" in previews. Raises a `ValidationError` keyed by field
    name when a template cannot be compiled or rendered (the campaign form reports the same
    errors on save).
    """
    context = contact_context(contact) | {
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": preferences_url,
    }
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


def contact_language_code(language: str) -> str | None:
    """The contact's language when Relance speaks it ("fr", "fr-FR", "EN"... → "fr"), else
    None."""
    code = (language or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code and code in dict(settings.LANGUAGES) else None


# The footer, in a discreet grey; the URLs are filled in per message where the markers are.
_FOOTER_LINK = '<a href="{url}" style="color:#6b7280">{label}</a>'
_FOOTER_HTML = (
    '<p style="margin:24px 0 0;font-size:12px;line-height:1.5;color:#6b7280;'
    'text-align:center">{links}</p>'
)
_MARKERS = {"preferences_url": "\x00preferences\x00", "unsubscribe_url": "\x00unsubscribe\x00"}
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


@functools.lru_cache(maxsize=16)
def _footer_parts(language: str, links: tuple[str, ...]) -> tuple[str, str]:
    """The HTML and text footers holding `links` ("preferences_url", "unsubscribe_url") in
    `language`, URLs marked: built once per language, not per message."""
    with translation.override(language):
        labels = {
            "preferences_url": gettext("Manage your preferences"),
            "unsubscribe_url": gettext("Unsubscribe"),
        }
    html = _FOOTER_HTML.format(
        links=" &middot; ".join(
            _FOOTER_LINK.format(url=_MARKERS[name], label=html_lib.escape(labels[name]))
            for name in links
        )
    )
    text = "\n\n-- \n" + "\n".join(f"{labels[name]}: {_MARKERS[name]}" for name in links) + "\n"
    return html, text


def _missing_links(source: str) -> tuple[str, ...]:
    return tuple(name for name in _MARKERS if name not in source)


def email_footer_needed(campaign: Campaign) -> bool:
    """Whether delivery adds the footer to one of the campaign's bodies (its template lacks
    the preference or the unsubscribe link): the preview says so."""
    return any(body and _missing_links(body) for body in (campaign.html_body, campaign.text_body))


def _footer_fill(footer: str, urls: dict[str, str]) -> str:
    for name, marker in _MARKERS.items():
        footer = footer.replace(marker, urls[name])
    return footer


def email_footer_add(
    rendered: RenderedMessage,
    *,
    campaign: Campaign,
    preferences_url: str,
    unsubscribe_url: str,
    language: str = "",
) -> RenderedMessage:
    """`rendered` with a small footer linking to the preference and unsubscribe pages in each
    body whose template does not place those links itself, so that every e-mail carries
    them. In the contact's language when Relance speaks it, else the default one. An empty
    body stays empty (the text part is then made from the HTML)."""
    language = contact_language_code(language) or settings.LANGUAGE_CODE
    urls = {"preferences_url": preferences_url, "unsubscribe_url": unsubscribe_url}
    html, text = rendered.html, rendered.text
    if html and (links := _missing_links(campaign.html_body)):
        footer = _footer_parts(language, links)[0]
        footer = _footer_fill(footer, {name: html_lib.escape(url) for name, url in urls.items()})
        # Before the last </body>: one in a comment or a quoted example comes before it.
        ends = list(_BODY_END.finditer(html)) if "</" in html else []
        at = ends[-1].start() if ends else len(html)
        html = f"{html[:at]}{footer}{html[at:]}"
    if text and (links := _missing_links(campaign.text_body)):
        text += _footer_fill(_footer_parts(language, links)[1], urls)
    if html is rendered.html and text is rendered.text:
        return rendered
    return dataclasses.replace(rendered, html=html, text=text)


def email_render(
    *, campaign: Campaign, contact: Contact, unsubscribe_url: str = "#", preferences_url: str = "#"
) -> RenderedMessage:
    """The e-mail as the contact receives it: the campaign rendered, then the footer with the
    preference and unsubscribe links its template lacks. Delivery sends it with the message's
    URLs; the admin preview and test sends show it with "#" for them."""
    rendered = campaign_render(
        campaign=campaign,
        contact=contact,
        unsubscribe_url=unsubscribe_url,
        preferences_url=preferences_url,
    )
    return email_footer_add(
        rendered,
        campaign=campaign,
        preferences_url=preferences_url,
        unsubscribe_url=unsubscribe_url,
        language=contact.language,
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
