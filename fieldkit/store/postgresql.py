"""PostgreSQL, for a central that outgrows one SQLite file and one process.

psycopg 3 (the driver the PostgreSQL community keeps, with binary wheels for Linux,
macOS and Windows), with no ORM: store/ is some sixty hand-written statements in
the SQL both engines share, so what differs is this module: `?` placeholders become
psycopg's `%s`, JSON is read with ->>, lists are passed as arrays, rows are locked
with FOR UPDATE, and the schema is written in PostgreSQL's types. Text columns sort
by bytes (COLLATE "C"), as SQLite's do, so that every ORDER BY and comparison of
timestamps and ids gives the same answer on both engines.

Installed with `pip install 'fieldkit[postgresql]'`; imported only when a
postgresql:// URL is opened, so a laptop never loads it."""
from __future__ import annotations

import functools
import itertools

from .db import Database, DatabaseUnavailable, shown, write
from .util import utcnow

try:
    import psycopg
    from psycopg import pq
except ImportError:  # pragma: no cover - the message is the point
    psycopg = None


_cursors = itertools.count(1)


class MissingDriver(DatabaseUnavailable):
    """A postgresql:// URL on an installation without psycopg."""


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """store/'s SQL as psycopg takes it: each ? outside a quoted literal becomes %s,
    and a % anywhere becomes %% (psycopg reads % as the start of a placeholder).
    A SQLite-only construct is a programming error here, said plainly."""
    for sqlite_only in ("INSERT OR ", "json_each", "json_extract", "BEGIN IMMEDIATE"):
        if sqlite_only in sql:
            raise ValueError(f"SQLite-only SQL reached PostgreSQL ({sqlite_only!r}): {sql}")
    out, quoted = [], None
    for ch in sql:
        if ch == "%":
            out.append("%%")
        elif quoted:
            out.append(ch)
            if ch == quoted:
                quoted = None
        elif ch in ("'", '"'):
            quoted = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


class PostgreSQL(Database):
    dialect = "postgresql"
    data_errors = (psycopg.DataError,) if psycopg else ()
    for_update = " FOR UPDATE"

    def __init__(self, conn):
        self.conn = conn

    def execute(self, sql, params=()):
        return self.conn.execute(translate(sql), list(params))

    def executemany(self, sql, rows):
        with self.conn.cursor() as cursor:
            cursor.executemany(translate(sql), [list(r) for r in rows])

    def insert(self, table, row, returning=None):
        sql = self.insert_sql(table, row) + (f" RETURNING {returning}" if returning else "")
        cursor = self.execute(sql, list(row.values()))
        return cursor.fetchone()[0] if returning else None

    def stream(self, sql, params=(), size=1000, dicts=False):
        # A server-side cursor: the server holds the result, this process `size` rows at a time.
        # Outside a transaction it must be WITH HOLD (kept past the autocommit of its statement).
        name = f"fk_stream_{next(_cursors)}"
        with self.conn.cursor(name=name, withhold=not self.in_transaction) as cursor:
            cursor.itersize = size
            cursor.execute(translate(sql), list(params))
            names = [d[0] for d in cursor.description]
            for row in cursor:
                yield dict(zip(names, row)) if dicts else row

    def columns(self, table):
        return [r[0] for r in self.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? ORDER BY ordinal_position", [table])]

    def reset_ids(self, table):
        self.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                     f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")

    @property
    def in_transaction(self):
        return self.conn.info.transaction_status != pq.TransactionStatus.IDLE

    @property
    def healthy(self) -> bool:
        return not self.conn.closed and not self.conn.broken

    def begin(self):
        self.conn.execute("BEGIN")

    def begin_relaxed(self):
        # PostgreSQL's own relaxed commit: the WAL writer flushes it within 3 x wal_writer_delay
        # (200 ms by default); a crash before may undo it, whole.
        self.begin()
        self.conn.execute("SET LOCAL synchronous_commit TO OFF")

    def serialize(self, name):
        self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", [f"fieldkit:{name}"])

    def begin_snapshot(self):
        self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def close(self):
        self.conn.close()

    def json_text(self, column, *keys):
        return f"({column}::jsonb #>> '{{{','.join(keys)}}}')"

    def not_in(self, column, values):
        return f"NOT ({column} = ANY(?))", sorted(values)

    def in_list(self, column, values):
        return f"{column} = ANY(?)", sorted(values)

    def json_items(self, column, alias, safe=False):
        return f"jsonb_each_text({SAFE_JSONB.format(column=column) if safe else f'{column}::jsonb'}) AS {alias}"


def connect(url: str) -> PostgreSQL:
    if psycopg is None:
        raise MissingDriver("PostgreSQL needs the psycopg driver: pip install 'fieldkit[postgresql]'")
    try:
        # autocommit: transactions are begun explicitly by write(), as on SQLite.
        return PostgreSQL(psycopg.connect(url, autocommit=True, application_name="fieldkit", connect_timeout=15))
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DatabaseUnavailable(f"Cannot open the database {shown(url)}: {reason}") from None


# --- the schema --------------------------------------------------------------------------------

T = 'TEXT COLLATE "C"'  # compared and sorted by bytes, as in SQLite
ID = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"

# Each migration: its name (the same as SQLite's where both have it) and its statements, run in
# one transaction. The first stands for SQLite's m001 to m014: PostgreSQL joined at m014, so its
# schema starts where SQLite's had arrived; every later migration is written for both engines.
MIGRATIONS: list[tuple[str, list[str]]] = [
    ("m014_xforms", [
        f"CREATE TABLE meta (key {T} PRIMARY KEY, value {T})",
        f"""CREATE TABLE forms (id {ID}, form_id {T} NOT NULL, version {T} NOT NULL, title {T}, languages {T},
            model {T} NOT NULL, source BYTEA, source_name {T}, source_sha256 {T}, status {T} NOT NULL,
            created_at {T} NOT NULL, public_id {T}, public_key {T}, model_sha256 {T}, xform {T}, xform_md5 {T})""",
        "CREATE UNIQUE INDEX idx_forms_form_id_version ON forms (form_id, version)",
        "CREATE INDEX idx_forms_public_id ON forms (public_id)",
        f"""CREATE TABLE drafts (token_hash {T} PRIMARY KEY, form_id {T} NOT NULL, form_version {T} NOT NULL,
            uuid {T} NOT NULL, language {T}, answers {T} NOT NULL, position BIGINT, started_at {T},
            updated_at {T}, event_id BIGINT, instance BIGINT NOT NULL DEFAULT 0, path {T})""",
        "CREATE INDEX idx_drafts_updated_at ON drafts (updated_at)",
        f"""CREATE TABLE submissions (uuid {T} PRIMARY KEY, form_id {T} NOT NULL, form_version {T} NOT NULL,
            language {T}, answers {T} NOT NULL, content_hash {T} NOT NULL, started_at {T},
            submitted_at {T} NOT NULL, device_id {T}, synced_at {T}, event_id BIGINT, device_name {T},
            sync_state {T})""",
        "CREATE INDEX idx_submissions_form_id_submitted_at ON submissions (form_id, submitted_at)",
        "CREATE INDEX idx_submissions_form_id_event_id ON submissions (form_id, event_id)",
        "CREATE INDEX idx_submissions_unsynced ON submissions (submitted_at, uuid) WHERE sync_state IS NULL",
        f"""CREATE TABLE users (username {T} PRIMARY KEY, password_hash {T} NOT NULL, role {T} NOT NULL,
            created_at {T} NOT NULL, failed_logins BIGINT DEFAULT 0, locked_until {T}, last_login {T},
            session_key {T})""",
        f"""CREATE TABLE events (id {ID}, code {T} NOT NULL, name {T} NOT NULL, site {T}, date {T},
            forms {T} NOT NULL, wifi_ssid {T}, wifi_password {T}, wifi_security {T}, created_at {T} NOT NULL,
            help {T})""",
        "CREATE UNIQUE INDEX idx_events_code ON events (code)",
        f"CREATE TABLE audit (id {ID}, at {T} NOT NULL, username {T}, action {T} NOT NULL, detail {T})",
        f"""CREATE TABLE devices (name {T} PRIMARY KEY, token_hash {T} NOT NULL, created_at {T} NOT NULL,
            last_seen {T}, revoked_at {T}, received BIGINT DEFAULT 0, duplicates BIGINT DEFAULT 0,
            conflicts BIGINT DEFAULT 0)""",
        "CREATE UNIQUE INDEX idx_devices_token_hash ON devices (token_hash)",
        f"""CREATE TABLE conflicts (id {ID}, uuid {T} NOT NULL, device_name {T}, content_hash {T} NOT NULL,
            record {T} NOT NULL, received_at {T} NOT NULL)""",
        "CREATE UNIQUE INDEX idx_conflicts_uuid_content_hash ON conflicts (uuid, content_hash)",
        f"""CREATE TABLE fonts (key {T} PRIMARY KEY, digest {T} NOT NULL, woff2 BYTEA NOT NULL, chars {T} NOT NULL,
            created_at {T} NOT NULL)""",
        "CREATE INDEX idx_fonts_digest ON fonts (digest)",
        f"""CREATE TABLE form_media (sha256 {T} PRIMARY KEY, content_type {T} NOT NULL, data BYTEA NOT NULL,
            created_at {T} NOT NULL)""",
        f"""CREATE TABLE attachments (uuid {T}, name {T}, question {T} NOT NULL, content_type {T} NOT NULL,
            size BIGINT NOT NULL, sha256 {T} NOT NULL, data BYTEA NOT NULL, sealed {T}, created_at {T} NOT NULL,
            PRIMARY KEY (uuid, name))""",
        f"CREATE TABLE receipts (token_hash {T} PRIMARY KEY, uuid {T} NOT NULL, created_at {T} NOT NULL)",
        f"CREATE TABLE signin_failures (name_hash {T} PRIMARY KEY, failures BIGINT, locked_until {T})",
    ]),
    # PostgreSQL only (SQLite's json_valid does this there): the answers are always JSON, but
    # jsonb refuses some of what Python's json writes (\u0000 in a string, NaN): a query that
    # parses answers must not fail on one of them. Read with U+FFFD for \u0000, else as NULL.
    # Only such rare answers reach this function (SAFE_JSONB): its EXCEPTION clause costs a
    # subtransaction each. And SAFE_JSONB is used only once the plain cast has failed (+40% time).
    ("pg01_safe_jsonb", [
        r"""CREATE FUNCTION fieldkit_safe_jsonb(answers text) RETURNS jsonb
           LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
           BEGIN
               RETURN replace(answers, '\u0000', '\ufffd')::jsonb;
           EXCEPTION WHEN others THEN
               RETURN NULL;
           END $$""",
    ]),
    ("m015_collectors", [
        f"""CREATE TABLE collectors (name {T} PRIMARY KEY, token_hash {T} NOT NULL, created_at {T} NOT NULL,
            revoked_at {T}, last_seen {T}, received BIGINT DEFAULT 0)""",
        "CREATE UNIQUE INDEX idx_collectors_token_hash ON collectors (token_hash)",
    ]),
]

# The JSON in a text column as jsonb: cast where it is plain, through fieldkit_safe_jsonb where
# the cast might fail. The three checks cost 0.8 s a million rows beside the cast's 1.9 s: used by
# json_items(safe=True) only, once a plain cast has failed (DATA_ERRORS).
SAFE_JSONB = ("(CASE WHEN strpos({column}, '\\u0000') = 0 AND strpos({column}, 'NaN') = 0 "
              "AND strpos({column}, 'Infinity') = 0 THEN {column}::jsonb ELSE fieldkit_safe_jsonb({column}) END)")

_LOCK = 0x6669656C646B6974 & 0x7FFFFFFFFFFFFFFF  # "fieldkit": one migrator at a time, whatever the process


def migrate(db: PostgreSQL) -> list[str]:
    """Apply the migrations not yet applied, in order, each in a transaction of its own
    under an advisory lock, so that several processes starting at once migrate once."""
    applied = []
    with write(db):
        db.execute("SELECT pg_advisory_xact_lock(?)", [_LOCK])
        db.execute(f"CREATE TABLE IF NOT EXISTS fieldkit_migrations (name {T} PRIMARY KEY, applied_at {T} NOT NULL)")
    for name, statements in MIGRATIONS:
        with write(db):
            db.execute("SELECT pg_advisory_xact_lock(?)", [_LOCK])
            if db.one("SELECT 1 AS done FROM fieldkit_migrations WHERE name = ?", [name]):
                continue
            for statement in statements:
                db.execute(statement)
            db.execute("INSERT INTO fieldkit_migrations (name, applied_at) VALUES (?, ?)", [name, utcnow()])
            applied.append(name)
    return applied


def applied_migrations(db: PostgreSQL) -> list[str]:
    return [r["name"] for r in db.query("SELECT name FROM fieldkit_migrations ORDER BY name")]
