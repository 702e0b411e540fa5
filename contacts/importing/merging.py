"""Writing a chunk of validated contacts into the base: a staging table and set-based SQL.

Each chunk goes into a temporary staging table (COPY on PostgreSQL), then a handful of
statements merge it:

1. on PostgreSQL, as long as chunks meet no existing contact, insert the chunk whole: the
   unique e-mail index tells when one does, and the chunk takes the steps below instead;
2. find which e-mails already exist, and which this very import already wrote;
3. insert the new contacts;
4. update existing ones (only with `update_existing`, or when an earlier row of the same file
   created them), never turning a suppressed contact back into subscribed;
5. add every contact of the chunk to the chosen list.

Lead sources travel by name and are joined in SQL, so that nothing here looks at a row in
Python: on PostgreSQL the chunk's text goes to the server as it came from the validator.
"""

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from contacts.importing.chunks import STAGING_COLUMNS, Chunk
from contacts.importing.rows import PLAIN_FIELDS
from contacts.models import (
    Contact,
    EmailStatus,
    EngagementLevel,
    LeadSource,
    ListMembership,
    SmsStatus,
)

UPDATE, MERGE = "u", "m"
# The share of a chunk found to exist already above which the next chunks stop trying the
# plain insert first: a duplicate across a chunk boundary should not slow down the rest.
OPTIMISM_LIMIT = 0.01
# The columns a new contact gets values for (the rest have none to give: rollups).
_CONTACT_COLUMNS = (
    "email", "phone", "first_name", "last_name", "language", "time_zone", "lead_source_id",
    "created_at", "updated_at", "email_status", "email_status_reason", "sms_status",
    "loyalty_points", "loyalty_points_expire_on", "score", "engagement_level", "attributes",
)  # fmt: skip


class ChunkMerger:
    """Writes chunks (unique e-mails within each) into the base; see the module docstring."""

    staging = "relance_import_chunk"
    touched = "relance_import_touched"

    def __init__(self, options) -> None:
        self.options = options
        self.postgres = connection.vendor == "postgresql"
        self.contact = Contact._meta.db_table
        self.membership = ListMembership._meta.db_table
        self.source = LeadSource._meta.db_table
        self.default_source = options.lead_source.pk if options.lead_source else None
        self.known_sources: set[str] = set()
        self.last_id_before = 0
        self.optimistic = self.postgres
        self._wait, self._backoff = 0, 1

    def setup(self) -> None:
        """Create the temporary tables (dropping leftovers of a crashed import first).

        Contacts with an id above `last_id_before` were created by this import; the
        `touched` table remembers the pre-existing contacts it has already written, so that a
        later duplicate row is recognised even many chunks later, without holding every
        e-mail of the file in memory.
        """
        json_type = "jsonb" if self.postgres else "text"
        timestamp = "timestamptz" if self.postgres else "datetime"
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.staging}")
            cursor.execute(f"DROP TABLE IF EXISTS {self.touched}")
            cursor.execute(
                f"""CREATE TEMPORARY TABLE {self.staging} (
                    email varchar(254), phone varchar(20), first_name varchar(150),
                    last_name varchar(150), language varchar(10), time_zone varchar(64),
                    source varchar(100), created_at {timestamp}, email_status varchar(16),
                    sms_status varchar(16), loyalty_points integer,
                    loyalty_points_expire_on date, score integer, attributes {json_type},
                    contact_id bigint, action varchar(1)
                )"""
            )
            cursor.execute(f"CREATE TEMPORARY TABLE {self.touched} (contact_id bigint PRIMARY KEY)")
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {self.contact}")
            self.last_id_before = cursor.fetchone()[0]

    def teardown(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.staging}")
            cursor.execute(f"DROP TABLE IF EXISTS {self.touched}")

    def merge(self, chunk: Chunk, result) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            if self.postgres:
                cursor.execute(
                    # A chunk lost in a crash is found again by re-running the file, so
                    # waiting for the WAL flush on every chunk buys nothing. Every statement
                    # looks rows up by key; while a large import fills the table, its
                    # statistics lag behind (a million rows may still look empty) and the
                    # planner would scan the whole table for each chunk. The penalty that
                    # keeps it from doing so would make it JIT-compile every statement
                    # (~0.3 s each): there is nothing here for JIT to win.
                    "SELECT set_config('synchronous_commit', 'off', true), "
                    "set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true)"
                )
            self._sources_ensure(chunk.sources)
            self._stage(cursor, chunk.data)
            if self.optimistic and not self._wait:
                created = self._insert_all(cursor)
                if created is not None:
                    result.created += created
                    self._backoff = 1
                    return
                # A duplicate of an earlier chunk, most likely: try again after 1, 2, 4...
                # chunks, so that a file full of them does not pay for each attempt.
                self._wait, self._backoff = self._backoff, self._backoff * 2
            elif self._wait:
                self._wait -= 1
            existing = self._merge_staged(cursor, result)
            if existing > chunk.count * OPTIMISM_LIMIT:
                # An update, rather: the chunks to come will meet existing contacts too.
                self.optimistic = False

    def _sources_ensure(self, names: set[str]) -> None:
        missing = names - self.known_sources
        if missing:
            LeadSource.objects.bulk_create(
                [LeadSource(name=name) for name in sorted(missing)], ignore_conflicts=True
            )
            self.known_sources |= missing

    def _stage(self, cursor, data: bytes | list[tuple]) -> None:
        if self.postgres:
            cursor.execute(f"TRUNCATE {self.staging}")
            columns = ", ".join(STAGING_COLUMNS)
            with cursor.cursor.copy(
                f"COPY {self.staging} ({columns}) FROM STDIN (FORMAT text, NULL '')"
            ) as copy:
                copy.write(data)
            return
        cursor.execute(f"DELETE FROM {self.staging}")
        ops = connection.ops
        records = [
            (
                *record[:7],
                ops.adapt_datetimefield_value(record[7]),
                *record[8:11],
                ops.adapt_datefield_value(record[11]),
                *record[12:],
            )
            for record in data
        ]
        placeholders = ", ".join(["%s"] * len(STAGING_COLUMNS))
        cursor.executemany(
            f"INSERT INTO {self.staging} ({', '.join(STAGING_COLUMNS)}) VALUES ({placeholders})",
            records,
        )

    def _new_contacts_sql(self, where: str) -> tuple[str, list]:
        """INSERT ... SELECT of the staged rows that `where` picks, with the defaults."""
        now = timezone.now()
        empty_json = "'{}'::jsonb" if self.postgres else "'{}'"
        return (
            f"""INSERT INTO {self.contact} ({", ".join(_CONTACT_COLUMNS)})
                SELECT s.email, COALESCE(s.phone, ''), COALESCE(s.first_name, ''),
                    COALESCE(s.last_name, ''), COALESCE(s.language, ''),
                    COALESCE(s.time_zone, ''), COALESCE(ls.id, %s),
                    COALESCE(s.created_at, %s), %s, COALESCE(s.email_status, %s), '',
                    COALESCE(s.sms_status, %s), COALESCE(s.loyalty_points, 0),
                    s.loyalty_points_expire_on, COALESCE(s.score, 0), %s,
                    COALESCE(s.attributes, {empty_json})
                FROM {self.staging} s LEFT JOIN {self.source} ls ON ls.name = s.source
                {where}""",
            [
                self.default_source,
                now,
                now,
                EmailStatus.SUBSCRIBED.value,
                SmsStatus.NO_CONSENT.value,
                EngagementLevel.NEVER.value,
            ],
        )

    def _insert_all(self, cursor) -> int | None:
        """Insert the whole chunk as new contacts: the fast path on PostgreSQL.

        Returns None, having changed nothing, when one of them exists already (met earlier
        in the file, or created meanwhile by someone else): the unique index says so.
        """
        insert, params = self._new_contacts_sql("")
        contact_list = self.options.contact_list
        try:
            with transaction.atomic():
                if contact_list is None:
                    cursor.execute(insert, params)
                    return cursor.rowcount
                # All of them are new: their ids come back from the insert, no look-up.
                cursor.execute(
                    f"""WITH new AS ({insert} RETURNING id),
                        members AS (
                            INSERT INTO {self.membership}
                                (contact_list_id, contact_id, subscribed_at)
                            SELECT %s, id, %s FROM new
                            ON CONFLICT (contact_list_id, contact_id) DO NOTHING
                        )
                        SELECT COUNT(*) FROM new""",
                    [*params, contact_list.pk, timezone.now()],
                )
                return cursor.fetchone()[0]
        except IntegrityError:
            return None

    def _merge_staged(self, cursor, result) -> int:
        """Classify the staged rows against the base, then write them; returns how many of
        them existed already."""
        s, c, t = self.staging, self.contact, self.touched
        if self.postgres:
            # From here on every statement looks up a chunk's worth of rows by key in tables
            # that may hold millions: left to itself, with statistics that lag behind, the
            # planner would hash the whole contact table for each chunk.
            cursor.execute(
                "SELECT set_config('enable_hashjoin', 'off', true), "
                "set_config('enable_mergejoin', 'off', true)"
            )
        cursor.execute(
            f"""UPDATE {s} SET contact_id = c.id,
                    action = CASE
                        WHEN c.id > %s OR EXISTS (SELECT 1 FROM {t} t WHERE t.contact_id = c.id)
                        THEN %s ELSE %s END
                FROM {c} c WHERE c.email = {s}.email""",
            [self.last_id_before, MERGE, UPDATE],
        )
        cursor.execute(f"SELECT action, COUNT(*) FROM {s} WHERE action IS NOT NULL GROUP BY action")
        counts = dict(cursor.fetchall())
        first_sightings, duplicates = counts.get(UPDATE, 0), counts.get(MERGE, 0)
        # A later row of a contact this file already wrote: a duplicate, merged into it when
        # this file created it or when updates were asked for.
        result.merged += duplicates
        insert, params = self._new_contacts_sql(
            "WHERE s.action IS NULL ON CONFLICT (email) DO NOTHING"
        )
        cursor.execute(insert, params)
        result.created += cursor.rowcount
        if self.options.update_existing:
            updated = self._update(cursor, UPDATE)
            result.updated += updated
            result.unchanged += first_sightings - updated
        else:
            result.unchanged += first_sightings
        if duplicates:
            self._update(cursor, MERGE)
        if first_sightings:
            # Each of them is new to the table: a chunk's e-mails are unique, and one found
            # there would have been classified a duplicate.
            cursor.execute(
                f"INSERT INTO {t} (contact_id) SELECT contact_id FROM {s} WHERE action = %s",
                [UPDATE],
            )
        if self.options.contact_list is not None:
            cursor.execute(
                f"""INSERT INTO {self.membership} (contact_list_id, contact_id, subscribed_at)
                    SELECT %s, c.id, %s FROM {s}, {c} c WHERE c.email = {s}.email
                    ON CONFLICT (contact_list_id, contact_id) DO NOTHING""",
                [self.options.contact_list.pk, timezone.now()],
            )
        return first_sightings + duplicates

    def _update(self, cursor, action: str) -> int:
        """Apply staged values to existing contacts; returns how many actually changed.

        An empty cell keeps the stored value, extra columns merge into the attributes, the
        row's source replaces the stored one (the import's default source standing in for a
        row without one), and the file's status applies only to a contact currently
        subscribed (or, for SMS, not refused): an import never resubscribes a suppressed
        address. Duplicates of pre-existing contacts are only written with `update_existing`.
        """
        c = self.contact
        differs = "IS DISTINCT FROM" if self.postgres else "IS NOT"
        merged_attributes = (
            f"{c}.attributes || s.attributes"
            if self.postgres
            else f"json_patch({c}.attributes, s.attributes)"
        )
        new_values = {
            **{name: f"COALESCE(s.{name}, {c}.{name})" for name in PLAIN_FIELDS},
            "lead_source_id": f"COALESCE(ls.id, %s, {c}.lead_source_id)",
            "email_status": (
                f"CASE WHEN {c}.email_status = 'subscribed' AND s.email_status IS NOT NULL "
                f"THEN s.email_status ELSE {c}.email_status END"
            ),
            "sms_status": (
                f"CASE WHEN {c}.sms_status IN ('subscribed', 'no_consent') "
                f"AND s.sms_status IS NOT NULL THEN s.sms_status ELSE {c}.sms_status END"
            ),
            "attributes": (
                f"CASE WHEN s.attributes IS NULL THEN {c}.attributes ELSE {merged_attributes} END"
            ),
        }
        assignments = ", ".join(f"{name} = {value}" for name, value in new_values.items())
        # SQLite keeps JSON as text: compare it minified, as json_patch writes it.
        compared = {name: (value, f"{c}.{name}") for name, value in new_values.items()}
        if not self.postgres:
            attributes, stored = compared["attributes"]
            compared["attributes"] = (f"json({attributes})", f"json({stored})")
        changed = " OR ".join(f"({new}) {differs} {old}" for new, old in compared.values())
        which = "" if action == UPDATE or self.options.update_existing else "AND s.contact_id > %s"
        cursor.execute(
            f"""UPDATE {c} SET {assignments}, updated_at = %s
                FROM {self.staging} s LEFT JOIN {self.source} ls ON ls.name = s.source
                WHERE s.action = %s AND {c}.id = s.contact_id {which} AND ({changed})""",
            [
                self.default_source,
                timezone.now(),
                action,
                *([self.last_id_before] if which else []),
                self.default_source,
            ],
        )
        return cursor.rowcount
