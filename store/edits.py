"""The desk's changes to the calendar: kept in tables of their own, merged over the seeds by every
build (the desk's change wins, and the build says so), audited, and exportable as a desk file."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlite_utils

from store.dates import DateError, read_span
from store.desk import iso
from store.models import standing_note
from store.names import alias_key
from store.text import clean
from store.vocabulary import MEETING_KINDS as MEETING_KINDS  # store/build.py imports it here

DESK_SOURCE = "desk"
HEAD_ROLE = "Head of delegation"  # a desk delegate whose role starts so leads the delegation
STATUSES = {"held", "scheduled", "reported", "tbc", "cancelled"}
MEETING_FIELDS = (
    "name",
    "short",
    "aliases",
    "kind",
    "parent",
    "dates",
    "city",
    "host",
    "tz",
    "status",
    "note",
)
# A record made from a proposal cites the document and its sentence instead of the desk.
CITE_FIELDS = ("source", "quote")
# A desk change citing no document is published the day it was made. The store keeps that moment
# in UTC only, and the desk may be in any zone: counted from the zone furthest west (UTC-12), the
# change is on record on its own local day wherever the desk is.
_WESTMOST = timedelta(hours=12)


@dataclass(frozen=True)
class DeskChanges:
    """Everything the desk changed, as records in desk.toml's shape."""

    meetings: list[dict[str, Any]]
    delegates: list[dict[str, Any]]

    @property
    def latest(self) -> str:
        """When the desk last changed something (UTC ISO), '' if never."""
        times = [m["edited_at"] for m in self.meetings] + [d["edited_at"] for d in self.delegates]
        return max(times, default="")


@dataclass(frozen=True)
class AuditEntry:
    """One change: who, when, what, before and after."""

    id: int
    at: datetime
    user: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def load(db: sqlite_utils.Database) -> DeskChanges:
    """The desk's changes, oldest first."""
    if "desk_meetings" not in db.table_names():
        return DeskChanges([], [])
    meetings = [
        {
            **json.loads(r["record"]),
            "id": r["id"],
            "edited_by": r["edited_by"],
            "edited_at": r["edited_at"],
        }
        for r in db.query("SELECT * FROM desk_meetings ORDER BY edited_at, id")
    ]
    delegates = list(
        db.query("SELECT * FROM desk_delegates ORDER BY edited_at, economy, meeting, name")
    )
    return DeskChanges(meetings, delegates)


def slug(text: str) -> str:
    """An id from a name: "Jane Doe" -> "jane-doe"."""
    return re.sub(r"[^a-z0-9]+", "-", alias_key(text)).strip("-") or "x"


def desk_quote(rec: dict[str, Any]) -> str:
    """What a desk record cites: its note, who made it and when."""
    when = rec.get("edited_at", "")[:10]
    who = rec.get("edited_by", "") or "the desk"
    note = rec.get("note", "").strip() or rec.get("source_note", "").strip()
    return f"{note} (desk edit by {who}, {when})" if note else f"Desk edit by {who}, {when}"


def meeting_row(rec: dict[str, Any]) -> dict[str, Any]:
    """A meetings-table row from a desk record; its dates read against the day it was made."""
    reference = date.fromisoformat(rec.get("edited_at", "2000-01-01")[:10])
    text = rec.get("dates", "")
    span = read_span(text, reference) if text else None
    return {
        "id": rec["id"],
        "name": rec["name"],
        "short": rec.get("short") or rec["name"],
        "kind": rec.get("kind", "event"),
        "parent_id": rec.get("parent", ""),
        "date_text": text,
        "start_date": span.start.isoformat() if span and span.start else None,
        "end_date": span.end.isoformat() if span and span.end else None,
        "precision": span.precision if span else "unknown",
        "status": rec.get("status", "scheduled"),
        "city": rec.get("city", ""),
        "host_id": rec.get("host", ""),
        "tz": rec.get("tz", ""),
        "source_id": rec.get("source") or DESK_SOURCE,
        "quote": cited_quote(rec),
        "note": rec.get("note", ""),
        "origin": "desk",
        "note_when_missing": "",
    }


def cited_quote(rec: dict[str, Any]) -> str:
    """A desk record's quote: the document's sentence it was approved from, else the desk's note."""
    return rec.get("quote", "") if rec.get("source") and rec.get("quote") else desk_quote(rec)


def apply(rows: dict[str, list[dict[str, Any]]], changes: DeskChanges) -> list[str]:
    """Merge the desk's changes over rows derived from the seeds; the notes a build prints."""
    notes: list[str] = []
    if not changes.meetings and not changes.delegates:
        return notes
    rows["sources"].append(
        {
            "id": DESK_SOURCE,
            "title": "Desk edits in Slack",
            "publisher": "the desk",
            "kind": "desk edit",
            "reference_date": changes.latest[:10] or "2000-01-01",
            "file": "",
            "original_name": "",
            "sha256": "",
            "origin": "desk",
            "added_at": changes.latest,
            "note": "Changes made with /apec in Slack",
        }
    )
    meetings = {r["id"]: r for r in rows["meetings"]}
    sources = {r["id"] for r in rows["sources"]}
    dated = {r["id"]: r["reference_date"] for r in rows["sources"]}
    taken = {(a["kind"], a["alias"]): a["target"] for a in rows["aliases"]}
    for rec in changes.meetings:
        try:
            row = meeting_row(rec)
        except (DateError, KeyError) as exc:
            notes.append(f"desk change to {rec.get('id')!r} not applied: {exc}")
            continue
        if row["source_id"] not in sources:  # the document is gone: the desk vouches for it
            row["source_id"], row["quote"] = DESK_SOURCE, desk_quote(rec)
        seed = meetings.get(row["id"])
        _keep_condition(row, rec, seed)
        if seed is not None and seed["origin"] == "seed":
            differs = [
                f"{f}: {seed[f]!r} -> {row[f]!r}"
                for f in ("date_text", "city", "status", "name", "kind")
                if seed[f] != row[f]
            ]
            if differs:
                notes.append(f"desk change wins over seeds for {row['id']} ({'; '.join(differs)})")
        meetings[row["id"]] = row
        _desk_version(rows, "meetings", row["id"], row, published(rec, row["source_id"], dated))
        for name in (row["id"], row["short"], row["name"], *rec.get("aliases", [])):
            key = alias_key(name)
            if key and taken.get(("meeting", key), row["id"]) == row["id"]:
                taken[("meeting", key)] = row["id"]
                rows["aliases"].append(
                    {"kind": "meeting", "alias": key, "name": name, "target": row["id"]}
                )
    rows["meetings"] = list(meetings.values())
    _apply_delegates(rows, changes, notes, taken, dated)
    # One row per alias: the last word on a name is the desk's.
    rows["aliases"] = list({(a["kind"], a["alias"]): a for a in rows["aliases"]}.values())
    return notes


def _keep_condition(row: dict[str, Any], rec: dict[str, Any], seed: dict[str, Any] | None) -> None:
    """A desk record keeps the seed's note as it was: the field whose absence that note describes
    goes with it (desk.toml's `note_when_missing`), so the note goes once the desk sets the field,
    from the desk's citation too. A note the desk wrote itself stands as written."""
    if seed is None or not seed.get("note_when_missing") or row["note"] != seed["note"]:
        return
    row["note_when_missing"] = seed["note_when_missing"]
    if not standing_note(row) and row["source_id"] == DESK_SOURCE:
        row["quote"] = desk_quote({**rec, "note": ""})


def version_row(
    table: str,
    record_id: str,
    seq: int,
    published: date | str,
    cited: tuple[str, str],
    fields: dict[str, Any] | None,
    origin: str = "seed",
) -> dict[str, Any]:
    """A row of the versions table: one record as one statement (`cited`: its source and quote)
    has it; None for `fields`: taken out."""
    kept = None if fields is None else {k: v for k, v in fields.items() if k not in CITED_BY}
    return {
        "kind": table,
        "record_id": record_id,
        "seq": seq,
        "published": published if isinstance(published, str) else published.isoformat(),
        "source_id": cited[0],
        "quote": cited[1],
        "fields": json.dumps(kept, ensure_ascii=False),
        "origin": origin,
    }


CITED_BY = ("source_id", "quote")  # a row's columns a version keeps apart from its fields


def published(rec: dict[str, Any], source_id: str, dated: dict[str, str]) -> str:
    """The day a desk record is on record from: its document's, or the day the desk made it."""
    if source_id != DESK_SOURCE and source_id in dated:
        return dated[source_id]
    made = datetime.fromisoformat(rec.get("edited_at") or "2000-01-01T00:00:00+00:00")
    return (made - _WESTMOST).date().isoformat()


def _desk_version(
    rows: dict[str, list[dict[str, Any]]],
    table: str,
    record_id: str,
    row: dict[str, Any] | None,
    day: str,
) -> None:
    """The record as the desk's change leaves it (None: taken out), from `day` on."""
    seq = 1000 + len(rows["versions"])  # after every seed version of it
    cited = (row["source_id"], row["quote"]) if row else (DESK_SOURCE, "")
    rows["versions"].append(
        version_row(table, record_id, seq, day, cited, row and dict(row), origin="desk")
    )


def _apply_delegates(
    rows: dict[str, list[dict[str, Any]]],
    changes: DeskChanges,
    notes: list[str],
    taken: dict[tuple[str, str], str],
    dated: dict[str, str],
) -> None:
    people = {r["id"]: r for r in rows["people"]}
    by_name = {alias_key(r["name"]): r["id"] for r in rows["people"]}
    delegations = {(r["economy_id"], r["meeting_id"]): r for r in rows["delegations"]}
    members = {(m["delegation_id"], m["person_id"]): m for m in rows["delegation_members"]}
    for rec in changes.delegates:
        person_id = by_name.get(alias_key(rec["name"])) or f"desk-{slug(rec['name'])}"
        delegation = delegations.get((rec["economy"], rec["meeting"]))
        cited = rec.get("source") in dated
        source = rec["source"] if cited else DESK_SOURCE
        quote = cited_quote(rec) if cited else desk_quote(rec)
        day = published(rec, source, dated)
        if rec["removed"]:
            if (
                delegation is not None
                and members.pop((delegation["id"], person_id), None) is not None
            ):
                notes.append(
                    f"desk change wins over seeds: {rec['name']} is out of {delegation['id']}"
                )
                gone = f"{delegation['id']}/{person_id}"
                _desk_version(rows, "delegation_members", gone, None, day)
            if delegation is not None and delegation["head_id"] == person_id:
                delegation["head_id"] = ""
                _desk_version(rows, "delegations", delegation["id"], delegation, day)
            continue
        if person_id not in people:
            people[person_id] = {
                "id": person_id,
                "name": rec["name"],
                "economy_id": rec["economy"],
                "title": _title(rec["role"]),
                "organization": "",
                "source_id": source,
                "quote": quote,
            }
            by_name[alias_key(rec["name"])] = person_id
            _desk_version(rows, "people", person_id, people[person_id], day)
            key = alias_key(rec["name"])
            if ("person", key) not in taken:
                taken[("person", key)] = person_id
                rows["aliases"].append(
                    {"kind": "person", "alias": key, "name": rec["name"], "target": person_id}
                )
        if delegation is None:
            delegation = {
                "id": f"{rec['economy'].lower()}-{rec['meeting']}",
                "economy_id": rec["economy"],
                "meeting_id": rec["meeting"],
                "head_id": "",
                "source_id": source,
                "quote": quote,
            }
            delegations[(rec["economy"], rec["meeting"])] = delegation
            _desk_version(rows, "delegations", delegation["id"], delegation, day)
        member_id = f"{delegation['id']}/{person_id}"
        if rec["role"].startswith(HEAD_ROLE):  # the desk names who leads it: the head it is
            if delegation["head_id"] not in ("", person_id):
                notes.append(f"desk change wins over seeds: {rec['name']} leads {delegation['id']}")
            delegation["head_id"] = person_id
            _desk_version(rows, "delegations", delegation["id"], delegation, day)
            if members.pop((delegation["id"], person_id), None) is not None:
                _desk_version(rows, "delegation_members", member_id, None, day)
            continue
        members[(delegation["id"], person_id)] = {
            "delegation_id": delegation["id"],
            "person_id": person_id,
            "role": rec["role"],
            "source_id": source,
            "quote": quote,
        }
        member = members[(delegation["id"], person_id)]
        _desk_version(rows, "delegation_members", member_id, member, day)
    rows["people"] = list(people.values())
    rows["delegations"] = list(delegations.values())
    rows["delegation_members"] = list(members.values())


def _title(role: str) -> str:
    """A desk delegate's title from their role: "Head of delegation (Deputy Minister)" is a
    Deputy Minister who leads it."""
    if role.startswith(HEAD_ROLE):
        return role.removeprefix(HEAD_ROLE).strip().removeprefix("(").removesuffix(")")
    return role


# -- writing changes ---------------------------------------------------------------------------

MULTILINE_FIELDS = frozenset({"note", "quote"})  # a desk note may run over lines; names may not


def cleaned(record: dict[str, Any]) -> dict[str, Any]:
    """A record's text as the store keeps it (store.text.clean): every string, and every string
    in a list (aliases); other values as they are."""

    def one(key: str, value: Any) -> Any:
        if isinstance(value, str):
            return clean(value, multiline=key in MULTILINE_FIELDS)
        if isinstance(value, list):
            return [clean(v) if isinstance(v, str) else v for v in value]
        return value

    return {key: one(key, value) for key, value in record.items()}


def save_meeting(
    db: sqlite_utils.Database,
    record: dict[str, Any],
    user: str,
    now: datetime,
    action: str,
    before: dict[str, Any] | None,
) -> None:
    """Keep the desk's version of a meeting and audit it (in the caller's transaction); its text
    cleaned, and ValueError for a name that is empty once cleaned (nothing kept)."""
    fields = cleaned({k: record[k] for k in (*MEETING_FIELDS, *CITE_FIELDS) if k in record})
    if not fields.get("name"):
        raise ValueError("a meeting needs a name (invisible characters alone are none)")
    db.execute(
        """INSERT INTO desk_meetings (id, record, edited_by, edited_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET record = excluded.record, edited_by = excluded.edited_by,
               edited_at = excluded.edited_at""",
        [record["id"], json.dumps(fields, ensure_ascii=False), user, iso(now)],
    )
    audit(db, user, now, action, record["id"], before, fields)


def save_delegate(
    db: sqlite_utils.Database,
    economy: str,
    meeting: str,
    name: str,
    role: str,
    removed: bool,
    user: str,
    now: datetime,
    before: dict[str, Any] | None,
    source: str = "",
    quote: str = "",
) -> None:
    """Keep a delegate the desk added or took out, and audit it; with `source` and `quote`, it
    cites that document (an approved proposal) rather than the desk. Its text cleaned, and
    ValueError for a name that is empty once cleaned (nothing kept)."""
    name, role, quote = clean(name), clean(role), clean(quote, multiline=True)
    if not name:
        raise ValueError("a delegate needs a name (invisible characters alone are none)")
    db.execute(
        """INSERT INTO desk_delegates
               (economy, meeting, name, role, removed, edited_by, edited_at, source, quote)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (economy, meeting, name) DO UPDATE SET role = excluded.role,
               removed = excluded.removed, edited_by = excluded.edited_by,
               edited_at = excluded.edited_at, source = excluded.source, quote = excluded.quote""",
        [economy, meeting, name, role, int(removed), user, iso(now), source, quote],
    )
    after = (
        None
        if removed
        else {
            "economy": economy,
            "meeting": meeting,
            "name": name,
            "role": role,
            **({"source": source, "quote": quote} if source else {}),
        }
    )
    audit(
        db,
        user,
        now,
        "remove-delegate" if removed else "add-delegate",
        f"{economy}/{meeting}/{name}",
        before,
        after,
    )


def audit(
    db: sqlite_utils.Database,
    user: str,
    now: datetime,
    action: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Write one line of the audit trail."""
    db.execute(
        "INSERT INTO audit (at, user, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?)",
        [
            iso(now),
            user,
            action,
            target,
            json.dumps(before, ensure_ascii=False) if before else "",
            json.dumps(after, ensure_ascii=False) if after else "",
        ],
    )


def history(
    db: sqlite_utils.Database, target: str | None = None, limit: int = 20
) -> list[AuditEntry]:
    """The audit trail, newest first (of one meeting, or one delegation's people, if given)."""
    sql, params = "SELECT * FROM audit", []
    if target:
        sql += " WHERE target = ? OR target LIKE ?"
        params = [target, f"%/{target}/%"]
    rows = db.query(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])
    return [
        AuditEntry(
            r["id"],
            datetime.fromisoformat(r["at"]),
            r["user"],
            r["action"],
            r["target"],
            json.loads(r["before"]) if r["before"] else None,
            json.loads(r["after"]) if r["after"] else None,
        )
        for r in rows
    ]


# The audit lines that change a meeting.
MEETING_ACTIONS = ("add-meeting", "edit-meeting", "cancel-meeting")


@dataclass(frozen=True)
class Revisions:
    """How often the desk revised a meeting on record, and when last (from the audit trail)."""

    count: int  # changes to it as it stood (the desk adding it is its first version, not one)
    last: datetime


def revisions(db: sqlite_utils.Database) -> dict[str, Revisions]:
    """Each meeting the desk changed, by id: its revisions (a calendar's SEQUENCE) and the time
    of the last change (its LAST-MODIFIED). Audit lines are never deleted, so a count never
    falls."""
    if "audit" not in db.table_names():
        return {}
    marks = ", ".join("?" * len(MEETING_ACTIONS))
    found = db.execute(
        f"""SELECT target, sum(before != ''), max(at) FROM audit WHERE action IN ({marks})
            GROUP BY target""",
        MEETING_ACTIONS,
    )
    return {t: Revisions(int(n or 0), datetime.fromisoformat(last)) for t, n, last in found}


def export_toml(db: sqlite_utils.Database) -> str:
    """The desk's changes as a desk file to review and commit to seeds/ (TOML, records as
    desk.toml's)."""
    changes = load(db)
    out = [
        "# The desk's changes made in Slack, exported by `apec-bot export`.",
        "# Review, give each record a source and a quote from it, and move it into "
        "seeds/desk.toml.",
        "# A record here with the id of a seed record is the desk's version of it: "
        "replace that record with it.",
        "",
    ]
    for rec in changes.meetings:
        if "note" in rec:
            rec = {**rec, "note": _standing(db, rec)}
        out.append(f"# {rec['id']}: changed by {rec['edited_by']} at {rec['edited_at']}")
        out.append("[[meetings]]")
        out.append(f"id = {_toml(rec['id'])}")
        out.extend(f"{k} = {_toml(rec[k])}" for k in MEETING_FIELDS if k in rec)
        out.extend(_cite_lines(rec))
        out.append("")
    for rec in changes.delegates:
        state = "took out" if rec["removed"] else "added"
        out.append(f"# delegate {state} by {rec['edited_by']} at {rec['edited_at']}")
        out.append("[[desk_delegates]]")
        for k in ("economy", "meeting", "name", "role"):
            out.append(f"{k} = {_toml(rec[k])}")
        out.append(f"removed = {'true' if rec['removed'] else 'false'}")
        if rec.get("source"):
            out.extend(_cite_lines(rec))
        out.append("")
    return "\n".join(out)


def _standing(db: sqlite_utils.Database, rec: dict[str, Any]) -> str:
    """A desk record's note as it stands (store.models.standing_note over the meeting as built
    from it): the seed's note about a field the desk has since set is not exported."""
    row = next(iter(db.query("SELECT * FROM meetings WHERE id = ?", [rec["id"]])), None)
    if row is None or row.get("origin") != "desk":
        return str(rec.get("note", ""))
    return standing_note(row)


def _cite_lines(rec: dict[str, Any]) -> list[str]:
    """A record's source and quote: the document it was approved from, or blanks to fill in."""
    if rec.get("source"):
        return [
            f"source = {_toml(rec['source'])}  "
            "# a document the desk added (ingest or a watched source)",
            f"quote = {_toml(rec.get('quote', ''))}",
        ]
    return ['source = ""  # the document that states this', 'quote = ""   # a short quote from it']


def _toml(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid TOML basic string
