"""Who the demo contacts are: drawn one after the other from `random.Random(seed)`.

Each contact gets its identity (name, e-mail, phone, town, source, date of sign-up) and its
behaviour (see `DemoContact`): engaged, lapsed at some date, or never engaged, in proportions
that depend on its lead source. The statuses that events change (unsubscribed, bounced,
complained, SMS STOP) are computed here from the very event that changes them.
"""

import math
import random
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import accumulate

from contacts.demo.behaviour import (
    DAY,
    EMAIL_STOP_MARGIN,
    SMS_STOP_MARGIN,
    Calendar,
    DemoContact,
    epoch,
    send_events,
)
from contacts.demo.names import (
    FEMALE_FIRST_NAMES,
    LAST_NAMES,
    LISTS,
    MAILBOX_PROVIDERS,
    MALE_FIRST_NAMES,
    SOURCES,
    TAGS,
    TOWNS,
    SourceProfile,
)

HISTORY_DAYS = 3 * 365
# Per profile: share that unsubscribes, share that complains (on top of the source's bounces).
_STOPS = {"engaged": (0.02, 0.002), "lapsed": (0.07, 0.005), "never": (0.06, 0.01)}
_BUYING = {"engaged": 1.0, "lapsed": 0.8, "never": 0.25}
_STATUS = {
    "unsubscribe": ("unsubscribed", "unsubscribe"),
    "bounce": ("bounced", "hard bounce"),
    "complaint": ("complained", "complaint"),
}
LIST_BITS = {name: 1 << i for i, (name, _) in enumerate(LISTS)}
TAG_BITS = {name: 1 << i for i, name in enumerate(TAGS)}


class _Weighted:
    """Draws from weighted choices with one `random()`."""

    def __init__(self, items, weights) -> None:
        self.items = tuple(items)
        self.cumulative = tuple(accumulate(weights))
        self.total = self.cumulative[-1]

    def __call__(self, rng: random.Random):
        return self.items[bisect_right(self.cumulative, rng.random() * self.total)]


@cache
def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalpha())


def _pick(rng: random.Random, items: tuple):
    return items[int(rng.random() * len(items))]


def _bursts(source: SourceProfile, end: int) -> list[tuple[int, int]]:
    """(start, length) in seconds of the source's sign-up bursts within the history."""
    last = datetime.fromtimestamp(end, UTC).date()
    windows = []
    for year in range(last.year - 3, last.year + 1):
        for month, day, days in source.bursts:
            start = epoch(datetime(year, month, day, 8, tzinfo=UTC))
            stop = min(start + days * DAY, end)
            if start >= end - HISTORY_DAYS * DAY and stop > start:
                windows.append((start, stop - start))
    return windows


class ContactDrawer:
    """Draws the demo contacts in order; `seen` keeps e-mail addresses unique."""

    def __init__(self, *, seed: int, calendar: Calendar, first_id: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.calendar = calendar
        self.first_id = first_id
        self.seen: set[str] = set()
        self.source = _Weighted(SOURCES, (s.weight for s in SOURCES))
        self.provider = _Weighted(MAILBOX_PROVIDERS, (p[1] for p in MAILBOX_PROVIDERS))
        self.town = _Weighted((t for t, _ in TOWNS), (w for _, w in TOWNS))
        self.bursts = {s.name: tuple(_bursts(s, calendar.end)) for s in SOURCES}
        self.end_date = calendar.end_date
        # Campaigns late enough that a stop on them would fall in the future.
        self.email_stop_limit = bisect_left(calendar.email_at, calendar.end - EMAIL_STOP_MARGIN)
        self.sms_stop_limit = bisect_left(calendar.sms_at, calendar.end - SMS_STOP_MARGIN)

    def _created(self, source: SourceProfile) -> int:
        rng, end = self.rng, self.calendar.end
        windows = self.bursts[source.name]
        if windows and rng.random() < 0.8:
            start, length = _pick(rng, windows)
            return start + int(rng.random() * length)
        # Sign-ups grow over time: the density of age falls linearly to zero at `since_days`.
        span = min(HISTORY_DAYS, source.since_days) * DAY
        return end - 1 - int(span * (1 - math.sqrt(rng.random())))

    def _email(self, n: int, first: str, last: str, domain: str) -> str:
        rng = self.rng
        f, l_ = _ascii(first), _ascii(last)
        pattern = rng.random()
        if pattern < 0.35:
            local = f"{f}.{l_}"
        elif pattern < 0.5:
            local = f"{f}{l_}"
        elif pattern < 0.65:
            local = f"{f[0]}{l_}"
        elif pattern < 0.7:
            local = f"{f}_{l_}"
        elif pattern < 0.8:
            local = f"{l_}.{f}"
        elif pattern < 0.9:
            local = f"{f}.{l_}{(55 + int(rng.random() * 50)) % 100:02d}"
        else:
            local = f"{f}{l_}{1 + int(rng.random() * 99)}"
        email = f"{local}@{domain}"
        attempt = 0
        while email in self.seen:
            attempt += 1
            email = f"{local}{n}{'' if attempt == 1 else attempt}@{domain}"
        self.seen.add(email)
        return email

    def draw(self, n: int) -> DemoContact:
        rng, cal = self.rng, self.calendar
        source = self.source(rng)
        female = rng.random() < 0.52
        first = _pick(rng, FEMALE_FIRST_NAMES if female else MALE_FIRST_NAMES)
        last = _pick(rng, LAST_NAMES)
        domain, _, apple_share = self.provider(rng)
        email = self._email(n, first, last, domain)
        apple = rng.random() < apple_share
        created = self._created(source)
        phone = ""
        if rng.random() < 0.6:
            phone = f"+33{6 + int(rng.random() * 2)}{int(rng.random() * 100_000_000):08d}"
        sms_consent = bool(phone) and rng.random() < 0.5
        language = "fr" if rng.random() < 0.95 else "en"
        city = self.town(rng) if rng.random() < 0.75 else ""

        r = rng.random()
        engaged, lapsed, _ = source.mix
        profile = "engaged" if r < engaged else "lapsed" if r < engaged + lapsed else "never"
        if profile == "engaged":
            open_t = int((0.35 + 0.45 * rng.random()) * 65536)
            click_t = int((0.08 + 0.27 * rng.random()) * 65536)
            lapse = cal.end
            sms_click_t = int(0.12 * 65536)
        elif profile == "lapsed":
            open_t = int((0.25 + 0.35 * rng.random()) * 65536)
            click_t = int((0.05 + 0.2 * rng.random()) * 65536)
            low, high = created + 60 * DAY, cal.end - 60 * DAY
            lapse = low + int(rng.random() * (high - low)) if high > low else low
            sms_click_t = int(0.08 * 65536)
        else:
            open_t = click_t = sms_click_t = 0
            lapse = created

        # E-mail campaigns: one in `stride` from the first one after sign-up.
        stride = 7 + int(rng.random() * 11)
        c0 = bisect_right(cal.email_at, created) + int(rng.random() * stride)
        n_sends = len(range(c0, len(cal.email_at), stride))
        stop = ""
        stoppable = len(range(c0, self.email_stop_limit, stride))
        r = rng.random()
        unsubscribe, complaint = _STOPS[profile]
        if stoppable and r < source.bounce:
            stop = "bounce"  # mostly a bad address, bouncing on the first send
            n_sends = 1 if rng.random() < 0.7 else 1 + int(rng.random() * stoppable)
        elif stoppable and r < source.bounce + unsubscribe + complaint:
            stop = "unsubscribe" if r < source.bounce + unsubscribe else "complaint"
            n_sends = 1 + int(rng.random() * stoppable)

        active_end = min(lapse, cal.end) if profile == "lapsed" else cal.end
        days = max(0, (active_end - created) // DAY)
        purchases = 0
        if rng.random() < source.buyers * _BUYING[profile]:
            purchases = min(days, 1 + int(-math.log(1.0 - rng.random()) * 2.5))
        visit_max = {"engaged": 12, "lapsed": 8, "never": 2}[profile]
        visits = min(days, int(rng.random() * visit_max))

        s0 = s_stride = n_sms = 0
        sms_stop = False
        if sms_consent:
            s_stride = 1 + int(rng.random() * 3)
            s0 = bisect_right(cal.sms_at, created) + int(rng.random() * s_stride)
            n_sms = len(range(s0, len(cal.sms_at), s_stride))
            stoppable = len(range(s0, self.sms_stop_limit, s_stride))
            if stoppable and rng.random() < 0.06:
                sms_stop = True
                n_sms = 1 + int(rng.random() * stoppable)

        points, expire = 0, None
        if purchases:
            points = 20 + int(rng.random() * 1500)
            soon = rng.random() < 0.15
            days_left = 1 + int(rng.random() * 30) if soon else 31 + int(rng.random() * 335)
            expire = self.end_date + timedelta(days=days_left)

        lists = 0
        if (source.name in ("Site web", "Boutique", "Salon") and rng.random() < 0.85) or (
            rng.random() < 0.4
        ):
            lists |= LIST_BITS["Newsletter"]
        if purchases >= 3:
            lists |= LIST_BITS["Clients fidèles"]
        if source.name == "Jeu concours":
            lists |= LIST_BITS["Participants jeux concours"]
        if source.name == "Partenaire" or rng.random() < 0.15:
            lists |= LIST_BITS["Offres partenaires"]
        if source.name == "Salon":
            lists |= LIST_BITS["Salons"]
        tags = 0
        if purchases:
            tags |= TAG_BITS["acheteur"]
        if purchases >= 6:
            tags |= TAG_BITS["vip"]
        if sms_consent:
            tags |= TAG_BITS["sms-optin"]
        if source.name == "Boutique":
            tags |= TAG_BITS["inscrit-en-magasin"]
        if city == "Paris":
            tags |= TAG_BITS["ile-de-france"]

        contact = DemoContact(
            n=n,
            id=self.first_id + n,
            email=email,
            first_name=first,
            last_name=last,
            phone=phone,
            language=language,
            source=source.name,
            created=created,
            city=city,
            sms_status="unsubscribed"
            if sms_stop
            else "subscribed"
            if sms_consent
            else "no_consent",
            loyalty_points=points,
            loyalty_expire=expire,
            lists=lists,
            tags=tags,
            apple=apple,
            c0=c0,
            stride=stride,
            n_sends=n_sends,
            stop=stop,
            open_t=open_t,
            click_t=click_t,
            lapse=lapse,
            purchases=purchases,
            visits=visits,
            active_end=active_end,
            store_t=int(source.in_store * 65536),
            s0=s0,
            s_stride=s_stride,
            n_sms=n_sms,
            sms_click_t=sms_click_t,
            sms_stop=sms_stop,
        )
        if stop:
            event = next(
                e for e in send_events(contact, n_sends - 1, cal, self.seed) if e.kind == stop
            )
            contact.email_status, contact.email_status_reason = _STATUS[stop]
            contact.email_status_changed = event.at
        return contact


def demo_contacts(
    *, count: int, seed: int, calendar: Calendar, first_id: int
) -> Iterator[DemoContact]:
    drawer = ContactDrawer(seed=seed, calendar=calendar, first_id=first_id)
    for n in range(count):
        yield drawer.draw(n)
