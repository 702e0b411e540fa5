"""The rules of `contacts.demo.behaviour`, written again in SQL for the PostgreSQL fast path.

`hashint8extended` is the very function `pg_hashint8extended` mirrors, and every time is whole
seconds, so these statements draw exactly the events the Python path draws (checked by
tests/contacts/test_seed_demo.py on PostgreSQL).
"""

from contacts.demo.behaviour import (
    ENGAGEMENT_LEVELS,
    INACTIVE,
    NEVER,
    PURCHASE,
    SEND_A,
    SEND_B,
    SMS,
    VISIT,
    Calendar,
    DemoContact,
    stream,
)
from contacts.models import Activity
from contacts.services.activity import ROLLUP_KINDS

# The contacts and their behaviour, as COPYed into the temporary table `demo_contact`.
CONTACT_COLUMNS = (
    "n bigint, id bigint, email text, first_name text, last_name text, phone text, "
    "language text, source_id bigint, created bigint, city text, sms_status text, "
    "loyalty_points integer, loyalty_expire date, lists integer, tags integer, "
    "email_status text, email_status_reason text, email_status_changed bigint, apple boolean, "
    "c0 integer, stride integer, n_sends integer, stop text, open_t integer, click_t integer, "
    "lapse bigint, purchases integer, visits integer, active_end bigint, store_t integer, "
    "s0 integer, s_stride integer, n_sms integer, sms_click_t integer, sms_stop boolean"
)

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: str) -> str:
    return value.translate(_COPY_ESCAPES)


def copy_line(c: DemoContact, source_id: int) -> str:
    expire = c.loyalty_expire.isoformat() if c.loyalty_expire else "\\N"
    changed = "\\N" if c.email_status_changed is None else str(c.email_status_changed)
    return (
        f"{c.n}\t{c.id}\t{_text(c.email)}\t{_text(c.first_name)}\t{_text(c.last_name)}\t"
        f"{c.phone}\t{c.language}\t{source_id}\t{c.created}\t{_text(c.city)}\t{c.sms_status}\t"
        f"{c.loyalty_points}\t{expire}\t{c.lists}\t{c.tags}\t{c.email_status}\t"
        f"{c.email_status_reason}\t{changed}\t{'t' if c.apple else 'f'}\t{c.c0}\t{c.stride}\t"
        f"{c.n_sends}\t{c.stop}\t{c.open_t}\t{c.click_t}\t{c.lapse}\t{c.purchases}\t"
        f"{c.visits}\t{c.active_end}\t{c.store_t}\t{c.s0}\t{c.s_stride}\t{c.n_sms}\t"
        f"{c.sms_click_t}\t{'t' if c.sms_stop else 'f'}\n"
    )


def events_select_sql() -> list[str]:
    """SELECTs of the events of the contacts in `demo_contact` whose ordinal is in
    [%(low)s, %(high)s), as (contact_id, kind, occurred_at, channel, campaign, amount,
    is_machine, natural_key).

    One statement per family: e-mails (`send_events`), SMS (`sms_events`), purchases and visits
    (`_spread`). `field(h, i)` of behaviour.py is `(h >> 16 * i) & 65535` here. Each e-mail or
    SMS yields one row per possible event, unnested in step (a ProjectSet, much cheaper than a
    VALUES list per row), the ones that did not happen having no time. `OFFSET 0` keeps
    PostgreSQL from inlining a subquery into its users, which would compute each hash again
    for every event it feeds.
    """
    outer = """
        SELECT e.id AS contact_id, e.kind, e.occurred_at, e.channel, e.campaign,
               e.cents / 100.0 AS amount, e.is_machine,
               md5(e.id || '|' || e.kind || '|' || e.at * 1000000 || '|' || e.campaign)::uuid
               AS natural_key
        FROM (SELECT x.*, to_timestamp(x.at) AS occurred_at FROM (FAMILY) x OFFSET 0) e
    """
    # Rows come out in this order (every join below is a nested loop over it), whatever the
    # physical order of `demo_contact`; ids are given in that order.
    contacts = "(SELECT * FROM demo_contact WHERE n >= %(low)s AND n < %(high)s ORDER BY n) p"
    email = f"""
        SELECT v.id, v.kind, v.at, 'email' AS channel, v.campaign, NULL::bigint AS cents,
               v.is_machine
        FROM (
            SELECT s.id, s.campaign,
                unnest(ARRAY['sent', CASE WHEN s.stop = 'bounce' THEN 'bounce'
                                          ELSE 'delivered' END, 'open', 'open', 'click', s.stop])
                    AS kind,
                unnest(ARRAY[
                    s.sent,
                    CASE WHEN s.stop = 'bounce' THEN s.sent + 5 + ((s.ha >> 16) & 65535) %% 120
                         ELSE s.delivered END,
                    CASE WHEN s.stop <> 'bounce' AND s.apple
                         THEN s.delivered + 1 + (s.hb & 65535) %% 50 END,
                    CASE WHEN s.stop <> 'bounce' THEN s.delivered + 60 + s.open_delay END,
                    CASE WHEN s.stop <> 'bounce' AND ((s.hb >> 16) & 65535) < s.click_t
                         THEN s.delivered + 65 + s.open_delay + ((s.hb >> 32) & 65535) %% 1800
                         END,
                    CASE s.stop
                         WHEN 'unsubscribe' THEN s.delivered + 300 + ((s.hb >> 48) & 65535) * 2
                         WHEN 'complaint' THEN s.delivered + 600 + ((s.hb >> 48) & 65535) * 2
                         END
                ]) AS at,
                unnest('{{f,f,t,f,f,f}}'::boolean[]) AS is_machine
            FROM (
                SELECT h.*, h.sent + 1 + ((h.ha >> 16) & 65535) %% 120 AS delivered,
                       CASE WHEN h.sent < h.lapse AND ((h.ha >> 32) & 65535) < h.open_t
                            THEN (((h.ha >> 48) & 65535) * ((h.ha >> 48) & 65535)
                                  * ((h.ha >> 48) & 65535)) >> 31 END AS open_delay
                FROM (
                    SELECT g.*, (%(email_at)s::bigint[])[g.k + 1] + (g.ha & 65535) %% 5400
                           AS sent, (%(email_names)s::text[])[g.k + 1] AS campaign
                    FROM (
                        SELECT p.id, p.apple, p.lapse, p.open_t, p.click_t,
                               p.c0 + j * p.stride AS k,
                               CASE WHEN j = p.n_sends - 1 THEN p.stop ELSE '' END AS stop,
                               hashint8extended(p.n, %(send_a)s + j) AS ha,
                               hashint8extended(p.n, %(send_b)s + j) AS hb
                        FROM {contacts}, generate_series(0, p.n_sends - 1) AS j
                        OFFSET 0
                    ) g
                    OFFSET 0
                ) h
                OFFSET 0
            ) s
        ) v
        WHERE v.at < %(end)s
    """
    sms = f"""
        SELECT v.id, v.kind, v.at, 'sms' AS channel, v.campaign, NULL::bigint AS cents,
               false AS is_machine
        FROM (
            SELECT s.id, s.campaign,
                unnest('{{sms_sent,sms_click,unsubscribe}}'::text[]) AS kind,
                unnest(ARRAY[
                    s.sent,
                    CASE WHEN s.sent < s.lapse AND ((s.h >> 16) & 65535) < s.sms_click_t
                         THEN s.sent + 30 + ((s.h >> 32) & 65535) %% 7200 END,
                    CASE WHEN s.last THEN s.sent + 60 + ((s.h >> 48) & 65535) %% 3600 END
                ]) AS at
            FROM (
                SELECT g.*, (%(sms_at)s::bigint[])[g.k + 1] + (g.h & 65535) %% 1800 AS sent,
                       (%(sms_names)s::text[])[g.k + 1] AS campaign
                FROM (
                    SELECT p.id, p.lapse, p.sms_click_t, p.s0 + j * p.s_stride AS k,
                           p.sms_stop AND j = p.n_sms - 1 AS last,
                           hashint8extended(p.n, %(sms)s + j) AS h
                    FROM {contacts}, generate_series(0, p.n_sms - 1) AS j
                    OFFSET 0
                ) g
                OFFSET 0
            ) s
        ) v
        WHERE v.at < %(end)s
    """
    purchases = f"""
        SELECT x.id, 'purchase' AS kind,
               x.created + x.i * x.slot + (x.h & 4294967295) %% x.slot AS at,
               CASE WHEN ((x.h >> 48) & 65535) < x.store_t THEN 'store' ELSE 'web' END AS channel,
               '' AS campaign,
               990 + ((((x.h >> 32) & 65535) * ((x.h >> 32) & 65535)) >> 17) AS cents,
               false AS is_machine
        FROM (
            SELECT p.id, p.created, p.store_t, i, hashint8extended(p.n, %(purchase)s + i) AS h,
                   (p.active_end - p.created) / p.purchases AS slot
            FROM {contacts}, generate_series(0, p.purchases - 1) AS i
            OFFSET 0
        ) x
    """
    visits = f"""
        SELECT x.id, 'visit' AS kind,
               x.created + x.i * x.slot + (x.h & 4294967295) %% x.slot AS at, 'web' AS channel,
               '' AS campaign, NULL::bigint AS cents, false AS is_machine
        FROM (
            SELECT p.id, p.created, i, hashint8extended(p.n, %(visit)s + i) AS h,
                   (p.active_end - p.created) / p.visits AS slot
            FROM {contacts}, generate_series(0, p.visits - 1) AS i
            OFFSET 0
        ) x
    """
    return [outer.replace("FAMILY", family) for family in (email, sms, purchases, visits)]


def events_params(seed: int, calendar: Calendar) -> dict:
    """The parameters of `events_select_sql`, but the contact range."""
    return {
        "send_a": stream(seed, SEND_A, 0),
        "send_b": stream(seed, SEND_B, 0),
        "sms": stream(seed, SMS, 0),
        "purchase": stream(seed, PURCHASE, 0),
        "visit": stream(seed, VISIT, 0),
        "email_at": list(calendar.email_at),
        "email_names": list(calendar.email_names),
        "sms_at": list(calendar.sms_at),
        "sms_names": list(calendar.sms_names),
        "end": calendar.end,
    }


def rollups_create_sql() -> str:
    """The contacts' rollups from the log, by the rules of `contact_rollups_refresh`."""
    columns = []
    for name, (kinds, human_only) in ROLLUP_KINDS.items():
        condition = "kind IN ({})".format(", ".join(f"'{kind}'" for kind in kinds))
        if human_only:
            condition += " AND NOT is_machine"
        columns.append(f"max(occurred_at) FILTER (WHERE {condition}) AS {name}")
    return (
        "CREATE TEMP TABLE demo_rollup ON COMMIT DROP AS SELECT contact_id, "
        + ", ".join(columns)
        + f" FROM {Activity._meta.db_table} GROUP BY contact_id"
    )


def engagement_sql(end: int) -> tuple[str, str]:
    """CASE expressions for the engagement level and score (see behaviour.ENGAGEMENT_LEVELS)."""
    latest = "GREATEST(r.last_open_at, r.last_click_at, r.last_visit_at)"
    level, score = (
        [f"CASE WHEN {latest} IS NULL THEN '{NEVER[0]}'"],
        [f"CASE WHEN {latest} IS NULL THEN {NEVER[1]}"],
    )
    for days, name, points in ENGAGEMENT_LEVELS:
        since = f"{latest} >= to_timestamp({end - days * 86400})"
        level.append(f"WHEN {since} THEN '{name}'")
        score.append(f"WHEN {since} THEN {points}")
    level.append(f"ELSE '{INACTIVE[0]}' END")
    score.append(f"ELSE {INACTIVE[1]} END")
    return " ".join(level), " ".join(score)
