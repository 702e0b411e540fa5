"""What happens to a demo contact: the campaign calendar and the rules that turn a contact's
traits into events.

This module is the reference. `contacts.demo.postgres` draws the very same events set-based in
SQL; `tests/contacts/test_seed_demo.py` checks on PostgreSQL that both agree. Every draw is
`pg_hashint8extended(n, stream(seed, purpose, index))` for the contact's ordinal `n`, split into
four 16-bit fields, so each rule is a pure function that SQL can mirror exactly. Times are whole
seconds since the epoch (UTC) and nothing happens at or after `Calendar.end`.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from contacts.demo.hashing import pg_hashint8extended

DAY = 86400
PARIS = ZoneInfo("Europe/Paris")

# Purposes of the hash streams; a stream is (seed, purpose, index), see `stream`.
SEND_A, SEND_B, PURCHASE, VISIT, SMS = 1, 2, 3, 4, 5
MAX_INDEX = 4096  # sends, purchases, visits or SMS per contact stay below this
MAX_SEED = 2**31

# A stop (unsubscribe, bounce, complaint) happens on a send at least this long before the end
# of the history, so that it is always in the past and the contact's status matches the log.
EMAIL_STOP_MARGIN = 2 * DAY
SMS_STOP_MARGIN = DAY


def stream(seed: int, purpose: int, index: int) -> int:
    return (seed * 64 + purpose) * MAX_INDEX + index


def field(h: int, i: int) -> int:
    """The i-th 16-bit field (0..3) of a hash."""
    return (h >> (16 * i)) & 0xFFFF


def draw(n: int, seed: int, purpose: int, index: int) -> int:
    return pg_hashint8extended(n, stream(seed, purpose, index))


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


@dataclass(frozen=True, slots=True)
class Calendar:
    """The campaigns of the last two years, ~2 e-mails a week and an SMS a month."""

    end: int  # today 00:00 UTC
    email_at: tuple[int, ...]
    email_names: tuple[str, ...]
    sms_at: tuple[int, ...]
    sms_names: tuple[str, ...]

    @property
    def end_date(self) -> date:
        return datetime.fromtimestamp(self.end, UTC).date()


def _email_campaign_name(day: date) -> str:
    if day.weekday() == 1:
        return f"Newsletter {day.isoformat()}"
    if day.month == 11 and day.day >= 23:
        return f"Black Friday {day.isoformat()}"
    if day.month in (1, 7) and day.day <= 21:
        return f"Soldes {day.isoformat()}"
    return f"Bons plans {day.isoformat()}"


def demo_calendar(*, now: datetime) -> Calendar:
    """Campaigns relative to `now` truncated to the day, so a seed gives the same base all day.

    Newsletters go out on Tuesdays at 10:00 Paris time, offers on Fridays at 17:00 (sales in
    January and July, Black Friday in November), an SMS on the first Saturday of each month.
    """
    today = now.astimezone(UTC).date()
    end = epoch(datetime.combine(today, time(), UTC))
    email: list[tuple[int, str]] = []
    sms: list[tuple[int, str]] = []
    day = today - timedelta(days=2 * 365)
    while day < today:
        weekday = day.weekday()
        if weekday in (1, 4):
            at = time(10) if weekday == 1 else time(17)
            email.append((epoch(datetime.combine(day, at, PARIS)), _email_campaign_name(day)))
        elif weekday == 5 and day.day <= 7:
            sms.append((epoch(datetime.combine(day, time(11), PARIS)), f"SMS {day.isoformat()}"))
        day += timedelta(days=1)
    return Calendar(
        end=end,
        email_at=tuple(at for at, _ in email),
        email_names=tuple(name for _, name in email),
        sms_at=tuple(at for at, _ in sms),
        sms_names=tuple(name for _, name in sms),
    )


@dataclass(slots=True)
class DemoContact:
    """One contact of the demo base: what is stored on it, and how it behaves.

    Behaviour: it receives the e-mail campaigns `c0, c0 + stride, ...` (`n_sends` of them), and
    the SMS campaigns `s0, s0 + s_stride, ...` (`n_sms`); it opens an e-mail with probability
    `open_t / 65536` and clicks an opened one with `click_t / 65536`, until `lapse`, after which
    it never engages again; `apple` mail clients prefetch (machine-open) every message. `stop`
    happens on its last e-mail send (`"unsubscribe"`, `"bounce"` or `"complaint"`), `sms_stop`
    on its last SMS. It buys `purchases` times and visits the site `visits` times between
    `created` and `active_end`; a purchase is in a shop with probability `store_t / 65536`.
    """

    n: int
    id: int
    email: str
    first_name: str
    last_name: str
    phone: str
    language: str
    source: str
    created: int
    city: str
    sms_status: str
    loyalty_points: int
    loyalty_expire: date | None
    lists: int
    tags: int
    apple: bool
    c0: int
    stride: int
    n_sends: int
    stop: str
    open_t: int
    click_t: int
    lapse: int
    purchases: int
    visits: int
    active_end: int
    store_t: int
    s0: int
    s_stride: int
    n_sms: int
    sms_click_t: int
    sms_stop: bool
    email_status: str = "subscribed"
    email_status_reason: str = ""
    email_status_changed: int | None = None


class DemoEvent(NamedTuple):
    kind: str
    at: int
    channel: str = "email"
    campaign: str = ""
    amount_cents: int | None = None
    is_machine: bool = False


def send_events(contact: DemoContact, j: int, calendar: Calendar, seed: int) -> list[DemoEvent]:
    """The events of the contact's j-th e-mail, future ones included (callers drop them)."""
    k = contact.c0 + j * contact.stride
    name = calendar.email_names[k]
    ha = draw(contact.n, seed, SEND_A, j)
    hb = draw(contact.n, seed, SEND_B, j)
    stop = contact.stop if j == contact.n_sends - 1 else ""
    sent = calendar.email_at[k] + field(ha, 0) % 5400  # a send takes an hour and a half
    events = [DemoEvent("sent", sent, campaign=name)]
    if stop == "bounce":
        events.append(DemoEvent("bounce", sent + 5 + field(ha, 1) % 120, campaign=name))
        return events
    delivered = sent + 1 + field(ha, 1) % 120
    events.append(DemoEvent("delivered", delivered, campaign=name))
    if contact.apple:
        # Prefetched within a minute, before any human open (which comes after 60 s).
        machine_at = delivered + 1 + field(hb, 0) % 50
        events.append(DemoEvent("open", machine_at, campaign=name, is_machine=True))
    if sent < contact.lapse and field(ha, 2) < contact.open_t:
        f = field(ha, 3)
        opened = delivered + 60 + ((f * f * f) >> 31)  # most within hours, some a day later
        events.append(DemoEvent("open", opened, campaign=name))
        if field(hb, 1) < contact.click_t:
            clicked = opened + 5 + field(hb, 2) % 1800
            events.append(DemoEvent("click", clicked, campaign=name))
    if stop == "unsubscribe":
        events.append(DemoEvent("unsubscribe", delivered + 300 + field(hb, 3) * 2, campaign=name))
    elif stop == "complaint":
        events.append(DemoEvent("complaint", delivered + 600 + field(hb, 3) * 2, campaign=name))
    return events


def sms_events(contact: DemoContact, j: int, calendar: Calendar, seed: int) -> list[DemoEvent]:
    k = contact.s0 + j * contact.s_stride
    name = calendar.sms_names[k]
    h = draw(contact.n, seed, SMS, j)
    sent = calendar.sms_at[k] + field(h, 0) % 1800
    events = [DemoEvent("sms_sent", sent, "sms", name)]
    if sent < contact.lapse and field(h, 1) < contact.sms_click_t:
        events.append(DemoEvent("sms_click", sent + 30 + field(h, 2) % 7200, "sms", name))
    if contact.sms_stop and j == contact.n_sms - 1:
        events.append(DemoEvent("unsubscribe", sent + 60 + field(h, 3) % 3600, "sms", name))
    return events


def _spread(contact: DemoContact, count: int, purpose: int, seed: int) -> Iterator[tuple[int, int]]:
    """`count` moments between `created` and `active_end`, one per equal slot (so distinct)."""
    slot = (contact.active_end - contact.created) // count
    for i in range(count):
        h = draw(contact.n, seed, purpose, i)
        yield contact.created + i * slot + (h & 0xFFFFFFFF) % slot, h


def contact_events(contact: DemoContact, calendar: Calendar, seed: int) -> Iterator[DemoEvent]:
    """Every event of the contact, in the past."""
    events: list[DemoEvent] = []
    for j in range(contact.n_sends):
        events.extend(send_events(contact, j, calendar, seed))
    for j in range(contact.n_sms):
        events.extend(sms_events(contact, j, calendar, seed))
    if contact.purchases:
        for at, h in _spread(contact, contact.purchases, PURCHASE, seed):
            channel = "store" if field(h, 3) < contact.store_t else "web"
            f = field(h, 2)
            events.append(DemoEvent("purchase", at, channel, "", 990 + ((f * f) >> 17)))
    if contact.visits:
        for at, _ in _spread(contact, contact.visits, VISIT, seed):
            events.append(DemoEvent("visit", at, "web"))
    return (event for event in events if event.at < calendar.end)


# The engagement level the demo gives a contact from its rollups: the rule of the default
# engagement policy (days since the latest human open, click or visit; mirrored in sql.py and
# seeding.py), so that the nightly job finds a demo base as it would leave it. The scores are
# the demo's own.
def _policy_days(name: str) -> int:
    from contacts.models import EngagementPolicy

    return EngagementPolicy._meta.get_field(name).default


ENGAGEMENT_LEVELS = (  # (latest engagement within this many days, level, score)
    (_policy_days("recent_days"), "recent", 80),
    (_policy_days("engaged_days"), "engaged", 60),
    (_policy_days("disengaged_days"), "disengaged", 30),
)
INACTIVE = ("inactive", 10)
NEVER = ("never", 0)
