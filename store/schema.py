"""The store's schema, in one place: the tables `build` owns apart from the tables the desk owns.

`apec-bot build` empties and refills the BUILD tables from `seeds/` in one transaction. It never
touches the DESK tables: what the desk added in Slack (subscriptions, edits, the delivery log,
ingested documents) lives there and survives every rebuild.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from store.db import immediate

SCHEMA_VERSION = 1

# Derived from seeds/ (and from the desk's own documents); replaced whole by every build.
BUILD_TABLES: dict[str, str] = {
    "sources": """
        CREATE TABLE IF NOT EXISTS sources (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            publisher TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL DEFAULT '',
            reference_date TEXT NOT NULL,
            file TEXT NOT NULL,
            original_name TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            origin TEXT NOT NULL,          -- 'seed' or 'desk' (added with `apec-bot ingest`)
            added_at TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT ''
        )""",
    "passages": """
        CREATE TABLE IF NOT EXISTS passages (
            id INTEGER PRIMARY KEY,
            source_id TEXT NOT NULL REFERENCES sources(id),
            seq INTEGER NOT NULL,
            heading TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,     -- folded text: one passage in two sources is kept once
            also_in TEXT NOT NULL DEFAULT '[]'
        )""",
    "economies": """
        CREATE TABLE IF NOT EXISTS economies (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            source_id TEXT NOT NULL REFERENCES sources(id),
            quote TEXT NOT NULL
        )""",
    "non_members": """
        CREATE TABLE IF NOT EXISTS non_members (
            name TEXT PRIMARY KEY
        )""",
    # Each record as each source that states it has it (desk.toml's `earlier`, the record itself,
    # the desk's changes): what `Store.at(day)` reads, the latest published by then.
    "versions": """
        CREATE TABLE IF NOT EXISTS versions (
            kind TEXT NOT NULL,            -- the record's table: meetings, people, roles, ...
            record_id TEXT NOT NULL,       -- its id there (a role's number, delegation/person)
            seq INTEGER NOT NULL,          -- its versions in order: the later wins on one day
            published TEXT NOT NULL,       -- ISO date the statement was published
            source_id TEXT NOT NULL,
            quote TEXT NOT NULL,
            fields TEXT NOT NULL,          -- JSON: the record's row as this version has it;
                                           -- null: the desk took the record out
            origin TEXT NOT NULL DEFAULT 'seed',  -- 'desk': wins over the seeds once published
            PRIMARY KEY (kind, record_id, seq)
        )""",
    "aliases": """
        CREATE TABLE IF NOT EXISTS aliases (
            kind TEXT NOT NULL,            -- 'economy', 'non_member', 'meeting', 'person'
            alias TEXT NOT NULL,           -- folded: lower case, no punctuation
            name TEXT NOT NULL,            -- as people write it ("US", "Viet Nam")
            target TEXT NOT NULL,
            PRIMARY KEY (kind, alias)
        )""",
    "meetings": """
        CREATE TABLE IF NOT EXISTS meetings (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            short TEXT NOT NULL,
            kind TEXT NOT NULL,            -- som, summit, ministerial, committee, event
            parent_id TEXT NOT NULL DEFAULT '',
            date_text TEXT NOT NULL DEFAULT '',
            start_date TEXT,               -- ISO date, NULL when unknown
            end_date TEXT,
            precision TEXT NOT NULL,       -- day, month, year, unknown
            status TEXT NOT NULL,          -- held, scheduled, reported, tbc, cancelled
            city TEXT NOT NULL DEFAULT '',
            host_id TEXT NOT NULL DEFAULT '',
            tz TEXT NOT NULL DEFAULT '',
            source_id TEXT NOT NULL REFERENCES sources(id),
            quote TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            origin TEXT NOT NULL DEFAULT 'seed'   -- 'seed' or 'desk'
        )""",
    "people": """
        CREATE TABLE IF NOT EXISTS people (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            economy_id TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL DEFAULT '',
            organization TEXT NOT NULL DEFAULT '',
            source_id TEXT NOT NULL REFERENCES sources(id),
            quote TEXT NOT NULL
        )""",
    "roles": """
        CREATE TABLE IF NOT EXISTS roles (
            id INTEGER PRIMARY KEY,
            person_id TEXT NOT NULL REFERENCES people(id),
            role TEXT NOT NULL,
            meeting_id TEXT NOT NULL DEFAULT '',
            source_id TEXT NOT NULL REFERENCES sources(id),
            quote TEXT NOT NULL
        )""",
    "delegations": """
        CREATE TABLE IF NOT EXISTS delegations (
            id TEXT PRIMARY KEY,
            economy_id TEXT NOT NULL,
            meeting_id TEXT NOT NULL,
            head_id TEXT NOT NULL DEFAULT '',
            source_id TEXT NOT NULL REFERENCES sources(id),
            quote TEXT NOT NULL
        )""",
    "delegation_members": """
        CREATE TABLE IF NOT EXISTS delegation_members (
            delegation_id TEXT NOT NULL REFERENCES delegations(id),
            person_id TEXT NOT NULL REFERENCES people(id),
            role TEXT NOT NULL DEFAULT '',
            source_id TEXT NOT NULL DEFAULT '',
            quote TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (delegation_id, person_id)
        )""",
    "objectives": """
        CREATE TABLE IF NOT EXISTS objectives (
            id INTEGER PRIMARY KEY,
            delegation_id TEXT NOT NULL REFERENCES delegations(id),
            text TEXT NOT NULL,
            source_id TEXT NOT NULL REFERENCES sources(id),
            quote TEXT NOT NULL
        )""",
    "facts": """
        CREATE TABLE IF NOT EXISTS facts (
            id TEXT PRIMARY KEY,
            topic TEXT NOT NULL,
            keywords TEXT NOT NULL,        -- JSON list of lower-case words and phrases
            answer TEXT NOT NULL,
            source_id TEXT NOT NULL REFERENCES sources(id),
            quote TEXT NOT NULL
        )""",
    "glossary": """
        CREATE TABLE IF NOT EXISTS glossary (
            term TEXT PRIMARY KEY,         -- as written ("BMC")
            aliases TEXT NOT NULL DEFAULT '[]',   -- JSON list of other spellings ("SOMs")
            expansion TEXT NOT NULL DEFAULT '',   -- what an abbreviation stands for, '' if none
            definition TEXT NOT NULL DEFAULT '',  -- what it is, only as its source states it
            kind TEXT NOT NULL,            -- committee, meeting, economy, office, shorthand...
            refers_to TEXT NOT NULL DEFAULT '',   -- a meeting's, economy's or person's id, or ''
            source_id TEXT REFERENCES sources(id),  -- NULL: the desk's own shorthand
            quote TEXT NOT NULL DEFAULT '',
            reading_only INTEGER NOT NULL DEFAULT 0  -- 1: reads a question, never cited
        )""",
    "build_info": """
        CREATE TABLE IF NOT EXISTS build_info (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""",
}

# What the desk added; `build` never writes here.
DESK_TABLES: dict[str, str] = {
    "desk_documents": """
        CREATE TABLE IF NOT EXISTS desk_documents (
            id TEXT PRIMARY KEY,
            file_name TEXT NOT NULL,
            title TEXT NOT NULL,
            reference_date TEXT NOT NULL,
            text TEXT NOT NULL,
            sha256 TEXT NOT NULL UNIQUE,
            added_at TEXT NOT NULL
        )""",
    "subscriptions": """
        CREATE TABLE IF NOT EXISTS subscriptions (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            kind TEXT NOT NULL,             -- 'reminders' or 'digest'
            tz TEXT NOT NULL,               -- IANA zone the channel's times are in
            offsets TEXT NOT NULL DEFAULT '[]',   -- reminders: JSON list, e.g. ["7d", "1d", "0d"]
            kinds TEXT NOT NULL DEFAULT '[]',     -- reminders: meeting kinds: ["som", "summit"]
            cadence TEXT NOT NULL DEFAULT '',     -- digest: 'daily' or 'weekly'
            weekday INTEGER NOT NULL DEFAULT 0,   -- digest: 0 = Monday
            at_time TEXT NOT NULL DEFAULT '09:00',
            created_by TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,       -- UTC ISO; nothing due before it is owed to the channel
            UNIQUE (channel, kind)
        )""",
    "one_offs": """
        CREATE TABLE IF NOT EXISTS one_offs (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            due_at TEXT NOT NULL,           -- UTC ISO
            tz TEXT NOT NULL,
            text TEXT NOT NULL,
            meeting_id TEXT NOT NULL DEFAULT '',
            offset_text TEXT NOT NULL DEFAULT '',
            created_by TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            cancelled INTEGER NOT NULL DEFAULT 0
        )""",
    # A reminder that recurs: occurrences are wall-clock times in the asker's zone (09:00 stays
    # 09:00 across daylight saving), each posted once under the key
    # recurring:<id>:<wall time to the minute>.
    "recurring": """
        CREATE TABLE IF NOT EXISTS recurring (
            id INTEGER PRIMARY KEY,
            target TEXT NOT NULL,           -- a channel (C…, G…) or a person (U…, W…: a DM)
            tz TEXT NOT NULL,               -- the asker's IANA zone: occurrences' wall times
            rule TEXT NOT NULL,             -- RFC 5545 RRULE, no DTSTART: FREQ=WEEKLY;BYDAY=MO
            start TEXT NOT NULL,            -- the first occurrence's wall time, ISO without offset
            text TEXT NOT NULL,
            meeting_id TEXT NOT NULL DEFAULT '',  -- "until SOM2": none on or after its first day
            until_text TEXT NOT NULL DEFAULT '',  -- the end as typed, for listings
            created_by TEXT NOT NULL DEFAULT '',
            for_user TEXT NOT NULL DEFAULT '',    -- the person reminded, when not the asker
            created_at TEXT NOT NULL,       -- UTC ISO
            since TEXT NOT NULL,            -- UTC ISO: made, or last resumed; nothing due before
                                            -- it is owed (what fell due while paused is not)
            paused INTEGER NOT NULL DEFAULT 0,
            cancelled INTEGER NOT NULL DEFAULT 0
        )""",
    "done": """
        CREATE TABLE IF NOT EXISTS done (
            key TEXT PRIMARY KEY,           -- a post's delivery key: "Mark as done" pressed on it
            by TEXT NOT NULL,               -- who pressed it first
            at TEXT NOT NULL                -- UTC ISO
        )""",
    "pauses": """
        CREATE TABLE IF NOT EXISTS pauses (
            channel TEXT PRIMARY KEY,
            until TEXT,                     -- UTC ISO, NULL: until resumed
            paused_by TEXT NOT NULL DEFAULT '',
            paused_at TEXT NOT NULL
        )""",
    "deliveries": """
        CREATE TABLE IF NOT EXISTS deliveries (
            key TEXT PRIMARY KEY,           -- claimed before the post is sent: exactly once
            channel TEXT NOT NULL,
            kind TEXT NOT NULL,             -- reminder, digest, one-off, alert
            meeting_id TEXT NOT NULL DEFAULT '',
            due_at TEXT NOT NULL,           -- UTC ISO
            status TEXT NOT NULL,           -- claimed, unknown, sent, retry, failed, skipped,
                                            -- cancelled
            holder TEXT NOT NULL DEFAULT '',      -- the scheduler instance holding the claim
            claimed_at REAL NOT NULL DEFAULT 0,   -- wall-clock seconds
            ts TEXT,                        -- Slack's ts of the post, recorded after it is sent
            late INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT NOT NULL DEFAULT '',
            updated_at TEXT NOT NULL DEFAULT ''
        )""",
    "desk_meetings": """
        CREATE TABLE IF NOT EXISTS desk_meetings (
            id TEXT PRIMARY KEY,            -- the meeting's id: a seed meeting's, or a new one
            record TEXT NOT NULL,           -- JSON: a [[meetings]] record's fields (desk.toml)
            edited_by TEXT NOT NULL,
            edited_at TEXT NOT NULL         -- UTC ISO
        )""",
    "desk_delegates": """
        CREATE TABLE IF NOT EXISTS desk_delegates (
            economy TEXT NOT NULL,
            meeting TEXT NOT NULL,
            name TEXT NOT NULL,             -- as the desk typed it
            role TEXT NOT NULL DEFAULT '',
            removed INTEGER NOT NULL DEFAULT 0,   -- 1: the desk took this person out
            edited_by TEXT NOT NULL,
            edited_at TEXT NOT NULL,
            PRIMARY KEY (economy, meeting, name)
        )""",
    "audit": """
        CREATE TABLE IF NOT EXISTS audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,               -- UTC ISO
            user TEXT NOT NULL,
            action TEXT NOT NULL,           -- add-meeting, edit-meeting, cancel-meeting,
                                            -- add-delegate, ...
            target TEXT NOT NULL,           -- the meeting's id, or economy/meeting/name
            before TEXT NOT NULL DEFAULT '',      -- JSON of the record before, '' if none
            after TEXT NOT NULL DEFAULT ''        -- JSON of the record after, '' if removed
        )""",
    "settings": """
        CREATE TABLE IF NOT EXISTS settings (
            key TEXT PRIMARY KEY,           -- feed_token: the secret in the calendar feed's path
            value TEXT NOT NULL
        )""",
    "feeds": """
        CREATE TABLE IF NOT EXISTS feeds (
            url TEXT PRIMARY KEY,           -- a watched source: an RSS or Atom feed, or a page
            added_by TEXT NOT NULL,         -- a Slack user, cli, or APEC_FEEDS
            added_at TEXT NOT NULL,         -- UTC ISO
            kind TEXT NOT NULL DEFAULT '',  -- feed or page, as last read
            etag TEXT NOT NULL DEFAULT '',  -- sent back as If-None-Match
            last_modified TEXT NOT NULL DEFAULT '',   -- sent back as If-Modified-Since
            last_fetch_at TEXT NOT NULL DEFAULT '',   -- UTC ISO of the last request, '' if none
            last_new_at TEXT NOT NULL DEFAULT '',     -- UTC ISO of the last new document from it
            last_result TEXT NOT NULL DEFAULT '',     -- what the last fetch came to, in words
            last_error TEXT NOT NULL DEFAULT ''       -- the last fetch's problem, '' if none
        )""",
    "feed_items": """
        CREATE TABLE IF NOT EXISTS feed_items (
            feed TEXT NOT NULL,             -- a watched feed's url
            url TEXT NOT NULL,              -- one of its items' article
            done INTEGER NOT NULL DEFAULT 0,  -- 1: read (a document, or one the desk has already)
            tries INTEGER NOT NULL DEFAULT 0, -- reads that failed (given up after a few)
            error TEXT NOT NULL DEFAULT '',   -- the last failure
            at TEXT NOT NULL,               -- UTC ISO of the last read
            PRIMARY KEY (feed, url)
        ) WITHOUT ROWID""",
    "proposals": """
        CREATE TABLE IF NOT EXISTS proposals (
            id INTEGER PRIMARY KEY,         -- the N of `apec-bot approve N`
            source_id TEXT NOT NULL,        -- the document that states it
            kind TEXT NOT NULL,             -- add-meeting, date-meeting, move-meeting, add-delegate
            target TEXT NOT NULL,           -- the meeting's id, or economy/meeting/name
            record TEXT NOT NULL,           -- JSON, the fields the change sets
            quote TEXT NOT NULL,            -- the sentence, as the document writes it
            change TEXT NOT NULL,           -- the change in words, as proposed
            status TEXT NOT NULL DEFAULT 'open',  -- open, approved, ignored
            created_at TEXT NOT NULL,       -- UTC ISO
            decided_by TEXT NOT NULL DEFAULT '',
            decided_at TEXT NOT NULL DEFAULT '',
            fingerprint TEXT NOT NULL       -- the change itself: an ignored one is never
                                            -- proposed again
        )""",
    "brief_documents": """
        CREATE TABLE IF NOT EXISTS brief_documents (
            channel TEXT NOT NULL,          -- where the note was posted
            meeting_id TEXT NOT NULL,
            economy_id TEXT NOT NULL DEFAULT '',  -- whose objectives it shows, '' for none
            kind TEXT NOT NULL,             -- canvas, or file (a Markdown file where no canvas)
            slack_id TEXT NOT NULL,         -- the canvas's or file's id: updated or replaced next
            at TEXT NOT NULL,               -- UTC ISO of the last post or update
            PRIMARY KEY (channel, meeting_id, economy_id)
        ) WITHOUT ROWID""",
    "scheduler_lease": """
        CREATE TABLE IF NOT EXISTS scheduler_lease (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            holder TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            expires REAL NOT NULL           -- wall-clock seconds
        )""",
}

# Every change made to a table after stores were first made with it (the DDL above is each table
# as first made), in order: a number and a name (the function's), applied once a store (as in
# sqlite-utils' Migrations). `migrate` runs those a store has not recorded in `_migrations`.
# Stores made before this list recorded none, and may have any of these columns already: each
# migration leaves what is there alone. Append new ones; never edit, rename or reorder one. (A new
# table goes in the tables above, made wherever it is missing.) Constants only, never user text.


def m001_deliveries_attempted_at(db: sqlite_utils.Database) -> None:
    """The wall-clock seconds an attempt's outcome became unknown."""
    _add_column(db, "deliveries", "attempted_at", "REAL NOT NULL DEFAULT 0")


def m002_desk_documents_url(db: sqlite_utils.Database) -> None:
    """Where a fetched document came from."""
    _add_column(db, "desk_documents", "url", "TEXT NOT NULL DEFAULT ''")
    db.conn.execute("CREATE INDEX IF NOT EXISTS desk_documents_url ON desk_documents(url)")


def m003_desk_delegates_source_quote(db: sqlite_utils.Database) -> None:
    """A document a delegate the desk added cites (a proposal's), and its sentence."""
    _add_column(db, "desk_delegates", "source", "TEXT NOT NULL DEFAULT ''")
    _add_column(db, "desk_delegates", "quote", "TEXT NOT NULL DEFAULT ''")


def m004_feeds_polls_under_way(db: sqlite_utils.Database) -> None:
    """When a poll began (later than last_fetch_at while it runs), and the polls in a row the
    process died during."""
    _add_column(db, "feeds", "fetch_started_at", "TEXT NOT NULL DEFAULT ''")
    _add_column(db, "feeds", "crashes", "INTEGER NOT NULL DEFAULT 0")


def m005_proposals_origin_held(db: sqlite_utils.Database) -> None:
    """The watched source a proposal came from, and (UTC ISO) when its source's flood hold
    began."""
    _add_column(db, "proposals", "origin", "TEXT NOT NULL DEFAULT ''")
    _add_column(db, "proposals", "held", "TEXT NOT NULL DEFAULT ''")
    db.conn.execute("CREATE INDEX IF NOT EXISTS proposals_origin ON proposals(origin, created_at)")


def m006_one_offs_for_user_origin(db: sqlite_utils.Database) -> None:
    """The person reminded when it is not the asker (the target in `channel` may be a person: a
    direct message), and a snooze's "<post key>|<choice>": unique, so a second press of one
    button adds nothing."""
    _add_column(db, "one_offs", "for_user", "TEXT NOT NULL DEFAULT ''")
    _add_column(db, "one_offs", "origin", "TEXT NOT NULL DEFAULT ''")
    db.conn.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS one_offs_origin ON one_offs(origin) WHERE origin != ''"
    )
    db.conn.execute("CREATE INDEX IF NOT EXISTS one_offs_for_user ON one_offs(for_user)")


def m007_meetings_note_when_missing(db: sqlite_utils.Database) -> None:
    """The field whose absence a meeting's note describes ('dates'): the note goes once it is
    set."""
    _add_column(db, "meetings", "note_when_missing", "TEXT NOT NULL DEFAULT ''")


Migration = Callable[[sqlite_utils.Database], None]

MIGRATIONS: tuple[Migration, ...] = (
    m001_deliveries_attempted_at,
    m002_desk_documents_url,
    m003_desk_delegates_source_quote,
    m004_feeds_polls_under_way,
    m005_proposals_origin_held,
    m006_one_offs_for_user_origin,
    m007_meetings_note_when_missing,
)

MIGRATIONS_TABLE = """
    CREATE TABLE IF NOT EXISTS _migrations (
        name TEXT PRIMARY KEY,          -- the migration's function name: m001_...
        applied_at TEXT NOT NULL        -- UTC, SQLite's clock
    )"""


def _add_column(db: sqlite_utils.Database, table: str, column: str, definition: str) -> None:
    """ALTER TABLE ADD COLUMN, unless the table has the column already (added by an older
    `ensure`, or made with it)."""
    if column not in {row[1] for row in db.conn.execute(f"PRAGMA table_info({table})")}:
        db.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


def _pending(db: sqlite_utils.Database, migrations: tuple[Migration, ...]) -> list[Migration]:
    """The migrations this store has not recorded, in order."""
    if "_migrations" not in db.table_names():
        return list(migrations)
    applied = {row[0] for row in db.conn.execute("SELECT name FROM _migrations")}
    return [m for m in migrations if m.__name__ not in applied]


def migrate(db: sqlite_utils.Database, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[str]:
    """Apply the migrations this store has not recorded, in order, in one transaction under the
    write lock (two processes starting on one old store at once apply each once); returns their
    names. A store that has them all is not locked."""
    if not _pending(db, migrations):
        return []
    with immediate(db):
        db.conn.execute(MIGRATIONS_TABLE)
        pending = _pending(db, migrations)  # again, under the lock
        for migration in pending:
            migration(db)
            db.conn.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, datetime('now'))",
                [migration.__name__],
            )
    return [m.__name__ for m in pending]


# The order sources are listed in: seeds first, then the desk's as added. An index on these very
# terms lets `/apec sources` read a page of 100,000 sources from the index rather than sort them.
SOURCE_ORDER = "origin = 'desk', added_at, file, id"

INDEXES = [
    f"CREATE INDEX IF NOT EXISTS sources_listing ON sources({SOURCE_ORDER})",
    # Sources newest first without a sort (a brief's recent sources, the last day published).
    "CREATE INDEX IF NOT EXISTS sources_date ON sources(reference_date, added_at, id)",
    "CREATE INDEX IF NOT EXISTS passages_source ON passages(source_id)",
    "CREATE INDEX IF NOT EXISTS meetings_start ON meetings(start_date)",
    "CREATE INDEX IF NOT EXISTS versions_published ON versions(kind, published)",
    "CREATE INDEX IF NOT EXISTS roles_person ON roles(person_id)",
    "CREATE INDEX IF NOT EXISTS delegations_economy ON delegations(economy_id)",
    "CREATE INDEX IF NOT EXISTS deliveries_channel ON deliveries(channel, updated_at)",
    "CREATE INDEX IF NOT EXISTS deliveries_status ON deliveries(status)",
    "CREATE INDEX IF NOT EXISTS proposals_fingerprint ON proposals(fingerprint, status)",
    "CREATE INDEX IF NOT EXISTS proposals_source ON proposals(source_id, status)",
    # A person's reminders (the Home tab, "List my reminders"): asked, or the one reminded.
    "CREATE INDEX IF NOT EXISTS one_offs_created_by ON one_offs(created_by)",
    "CREATE INDEX IF NOT EXISTS one_offs_channel ON one_offs(channel)",
    "CREATE INDEX IF NOT EXISTS recurring_target ON recurring(target)",
    "CREATE INDEX IF NOT EXISTS recurring_created_by ON recurring(created_by)",
    "CREATE INDEX IF NOT EXISTS recurring_for_user ON recurring(for_user)",
]


# Tables whose writes change no answer kept in a cache: the scheduler's bookkeeping (a lease
# renewed every 30 s, the delivery log), each watched source's last fetch (`/apec feeds` reads it
# afresh), the passages (written only with their sources or build_info, counted), and which
# canvas holds which brief (no answer reads it).
UNCOUNTED = frozenset(
    {"deliveries", "scheduler_lease", "feeds", "feed_items", "passages", "brief_documents"}
)
RECORDS_VERSION = "SELECT n FROM records_version"


def counted_tables() -> list[str]:
    """The tables a write to which moves the records version (what readers' caches hang on)."""
    return [t for t in (*BUILD_TABLES, *DESK_TABLES) if t not in UNCOUNTED]


def _records_version(db: sqlite_utils.Database) -> None:
    """A number every write to a counted table moves (one row, bumped by triggers): a reader
    whose SQLite data_version moved asks it, and keeps its caches when only bookkeeping changed.
    Made under the write lock, and only when something is missing (a store opened again writes
    nothing)."""
    triggers = {
        f"records_{table}_{op.lower()}": (table, op)
        for table in counted_tables()
        for op in ("INSERT", "UPDATE", "DELETE")
    }
    have = {
        row[0] for row in db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    }
    if "records_version" in db.table_names() and have >= triggers.keys():
        return
    with immediate(db):
        db.conn.execute(
            "CREATE TABLE IF NOT EXISTS records_version "
            "(id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)"
        )
        db.conn.execute("INSERT OR IGNORE INTO records_version (id, n) VALUES (1, 0)")
        for name, (table, op) in triggers.items():
            db.conn.execute(
                f"""CREATE TRIGGER IF NOT EXISTS {name} AFTER {op} ON [{table}]
                    BEGIN UPDATE records_version SET n = n + 1; END"""
            )


def ensure(db: sqlite_utils.Database) -> None:
    """Create every table, index, trigger and the full-text index that is missing, and apply the
    migrations the store lacks; never drops anything."""
    with db.atomic():
        for ddl in (*BUILD_TABLES.values(), *DESK_TABLES.values(), *INDEXES):
            db.execute(ddl)
    migrate(db)
    _records_version(db)
    if "passages_fts" not in db.table_names():
        db.table("passages").enable_fts(
            ["heading", "text"], fts_version="FTS5", tokenize="porter", create_triggers=True
        )
    if db.execute("SELECT 1 FROM build_info WHERE key = 'schema_version'").fetchone() is None:
        db.execute(
            "INSERT OR IGNORE INTO build_info (key, value) VALUES ('schema_version', ?)",
            [str(SCHEMA_VERSION)],
        )
