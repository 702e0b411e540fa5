"""Message tracking: signed links for opens, clicks and unsubscribes, and what a hit records.

Every link carries the message's random `token`, signed with `django.core.signing` under a salt
per purpose (an open token is no click or unsubscribe token), with "." as the separator so that
the same form fits a URL path and the local part of an e-mail address:

    open          TOKEN.SIGNATURE                    /t/o/<signed>.gif
    click         TOKEN.BASE64(URL).SIGNATURE        /t/c/<signed>/
    unsubscribe   TOKEN.SIGNATURE                    /u/<signed>/, unsubscribe+<signed>@domain
    preferences   CONTACT[.TOKEN].TIME.SIGNATURE     /p/<signed>/

The preference link names the contact (and the message it came with, if any) and carries the
time it was signed (`TimestampSigner`'s form): it expires after RELANCE_PREFERENCES_TOKEN_DAYS
(60), while the unsubscribe link, which the law wants working, never does.

A click link thus names one URL for one message: only links we signed while writing that
message redirect anywhere, and a forged or altered token resolves to nothing. The click payload
is signed as it is rather than through `sign_object(compress=True)`: JSON plus zlib cost ~40 µs
a link here, and a 100,000-recipient campaign signs every link of every message.

Machine events (privacy proxies and security scanners fetching what no person opened) are
recorded with `is_machine=True`, which the contact rollups ignore. The rules are the plain
`*_machine_reason` functions below; each returns why an event is a machine's ("" if human).
"""

import functools
import hashlib
import hmac
import html as html_lib
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.signing import (
    BadSignature,
    SignatureExpired,
    Signer,
    TimestampSigner,
    b62_encode,
    b64_decode,
    b64_encode,
)
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, Message
from campaigns.outcomes import message_outcome_mark
from contacts.models import Activity, ActivityKind, Channel, Contact, EmailStatus
from contacts.services import ActivityEvent, activities_record, contact_rollups_refresh

OPEN_SALT = "campaigns.tracking.open"
CLICK_SALT = "campaigns.tracking.click"
UNSUBSCRIBE_SALT = "campaigns.unsubscribe"
PREFERENCES_SALT = "campaigns.preferences"
PREFERENCES_TOKEN_DAYS_DEFAULT = 60
_SEP = "."
_PLACEHOLDER = "SIGNED"

# A click arriving within this time of a click on another link of the same message is a
# scanner following every link.
CLICK_BURST_WINDOW = timedelta(seconds=1)
MACHINE_OPEN_SECONDS_DEFAULT = 5

# The fields the tracking endpoints read: one indexed look-up by token, nothing more.
_MESSAGE_FIELDS = ("id", "token", "contact_id", "sent_at", "campaign__id", "campaign__key")
_CLICK_MESSAGE_FIELDS = (*_MESSAGE_FIELDS, "campaign__channel")


# --- Signed links --------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _signer_for(salt: str, key: str, fallbacks: tuple[str, ...]) -> Signer:
    return Signer(key=key, salt=salt, sep=_SEP, fallback_keys=list(fallbacks))


def _signer(salt: str) -> Signer:
    """The signer of `salt`, built once per secret (its set-up costs as much as a signature)."""
    return _signer_for(salt, settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


def _unsign(salt: str, signed: str) -> str | None:
    try:
        return _signer(salt).unsign(signed)
    except BadSignature:
        return None


@functools.lru_cache(maxsize=32)
def _route(name: str, urlconf: str) -> tuple[str, str]:
    """The path around the signed token of route `name`, resolved once."""
    path = reverse(name, urlconf=urlconf, kwargs={"signed": _PLACEHOLDER})
    before, _, after = path.partition(_PLACEHOLDER)
    return before, after


def _public_url(name: str) -> tuple[str, str]:
    """The absolute URL of route `name` around its token. Links are built in workers, outside
    any request: the project's URLconf, not a request's."""
    before, after = _route(name, settings.ROOT_URLCONF)
    return settings.RELANCE_PUBLIC_URL + before, after


@functools.lru_cache(maxsize=16)
def _hmac_for(salt: str, key: str) -> "hmac.HMAC":
    # Django's salted_hmac as `Signer.signature` uses it: HMAC-SHA256 keyed with
    # sha256(salt + "signer" + secret).
    derived = hashlib.sha256(f"{salt}signer{key}".encode()).digest()
    return hmac.new(derived, digestmod=hashlib.sha256)


def _fast_sign(salt: str) -> Callable[[str], str]:
    """`Signer(salt=salt, sep=".").sign`, keyed once: a copy of a keyed HMAC per value instead
    of deriving the key again for each (3 µs a link instead of 8 on the development VM). The
    result is byte for byte what `Signer.sign` gives (a test holds it to that), so links are
    verified by `Signer.unsign`, which also accepts SECRET_KEY_FALLBACKS."""
    keyed = _hmac_for(salt, settings.SECRET_KEY)

    def sign(value: str) -> str:
        mac = keyed.copy()
        mac.update(value.encode())
        return f"{value}{_SEP}{b64_encode(mac.digest()).decode()}"

    return sign


def _click_url_builder(message: Message) -> Callable[[str], str]:
    """A function returning `message`'s click URL for a URL: the key, the route and the
    token are prepared once per message, not once per link."""
    before, after = _public_url("campaigns:click")
    sign = _fast_sign(CLICK_SALT)
    prefix = message.token + _SEP

    def build(url: str) -> str:
        return f"{before}{sign(prefix + b64_encode(url.encode()).decode())}{after}"

    return build


def open_url(message: Message) -> str:
    before, after = _public_url("campaigns:open")
    return before + _fast_sign(OPEN_SALT)(message.token) + after


def click_url(message: Message, url: str) -> str:
    """The tracked link to `url` in `message`: signed, so it redirects to this URL only."""
    return _click_url_builder(message)(url)


def unsubscribe_url(message: Message) -> str:
    before, after = _public_url("campaigns:unsubscribe")
    return before + _fast_sign(UNSUBSCRIBE_SALT)(message.token) + after


def unsubscribe_mailto(message: Message) -> str:
    """The mailto of List-Unsubscribe. The signed token is URL-safe base64 and dots: a valid
    local part (letters keep their case, as mail servers do for the local part)."""
    signed = _fast_sign(UNSUBSCRIBE_SALT)(message.token)
    return f"mailto:unsubscribe+{signed}@{settings.RELANCE_UNSUBSCRIBE_MAILTO_DOMAIN}"


def preferences_token_days() -> int:
    return getattr(settings, "RELANCE_PREFERENCES_TOKEN_DAYS", PREFERENCES_TOKEN_DAYS_DEFAULT)


def preferences_signed(
    *, contact_id: int, message_token: str = "", at: datetime | None = None
) -> str:
    """The signed, dated token of a preference link: `TimestampSigner(sep=".").sign`, keyed
    once (`_fast_sign`), since every e-mail sent carries one."""
    value = f"{contact_id}{_SEP}{message_token}" if message_token else str(contact_id)
    stamp = b62_encode(int((at or timezone.now()).timestamp()))
    return _fast_sign(PREFERENCES_SALT)(f"{value}{_SEP}{stamp}")


def preferences_url(message: Message) -> str:
    """The preference page of `message`'s contact, reached from that message."""
    before, after = _public_url("campaigns:preferences")
    signed = preferences_signed(contact_id=message.contact_id, message_token=message.token)
    return before + signed + after


def contact_preferences_url(contact_id: int) -> str:
    """The preference page of a contact, for a link sent outside any campaign (a sign-up
    confirmation)."""
    before, after = _public_url("campaigns:preferences")
    return before + preferences_signed(contact_id=contact_id) + after


@dataclass(frozen=True)
class PreferencesLink:
    """What a genuine preference link says; `expired` when older than the allowed age."""

    contact_id: int
    message_token: str
    expired: bool


@functools.lru_cache(maxsize=4)
def _timestamp_signer_for(salt: str, key: str, fallbacks: tuple[str, ...]) -> TimestampSigner:
    return TimestampSigner(key=key, salt=salt, sep=_SEP, fallback_keys=list(fallbacks))


def preferences_token_resolve(signed: str) -> PreferencesLink | None:
    """The contact (and message token) of a preference link; None when the signature does not
    hold (forged, altered, another kind of link). An expired link still says whose it is (the
    page speaks the contact's language) but is marked so: it must change nothing."""
    signer = _timestamp_signer_for(
        PREFERENCES_SALT, settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS)
    )
    expired = False
    try:
        value = signer.unsign(signed, max_age=timedelta(days=preferences_token_days()))
    except SignatureExpired:
        value, expired = signer.unsign(signed), True
    except BadSignature:
        return None
    contact_id, _, message_token = value.partition(_SEP)
    if not (contact_id.isascii() and contact_id.isdigit()):
        return None
    return PreferencesLink(contact_id=int(contact_id), message_token=message_token, expired=expired)


def open_token_resolve(signed: str) -> str | None:
    """The message token of an open link, or None when the signature does not hold."""
    return _unsign(OPEN_SALT, signed)


def click_token_resolve(signed: str) -> tuple[str, str] | None:
    """(message token, URL) of a click link, or None when it is not one we signed for an
    http(s) URL."""
    value = _unsign(CLICK_SALT, signed)
    if value is None:
        return None
    token, _, encoded = value.partition(_SEP)
    try:
        url = b64_decode(encoded.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not token or not _TRACKABLE.match(url):
        return None
    return token, url


def unsubscribe_token_resolve(signed: str) -> str | None:
    """The message token of an unsubscribe link or mailto local part (after "unsubscribe+")."""
    return _unsign(UNSUBSCRIBE_SALT, signed)


# --- Content rewriting ---------------------------------------------------------------------

# An <a> tag up to its href value; the other attributes are skipped whole (quoted values
# included), so an "href=" inside a title is not taken for the link.
_ANCHOR_HREF = re.compile(
    r"""(<a(?:\s+(?!href\s*=)[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*\s+href\s*=\s*)"""
    r"""(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""",
    re.IGNORECASE,
)
_TRACKABLE = re.compile(r"https?://[^\s]", re.IGNORECASE)
# A URL in plain text ends at a space, a quote or an angle bracket; closing punctuation right
# after it is the sentence's, not the URL's (see `_text_url_trim`).
_TEXT_URL = re.compile(r"""https?://[^\s<>"'`]+""", re.IGNORECASE)
_TRAILING = ".,;:!?)]}*"
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def _own_prefixes(public: str) -> frozenset[str]:
    public = public.lower()
    return frozenset({public, *(public + end for end in "/?#")})


def _is_own(url: str, own: frozenset[str], size: int) -> bool:
    """A link to our own pages (the unsubscribe link in the content) is not tracked."""
    return url[:size].lower() in own


def _text_url_trim(url: str) -> tuple[str, str]:
    """(url, punctuation after it): "see https://x.fr/a)." ends the URL at "a"."""
    end = len(url)
    balance = None  # "(" minus ")" in url[:end], counted on the first ")" met
    while end and url[end - 1] in _TRAILING:
        if url[end - 1] == ")":
            if balance is None:
                balance = url.count("(", 0, end) - url.count(")", 0, end)
            if balance >= 0:
                break
            balance += 1
        end -= 1
    return url[:end], url[end:]


def message_content_track(*, message: Message, html: str, text: str) -> tuple[str, str]:
    """`html` and `text` with every http(s) link turned into `message`'s click link, and the
    open pixel added to the HTML.

    Links to mailto:, tel:, #anchors and our own pages are left alone. An href is
    HTML-unescaped before it is signed (`&amp;` is `&` in the URL), the click link escaped
    again when written back. An empty HTML body stays empty (a text-only e-mail gets no HTML
    part just for the pixel). Regular expressions only: this runs for every message sent.
    """
    own = _own_prefixes(settings.RELANCE_PUBLIC_URL)
    size = len(settings.RELANCE_PUBLIC_URL) + 1
    build = _click_url_builder(message)
    tracked: dict[str, str] = {}

    def track(url: str) -> str:
        link = tracked.get(url)
        if link is None:
            link = tracked[url] = build(url)
        return link

    def anchor(match: re.Match) -> str:
        double, single, bare = match.group(2, 3, 4)
        raw = double if double is not None else single if single is not None else bare
        url = (html_lib.unescape(raw) if "&" in raw else raw).strip()
        if not _TRACKABLE.match(url) or _is_own(url, own, size):
            return match.group(0)
        return f'{match.group(1)}"{html_lib.escape(track(url))}"'

    def plain(match: re.Match) -> str:
        url, after = _text_url_trim(match.group(0))
        if not _TRACKABLE.match(url) or _is_own(url, own, size):
            return match.group(0)
        return track(url) + after

    if text:
        text = _TEXT_URL.sub(plain, text)
    if html:
        html = _ANCHOR_HREF.sub(anchor, html)
        pixel = f'<img src="{html_lib.escape(open_url(message))}" width="1" height="1" alt="">'
        # The last </body>: one in a comment or a quoted example comes before the real one.
        ends = list(_BODY_END.finditer(html)) if "</" in html else []
        if ends:
            at = ends[-1].start()
            html = f"{html[:at]}{pixel}{html[at:]}"
        else:
            html += pixel
    return html, text


# --- Machine events ------------------------------------------------------------------------

APPLE_PROXY_NETWORKS = (ipaddress.ip_network("17.0.0.0/8"),)
# What a person's browser or mail app says; Apple's proxy says "Mozilla/5.0" and nothing else.
_BROWSER_TOKEN = re.compile(
    r"(?:Safari|Chrome|CriOS|Firefox|FxiOS|Edg|EdgiOS|OPR|Opera|Version|Thunderbird)/"
)
# Security gateways, link scanners, link-preview bots and HTTP libraries. Mail-client image
# proxies that fetch when the person opens (Gmail, Yahoo) are not machines.
_SCANNER_USER_AGENT = re.compile(
    r"barracuda|mimecast|proofpoint|messagelabs|symantec|ironport|trend ?micro|fortiguard"
    r"|forcepoint|sophos|zscaler|spamtitan|avanan|check ?point|cloudmark|bitdefender|appriver"
    r"|hornetsecurity|safe ?links|urldefense|existence discovery|protocol discovery"
    r"|(?:bot|crawler|spider)/|bot-linkexpanding|facebookexternalhit|headlesschrome|phantomjs"
    r"|python-requests|python-urllib|aiohttp|httpx|curl/|wget/|go-http-client|okhttp"
    r"|java/|apache-httpclient|libwww-perl|scanner",
    re.IGNORECASE,
)

REASON_NO_USER_AGENT = "no user agent"
REASON_APPLE_PROXY = "apple privacy proxy"
REASON_SCANNER = "scanner"
REASON_TOO_SOON = "too soon after sending"
REASON_CLICK_BURST = "click burst"


def machine_open_seconds() -> int:
    return getattr(settings, "RELANCE_MACHINE_OPEN_SECONDS", MACHINE_OPEN_SECONDS_DEFAULT)


def _in_apple_network(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in APPLE_PROXY_NETWORKS)


def is_apple_privacy_proxy(*, user_agent: str, ip: str) -> bool:
    """Apple Mail Privacy Protection prefetches every image when the mail arrives: from
    Apple's network without a browser token, or anywhere as a bare "Mozilla/5.0" (no person's
    browser or mail app sends just that; Apple Mail itself, unproxied, sends its WebKit
    string from the reader's own network)."""
    user_agent = user_agent.strip()
    if user_agent == "Mozilla/5.0":
        return True
    return _in_apple_network(ip) and not _BROWSER_TOKEN.search(user_agent)


def is_scanner_user_agent(user_agent: str) -> bool:
    return bool(_SCANNER_USER_AGENT.search(user_agent))


def is_too_soon_after_sending(*, sent_at: datetime | None, at: datetime) -> bool:
    """Within RELANCE_MACHINE_OPEN_SECONDS of sending (or before it was marked sent): a
    gateway scanning the message on delivery, not a person."""
    if sent_at is None:
        return False
    return at - sent_at < timedelta(seconds=machine_open_seconds())


def open_machine_reason(*, user_agent: str, ip: str, sent_at: datetime | None, at: datetime) -> str:
    """Why this open is a machine's, or "" when it looks like a person's."""
    if not user_agent.strip():
        return REASON_NO_USER_AGENT
    if is_apple_privacy_proxy(user_agent=user_agent, ip=ip):
        return REASON_APPLE_PROXY
    if is_scanner_user_agent(user_agent):
        return REASON_SCANNER
    if is_too_soon_after_sending(sent_at=sent_at, at=at):
        return REASON_TOO_SOON
    return ""


def is_click_burst(*, url: str, at: datetime, recent_clicks: list[tuple[str, datetime]]) -> bool:
    """A click within CLICK_BURST_WINDOW of a click on another link of the same message:
    `recent_clicks` is that message's clicks, (url, time)."""
    return any(
        other != url and abs(at - clicked_at) <= CLICK_BURST_WINDOW
        for other, clicked_at in recent_clicks
    )


def click_machine_reason(
    *,
    user_agent: str,
    sent_at: datetime | None,
    at: datetime,
    url: str,
    recent_clicks: list[tuple[str, datetime]],
) -> str:
    """Why this click is a machine's, or "" when it looks like a person's. (Apple's proxy
    only fetches images; its network is not a reason here.)"""
    if not user_agent.strip():
        return REASON_NO_USER_AGENT
    if is_scanner_user_agent(user_agent):
        return REASON_SCANNER
    if is_too_soon_after_sending(sent_at=sent_at, at=at):
        return REASON_TOO_SOON
    if is_click_burst(url=url, at=at, recent_clicks=recent_clicks):
        return REASON_CLICK_BURST
    return ""


# --- Recording -----------------------------------------------------------------------------
#
# Any message resolves, whatever its status: a message is marked sent only after the backend
# returned, so a gateway may fetch its pixel or links before that, and a pending message's
# token only exists in content we rendered for it anyway.


def _message_by_token(token: str, fields: tuple[str, ...], *, lock: bool = False):
    messages = Message.objects.select_related("campaign").only(*fields)
    if lock:
        # Serialises the clicks of one message, so two scanner requests in flight at once
        # each see the other's click (see `message_click_track`). Only the message row.
        messages = messages.select_for_update(of=("self",))
    return messages.filter(token=token).first()


def message_for_open(signed: str) -> Message | None:
    token = open_token_resolve(signed)
    return None if token is None else _message_by_token(token, _MESSAGE_FIELDS)


def message_for_unsubscribe(signed: str) -> Message | None:
    token = unsubscribe_token_resolve(signed)
    if token is None:
        return None
    return (
        Message.objects.select_related("campaign", "contact")
        .only(*_MESSAGE_FIELDS, "contact__email", "contact__language", "contact__email_status")
        # An erased contact's links lead nowhere: its data is gone, it is unsubscribed.
        .filter(token=token, contact__erased_at__isnull=True)
        .first()
    )


def message_open_track(
    *, message: Message, user_agent: str, ip: str, now: datetime | None = None
) -> str:
    """Record an open of `message`, once per event, and mark the message's first (human or
    machine) open. Returns why it is a machine's open, "" for a person's."""
    now = now or timezone.now()
    reason = open_machine_reason(user_agent=user_agent, ip=ip, sent_at=message.sent_at, at=now)
    metadata: dict = {"message": message.pk}
    if reason:
        metadata["machine"] = reason
    activities_record(
        events=[
            ActivityEvent(
                contact_id=message.contact_id,
                kind=ActivityKind.OPEN,
                occurred_at=now,
                channel=Channel.EMAIL,
                campaign=message.campaign.key,
                is_machine=bool(reason),
                metadata=metadata,
            )
        ]
    )
    # Apart from the recording's transaction: the first-open column is a summary for the
    # campaign report, and the open itself is what must not be lost. One fewer round trip
    # (no savepoint) on the busiest endpoint.
    message_outcome_mark(
        message_id=message.pk, outcome="machine_opened_at" if reason else "opened_at", at=now
    )
    return reason


def click_target(signed: str) -> str | None:
    """Where a click link leads, without recording anything (a HEAD request); None when the
    link is not one we signed or its message is gone."""
    resolved = click_token_resolve(signed)
    if resolved is None:
        return None
    token, url = resolved
    return url if Message.objects.filter(token=token).exists() else None


def message_click_track(*, signed: str, user_agent: str, now: datetime | None = None) -> str | None:
    """Record a click on a tracked link and return the URL to redirect to; None (nothing
    recorded) when the link is not one we signed or its message is gone.

    Steps, in one transaction:
    1. check the signature, find and lock the message (one query);
    2. read the message's clicks of the last second (an index range on the contact's clicks);
    3. classify the click (`click_machine_reason`) and record it;
    4. on a burst, re-flag the burst's earlier clicks as machine ones and recompute the
       contact's rollups; mark the message's first human click.
    """
    resolved = click_token_resolve(signed)
    if resolved is None:
        return None
    token, url = resolved
    now = now or timezone.now()
    with transaction.atomic():
        message = _message_by_token(token, _CLICK_MESSAGE_FIELDS, lock=True)
        if message is None:
            return None
        window_start = now - CLICK_BURST_WINDOW
        sms = message.campaign.channel == Campaign.Channel.SMS
        kind = ActivityKind.SMS_CLICK if sms else ActivityKind.CLICK
        recent = [
            (pk, data, at)
            for pk, data, at in Activity.objects.filter(
                contact_id=message.contact_id,
                kind=kind,
                occurred_at__gte=window_start,
                occurred_at__lte=now + CLICK_BURST_WINDOW,
                campaign=message.campaign.key,
            ).values_list("pk", "metadata", "occurred_at")
            if isinstance(data, dict) and data.get("message") == message.pk
        ]
        reason = click_machine_reason(
            user_agent=user_agent,
            sent_at=message.sent_at,
            at=now,
            url=url,
            recent_clicks=[(data.get("url", ""), at) for _, data, at in recent],
        )
        metadata: dict = {"message": message.pk, "url": url}
        if reason:
            metadata["machine"] = reason
        activities_record(
            events=[
                ActivityEvent(
                    contact_id=message.contact_id,
                    kind=kind,
                    occurred_at=now,
                    channel=Channel.SMS if sms else Channel.EMAIL,
                    campaign=message.campaign.key,
                    is_machine=bool(reason),
                    metadata=metadata,
                )
            ]
        )
        if reason == REASON_CLICK_BURST:
            # The burst's first click looked human when it came and was counted as
            # engagement; left so, every scanner burst would credit one click. The flag is
            # our reading of the event, not the event: correcting it keeps the log
            # append-only in what it says happened. One UPDATE, then the contact's rollups.
            reflagged = Activity.objects.filter(
                pk__in=[pk for pk, _, _ in recent], is_machine=False
            ).update(is_machine=True)
            if reflagged:
                contact_rollups_refresh(contacts=Contact.objects.filter(pk=message.contact_id))
                # The message's "first click" came from the burst if it falls in its window.
                Message.objects.filter(pk=message.pk, clicked_at__gte=window_start).update(
                    clicked_at=None
                )
        elif not reason:
            message_outcome_mark(message_id=message.pk, outcome="clicked_at", at=now)
    return url


def message_unsubscribe(*, message: Message, now: datetime | None = None) -> bool:
    """Unsubscribe `message`'s contact from e-mail; False when they already were.

    Steps, in one transaction:
    1. lock the contact row, so that two requests at once (the mailbox provider's one-click
       POST and the person's click) make one unsubscribe;
    2. an already unsubscribed contact: nothing to do;
    3. record the `unsubscribe` activity, which sets the e-mail status (see
       `activities_record`), and mark the message.
    """
    now = now or timezone.now()
    with transaction.atomic():
        status = (
            Contact.objects.select_for_update()
            .filter(pk=message.contact_id)
            .values_list("email_status", flat=True)
            .first()
        )
        if status is None or status == EmailStatus.UNSUBSCRIBED:
            return False
        result = activities_record(
            events=[
                ActivityEvent(
                    contact_id=message.contact_id,
                    kind=ActivityKind.UNSUBSCRIBE,
                    occurred_at=now,
                    channel=Channel.EMAIL,
                    campaign=message.campaign.key,
                    metadata={"message": message.pk},
                )
            ]
        )
        message_outcome_mark(message_id=message.pk, outcome="unsubscribed_at", at=now)
    return bool(result.recorded)
