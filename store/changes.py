"""Every change the desk makes to the calendar, one write transaction each.

Inside one BEGIN IMMEDIATE a change reads the record as it stands, merges only the fields the desk
changed over it (two admins changing different fields of one meeting both keep theirs), keeps the
result and its audit line (before and after as read and written here), and re-derives the records,
so an acknowledged change is in answers, the feed and the scheduler's plan when it returns.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from store import edits
from store.build import build
from store.db import immediate

Record = dict[str, Any]


def change_meeting(
    db: sqlite_utils.Database,
    seeds: Path | None,
    meeting_id: str | None,
    changes: Record,
    user: str,
    now: datetime,
    action: str,
    new_id: Callable[[sqlite_utils.Database], str] | None = None,
) -> tuple[Record | None, Record]:
    """Change a meeting (or add one, with `new_id`): (the record before, the record after)."""
    with immediate(db):
        ident = meeting_id or (new_id(db) if new_id else "")
        before = current_meeting(db, ident, now.date()) if meeting_id else None
        after = {**uncited(before or {}), **changes, "id": ident}
        edits.save_meeting(db, after, user, now, action, before)
        if seeds is not None:
            build(db, seeds, records_only=True)
    return before, after


def uncited(record: Record) -> Record:
    """A record without the document it cited: what the desk changes next, the desk vouches for."""
    return {k: v for k, v in record.items() if k not in edits.CITE_FIELDS}


def change_delegate(
    db: sqlite_utils.Database,
    seeds: Path | None,
    economy: str,
    meeting: str,
    name: str,
    role: str,
    removed: bool,
    user: str,
    now: datetime,
) -> Record | None:
    """Add a person to a delegation or take one out: the person as they were on record, if at
    all."""
    with immediate(db):
        before = current_delegate(db, economy, meeting, name)
        kept = before["name"] if before else name
        edits.save_delegate(db, economy, meeting, kept, role, removed, user, now, before)
        if seeds is not None:
            build(db, seeds, records_only=True)
    return before


def current_meeting(
    db: sqlite_utils.Database, meeting_id: str, day: date | None = None
) -> Record | None:
    """A meeting as it stands (the fields a desk record keeps): the desk's record of it, else the
    one derived from the seeds; with `day`, the seeds' as published by then (a change made on a
    day keeps nothing a source published later), if any was."""
    row = db.execute("SELECT record FROM desk_meetings WHERE id = ?", [meeting_id]).fetchone()
    if row is not None:
        return dict(json.loads(row[0]))
    if day is not None:
        version = db.execute(
            """SELECT fields FROM versions WHERE kind = 'meetings' AND record_id = ?
               AND origin = 'seed' AND published <= ? ORDER BY published DESC, seq DESC LIMIT 1""",
            [meeting_id, day.isoformat()],
        ).fetchone()
        if version is not None:
            fields = json.loads(version[0])
            return {key: fields[column] for key, column in zip(_KEPT, _COLUMNS, strict=True)}
    found = db.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM meetings WHERE id = ?", [meeting_id]
    ).fetchone()
    if found is None:
        return None
    return dict(zip(_KEPT, found, strict=True))


_KEPT = ("name", "short", "kind", "parent", "dates", "city", "host", "tz", "status", "note")
# The meetings table's columns for them: three are named otherwise there.
_RENAMED = {"parent": "parent_id", "dates": "date_text", "host": "host_id"}
_COLUMNS = tuple(_RENAMED.get(key, key) for key in _KEPT)


def current_delegate(
    db: sqlite_utils.Database, economy: str, meeting: str, name: str
) -> Record | None:
    """A member of a delegation as on record (any letter case of the name), if one."""
    found = db.execute(
        """SELECT p.name, m.role FROM delegation_members m
           JOIN delegations d ON d.id = m.delegation_id JOIN people p ON p.id = m.person_id
           WHERE d.economy_id = ? AND d.meeting_id = ? AND lower(p.name) = lower(?)""",
        [economy, meeting, name],
    ).fetchone()
    if found is None:
        return None
    return {"economy": economy, "meeting": meeting, "name": found[0], "role": found[1]}


def unique_meeting_id(db: sqlite_utils.Database, base: str) -> str:
    """`base`, or `base-2`, `base-3`... : an id no meeting on record or changed by the desk has
    (read in the caller's transaction)."""
    taken = {r[0] for r in db.execute("SELECT id FROM meetings UNION SELECT id FROM desk_meetings")}
    n, candidate = 2, base
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def venue_zone(db: sqlite_utils.Database, record: Record) -> str:
    """A new meeting's zone as the store knows it: another meeting's in the same city, else one
    of the host economy's ('' when neither is on record)."""
    for column, value in (("city", record.get("city")), ("host_id", record.get("host"))):
        if value:
            found = db.execute(
                f"SELECT tz FROM meetings WHERE {column} = ? AND tz != '' LIMIT 1", [value]
            ).fetchone()
            if found:
                return str(found[0])
    return ""
