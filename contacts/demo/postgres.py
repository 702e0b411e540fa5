"""The PostgreSQL fast path: a million contacts and thirty million events in a few minutes.

Steps, in the caller's transaction (a failure leaves the base as it was):
1. drop the indexes and constraints of the tables to fill (`bulk_load`): building an index
   once is far cheaper than maintaining it row by row;
2. draw the contacts in a Python thread, chunk by chunk, and COPY them, with their behaviour,
   into a temporary table;
3. draw their events set-based in SQL (`contacts.demo.sql`), chunk by chunk. PostgreSQL runs
   one statement on one core: for a large base a helper session, on the other core, draws
   two chunks in three into UNLOGGED staging tables, which this session then copies in, in
   chunk order (so ids too are the same for a seed);
4. aggregate the rollups from the log and insert the contacts with them (no UPDATE of a
   million rows afterwards), then the list memberships and tags;
5. recreate the indexes and constraints (which checks them), and ANALYZE.
"""

import itertools
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from django.db import connection, connections

from contacts.demo.behaviour import Calendar, DemoContact
from contacts.demo.sql import (
    CONTACT_COLUMNS,
    copy_line,
    engagement_sql,
    events_params,
    events_select_sql,
    rollups_create_sql,
)
from contacts.models import Activity, Contact, ListMembership
from contacts.services.activity import ROLLUP_KINDS

CHUNK = 50_000  # contacts per step
HELPER_FROM = 200_000  # contacts from which a helper session draws events too
STAGING_PREFIX = "demo_seed_staging_"
_EVENT_COLUMNS = "contact_id, kind, occurred_at, channel, campaign, amount, is_machine, natural_key"
# `ord` keeps the order of insertion, which a table scan does not always give back.
_STAGING_COLUMNS = (
    "ord bigint GENERATED ALWAYS AS IDENTITY, contact_id bigint, kind text, "
    "occurred_at timestamptz, channel text, campaign text, amount numeric, is_machine boolean, "
    "natural_key uuid"
)
_runs = itertools.count()


@contextmanager
def bulk_load(tables: list[str], progress: Callable[[str], None]) -> Iterator[None]:
    """Drop the tables' constraints and indexes, and recreate them under the same names (which
    checks them) when the block ends. A primary key stays when a table outside `tables`
    refers to it."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, c.conname, c.contype,
                   pg_get_constraintdef(c.oid)
            FROM pg_constraint c
            WHERE c.conrelid = ANY(%(tables)s::regclass[]) AND c.contype IN ('f', 'u', 'p')
              AND NOT (c.contype = 'p' AND EXISTS (
                  SELECT 1 FROM pg_constraint f
                  WHERE f.contype = 'f' AND f.confrelid = c.conrelid
                    AND NOT f.conrelid = ANY(%(tables)s::regclass[])))
            ORDER BY CASE c.contype WHEN 'f' THEN 0 WHEN 'u' THEN 1 ELSE 2 END, c.conname
            """,
            {"tables": tables},
        )
        constraints = cursor.fetchall()
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = ANY(%s::regclass[])
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
                              AND c.conrelid = i.indrelid)
            ORDER BY 1
            """,
            [tables],
        )
        indexes = cursor.fetchall()
        # Foreign keys first, then the keys they may rely on.
        for table, name, _, _ in constraints:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    progress(f"rebuilding {len(constraints) + len(indexes)} indexes and constraints")
    primary = [c for c in constraints if c[2] == "p"]
    others = [c for c in constraints if c[2] == "u"] + [c for c in constraints if c[2] == "f"]
    with connection.cursor() as cursor:
        for table, name, _, definition in primary:
            progress(f"  {name}")
            quoted = connection.ops.quote_name(name)
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quoted} {definition}")
        for name, definition in indexes:
            progress(f"  {name}")
            cursor.execute(definition)
        for table, name, _, definition in others:
            progress(f"  {name}")
            quoted = connection.ops.quote_name(name)
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quoted} {definition}")


def reserve_contact_ids(count: int) -> int:
    """The first of `count` consecutive contact ids, taken from the id sequence."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Contact._meta.db_table])
        (sequence,) = cursor.fetchone()
        cursor.execute("SELECT nextval(%s)", [sequence])
        (first,) = cursor.fetchone()
        if count > 1:
            cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
    return first


def staging_drop(cursor) -> None:
    """Drop the staging tables a failed run may have left behind."""
    cursor.execute(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE %s",
        [STAGING_PREFIX.replace("_", r"\_") + "%"],
    )
    for (name,) in cursor.fetchall():
        cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(name)}")


class _Chunk:
    def __init__(self, index: int, low: int, high: int, lines: str) -> None:
        self.index, self.low, self.high, self.lines = index, low, high, lines
        self.staging = ""  # set when the helper draws its events
        self.ready = threading.Event()


def _copy(cursor, lines: str) -> None:
    with cursor.cursor.copy("COPY demo_contact FROM STDIN") as copy:
        copy.write(lines)


class _Worker(threading.Thread):
    """A thread that runs `work` and keeps its exception for the main thread."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.error: BaseException | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            self.work()
        except BaseException as exc:  # handed over to the main thread
            self.error = exc

    def work(self) -> None:
        raise NotImplementedError


class _Drawer(_Worker):
    """Draws the contacts (Python, the slow part of step 2) ahead of the sessions."""

    def __init__(self, contacts, count, source_ids, helper: "_Helper | None") -> None:
        super().__init__("demo-drawer")
        self.contacts, self.count, self.source_ids, self.helper = (
            contacts,
            count,
            source_ids,
            helper,
        )
        self.out: queue.Queue[_Chunk | None] = queue.Queue(maxsize=4)

    def work(self) -> None:
        try:
            lines: list[str] = []
            index = 0
            for contact in self.contacts:
                lines.append(copy_line(contact, self.source_ids[contact.source]))
                if len(lines) == CHUNK or contact.n + 1 == self.count:
                    low = index * CHUNK
                    chunk = _Chunk(index, low, low + len(lines), "".join(lines))
                    if self.helper and index % 3:
                        self.helper.put(chunk)
                    self._put(chunk)
                    lines, index = [], index + 1
                if self.stop.is_set():
                    return
        finally:
            if self.helper:
                self.helper.put(None)
            self._put(None)

    def _put(self, chunk: _Chunk | None) -> None:
        while not self.stop.is_set():
            try:
                self.out.put(chunk, timeout=0.5)
                return
            except queue.Full:
                continue


class _Helper(_Worker):
    """A second session drawing the events of its chunks into committed UNLOGGED tables."""

    def __init__(self, calendar: Calendar, seed: int) -> None:
        super().__init__("demo-helper")
        self.calendar, self.seed = calendar, seed
        self.inbox: queue.Queue[_Chunk | None] = queue.Queue()
        self.run_id = f"{STAGING_PREFIX}{threading.get_native_id()}_{next(_runs)}_"

    def put(self, chunk: _Chunk | None) -> None:
        self.inbox.put(chunk)

    def work(self) -> None:
        own = connections["default"]  # this thread's own connection, in autocommit
        try:
            with own.cursor() as cursor:
                cursor.execute("SET work_mem = '256MB'")
                cursor.execute("SET synchronize_seqscans = off")
                cursor.execute("SET jit = off")
                cursor.execute(f"CREATE TEMP TABLE demo_contact ({CONTACT_COLUMNS})")
                params = events_params(self.seed, self.calendar)
                while (chunk := self.inbox.get()) is not None and not self.stop.is_set():
                    cursor.execute("TRUNCATE demo_contact")
                    _copy(cursor, chunk.lines)
                    staging = f"{self.run_id}{chunk.index}"
                    cursor.execute(f"CREATE UNLOGGED TABLE {staging} ({_STAGING_COLUMNS})")
                    for select in events_select_sql():
                        cursor.execute(
                            f"INSERT INTO {staging} ({_EVENT_COLUMNS}) {select}",
                            {**params, "low": chunk.low, "high": chunk.high},
                        )
                    chunk.staging = staging
                    chunk.ready.set()
        finally:
            own.close()


def _wait(chunk: _Chunk, helper: _Helper) -> None:
    while not chunk.ready.wait(timeout=0.5):
        if helper.error is not None or not helper.is_alive():
            raise RuntimeError("the helper session stopped") from helper.error


def _insert_events(
    cursor, chunks: Iterable[_Chunk], params: dict, helper: "_Helper | None", progress
) -> int:
    """Step 3: the events of every chunk, in chunk order; returns how many."""
    constants = "'', '{}'::jsonb, e.occurred_at"
    insert = (
        f"INSERT INTO {Activity._meta.db_table} "
        f"({_EVENT_COLUMNS}, external_id, metadata, recorded_at) "
    )
    events = 0
    for chunk in chunks:
        _copy(cursor, chunk.lines)
        if chunk.index % 3 and helper:
            _wait(chunk, helper)
            cursor.execute(
                f"{insert} SELECT {_EVENT_COLUMNS}, {constants} FROM {chunk.staging} e ORDER BY ord"
            )
            events += cursor.rowcount
            cursor.execute(f"DROP TABLE {chunk.staging}")
        else:
            for select in events_select_sql():
                cursor.execute(
                    f"{insert} SELECT e.*, {constants} FROM ({select}) e",
                    {**params, "low": chunk.low, "high": chunk.high},
                )
                events += cursor.rowcount
        chunk.lines = ""
        progress(f"contacts {chunk.high:,}, events {events:,}")
    return events


def _chunks(drawer: _Drawer) -> Iterator[_Chunk]:
    while True:
        try:
            chunk = drawer.out.get(timeout=0.5)
        except queue.Empty:
            if drawer.error is not None or not drawer.is_alive():
                raise RuntimeError("drawing the contacts failed") from drawer.error
            continue
        if chunk is None:
            if drawer.error is not None:
                raise RuntimeError("drawing the contacts failed") from drawer.error
            return
        yield chunk


def seed_postgres(
    *,
    contacts: Iterator[DemoContact],
    count: int,
    seed: int,
    calendar: Calendar,
    source_ids: dict[str, int],
    list_ids: dict[int, int],
    tag_ids: dict[int, int],
    now: datetime,
    progress: Callable[[str], None],
) -> tuple[int, int]:
    """Steps 2-4 of the module docstring; returns (events, memberships and tags)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '512MB'")
        # Compiling these one-off statements costs more than it saves.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        staging_drop(cursor)
        cursor.execute("DROP TABLE IF EXISTS pg_temp.demo_contact, pg_temp.demo_rollup")
        cursor.execute(f"CREATE TEMP TABLE demo_contact ({CONTACT_COLUMNS}) ON COMMIT DROP")
        # Rows come out in plan order, which is fixed here (no join), and ids follow it.
        cursor.execute("SET LOCAL synchronize_seqscans = off")

        helper = _Helper(calendar, seed) if count >= HELPER_FROM else None
        drawer = _Drawer(contacts, count, source_ids, helper)
        workers = [w for w in (drawer, helper) if w]
        for worker in workers:
            worker.start()
        try:
            params = events_params(seed, calendar)
            events = _insert_events(cursor, _chunks(drawer), params, helper, progress)
        finally:
            for worker in workers:
                worker.stop.set()
            if helper:
                helper.put(None)
            for worker in workers:
                worker.join()
        cursor.execute("ANALYZE demo_contact")

        progress("rollups")
        cursor.execute(rollups_create_sql())
        memberships = _insert_contacts(cursor, calendar, now, list_ids, tag_ids, progress)
        cursor.execute("DROP TABLE demo_contact, demo_rollup")
    return events, memberships


def _insert_contacts(cursor, calendar, now, list_ids, tag_ids, progress) -> int:
    """Step 4: contacts with their rollups, then their lists and tags; returns how many of
    those."""
    level, score = engagement_sql(calendar.end)
    rollups = ", ".join(ROLLUP_KINDS)
    cursor.execute(
        f"""
        INSERT INTO {Contact._meta.db_table}
            (id, email, phone, first_name, last_name, language, time_zone, lead_source_id,
             created_at, updated_at, email_status, email_status_reason,
             email_status_changed_at, sms_status, loyalty_points, loyalty_points_expire_on,
             score, engagement_level, attributes, {rollups})
        SELECT p.id, p.email, p.phone, p.first_name, p.last_name, p.language,
               'Europe/Paris', p.source_id, to_timestamp(p.created), %(now)s,
               p.email_status, p.email_status_reason,
               to_timestamp(p.email_status_changed), p.sms_status, p.loyalty_points,
               p.loyalty_expire, {score}, {level},
               CASE WHEN p.city = '' THEN '{{}}'::jsonb
                    ELSE jsonb_build_object('ville', p.city) END,
               {", ".join(f"r.{name}" for name in ROLLUP_KINDS)}
        FROM demo_contact p LEFT JOIN demo_rollup r ON r.contact_id = p.id
        ORDER BY p.id
        """,
        {"now": now},
    )
    progress(f"contacts: {cursor.rowcount:,}")
    memberships = 0
    for table, column, ids, mask in (
        (ListMembership._meta.db_table, "contact_list_id", list_ids, "lists"),
        (Contact.tags.through._meta.db_table, "tag_id", tag_ids, "tags"),
    ):
        extra = ", subscribed_at" if column == "contact_list_id" else ""
        value = ", to_timestamp(p.created)" if extra else ""
        bits = ", ".join(f"({bit}, {pk})" for bit, pk in ids.items())
        cursor.execute(
            f"""
            INSERT INTO {table} (contact_id, {column}{extra})
            SELECT p.id, b.pk{value}
            FROM demo_contact p JOIN (VALUES {bits}) AS b(bit, pk) ON p.{mask} & b.bit <> 0
            ORDER BY p.id, b.bit
            """
        )
        memberships += cursor.rowcount
    return memberships


def analyze(tables: list[str]) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {table}")
