"""The desk's own tables: subscriptions, one-off and recurring reminders, pauses, the delivery log,
what was marked done, the scheduler lease.

`apec-bot build` never touches these. The delivery log is how a post is made exactly once: its key
is claimed here before the post is sent, and Slack's `ts` is recorded after.

A reminder's target is a channel (C…, G…) or a person (U…, W…), whom it reaches as a direct
message. A recurring reminder is an RFC 5545 rule (python-dateutil's `rrule`) read from its first
occurrence's wall time in the asker's zone; store.schedule plans its occurrences.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlite_utils
from dateutil.rrule import rrulestr

from store.db import immediate, inserted_id, rows
from store.text import clean

DEFAULT_OFFSETS = ("7d", "1d", "0d")
DEFAULT_KINDS = ("som", "summit", "ministerial")
# A subscription's columns, in the order `subscription_of` reads them.
SUBSCRIPTION_FIELDS = (
    "id, channel, kind, tz, offsets, kinds, cadence, weekday, at_time, created_by, created_at"
)
# A recurring reminder's columns, in the order `recurring_of` reads them.
RECURRING_FIELDS = (
    "id, target, tz, rule, start, text, meeting_id, until_text, created_by, for_user, "
    "created_at, since, paused, cancelled"
)
# Slack's ids of people (a reminder for one is a direct message) and of conversations.
_USER_ID = re.compile(r"[UW][A-Z0-9]+")
# How often a reminder may recur: a day's parts at the finest (an hourly rule would flood).
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")


def is_user(target: str) -> bool:
    """Whether a reminder's target is a person (a direct message) rather than a channel."""
    return _USER_ID.fullmatch(target) is not None


def iso(moment: datetime) -> str:
    """A UTC ISO-8601 string, the only form times are stored in."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_iso(text: str) -> datetime:
    """An aware datetime from a stored string."""
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class Subscription:
    """A channel's standing order: reminders before meetings, or a digest on a cadence."""

    id: int
    channel: str
    kind: str  # reminders, digest
    tz: str
    offsets: tuple[str, ...]
    kinds: tuple[str, ...]
    cadence: str
    weekday: int
    at_time: str
    created_by: str
    since: datetime  # when it last changed: nothing due before it is owed to the channel


@dataclass(frozen=True)
class OneOff:
    """A single post asked for with `/apec remind`."""

    id: int
    channel: str
    due_at: datetime
    tz: str
    text: str
    meeting_id: str
    offset_text: str
    created_by: str
    created_at: datetime
    for_user: str = ""  # the person reminded, when not the asker
    origin: str = ""  # a snooze's "<post key>|<choice>"


@dataclass(frozen=True)
class Recurring:
    """A reminder asked for with `/apec remind … every …`: an RFC 5545 rule read in `tz`."""

    id: int
    target: str  # a channel, or a person (a direct message)
    tz: str  # the asker's zone: occurrences are wall-clock times in it
    rule: str  # "FREQ=WEEKLY;BYDAY=MO", no DTSTART
    start: datetime  # naive: the first occurrence's wall time in `tz`
    text: str
    meeting_id: str
    until_text: str
    created_by: str
    for_user: str
    created_at: datetime
    since: datetime  # made, or last resumed: nothing due before it is owed
    paused: bool
    cancelled: bool


@dataclass(frozen=True)
class Pause:
    """A channel that must stay quiet, until a time or until resumed."""

    channel: str
    until: datetime | None
    paused_by: str


@dataclass(frozen=True)
class Delivery:
    """One post's entry in the delivery log."""

    key: str
    channel: str
    kind: str
    meeting_id: str
    due_at: datetime
    status: str  # claimed, unknown, sent, retry, failed, skipped, cancelled
    holder: str
    claimed_at: float
    ts: str | None
    late: bool
    attempts: int
    error: str
    updated_at: str
    attempted_at: float = 0.0  # when an attempt's outcome became unknown (wall-clock seconds)


class Desk:
    """Reads and writes the desk's tables over one connection."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return rows(self.db, sql, params)

    # -- subscriptions -------------------------------------------------------------------------

    def _zone(self, channel: str, tz: str | None, default_tz: str) -> str:
        """The zone given, else the channel's (read in the caller's transaction), else the
        desk's."""
        if tz:
            return tz
        row = self.db.execute(
            "SELECT tz FROM subscriptions WHERE channel = ? ORDER BY kind DESC LIMIT 1", [channel]
        ).fetchone()
        return str(row[0]) if row else default_tz

    def subscribe_reminders(
        self,
        channel: str,
        tz: str | None,
        offsets: tuple[str, ...],
        kinds: tuple[str, ...],
        by: str,
        now: datetime,
        default_tz: str = "UTC",
    ) -> Subscription:
        """Start (or change) a channel's reminders; with no zone, in the channel's zone."""
        settings = {"offsets": json.dumps(list(offsets)), "kinds": json.dumps(list(kinds))}
        return self._subscribe(channel, "reminders", tz, default_tz, settings, by, now)

    def subscribe_digest(
        self,
        channel: str,
        tz: str | None,
        cadence: str,
        weekday: int,
        at_time: str,
        by: str,
        now: datetime,
        default_tz: str = "UTC",
    ) -> Subscription:
        """Start (or change) a channel's digest; with no zone, in the channel's zone."""
        settings = {"cadence": cadence, "weekday": weekday, "at_time": at_time}
        return self._subscribe(channel, "digest", tz, default_tz, settings, by, now)

    def _subscribe(
        self,
        channel: str,
        kind: str,
        tz: str | None,
        default_tz: str,
        settings: dict[str, Any],
        by: str,
        now: datetime,
    ) -> Subscription:
        """Write a channel's subscription of one kind: its zone, `settings` (its kind's columns,
        constants) and who made it, anew; the columns of the other kind are left as they are."""
        with immediate(self.db):
            row = {
                "channel": channel,
                "kind": kind,
                "tz": self._zone(channel, tz, default_tz),
                **settings,
                "created_by": by,
                "created_at": iso(now),
            }
            sets = ", ".join(f"{column} = excluded.{column}" for column in list(row)[2:])
            self.db.execute(
                f"""INSERT INTO subscriptions ({", ".join(row)})
                    VALUES ({", ".join(f":{column}" for column in row)})
                    ON CONFLICT (channel, kind) DO UPDATE SET {sets}""",
                row,
            )
            return self._written(channel, kind)

    def unsubscribe(self, channel: str, kind: str | None = None) -> int:
        """Stop a channel's reminders, digest, or both; the number stopped."""
        if kind:
            cursor = self.db.execute(
                "DELETE FROM subscriptions WHERE channel = ? AND kind = ?", [channel, kind]
            )
        else:
            cursor = self.db.execute("DELETE FROM subscriptions WHERE channel = ?", [channel])
        return cursor.rowcount

    def subscription(self, channel: str, kind: str) -> Subscription | None:
        """One channel's subscription of one kind."""
        rows = self._rows(
            "SELECT * FROM subscriptions WHERE channel = ? AND kind = ?", [channel, kind]
        )
        return _subscription(rows[0]) if rows else None

    def _written(self, channel: str, kind: str) -> Subscription:
        """The subscription this transaction has just written."""
        made = self.subscription(channel, kind)
        assert made is not None, "a subscription written in this transaction is there"
        return made

    def subscriptions(self, channel: str | None = None) -> list[Subscription]:
        """Every subscription, or one channel's."""
        if channel is None:
            rows = self._rows("SELECT * FROM subscriptions ORDER BY channel, kind")
        else:
            rows = self._rows(
                "SELECT * FROM subscriptions WHERE channel = ? ORDER BY kind", [channel]
            )
        return [_subscription(r) for r in rows]

    # -- one-off reminders ---------------------------------------------------------------------

    def add_one_off(
        self,
        channel: str,
        due_at: datetime,
        tz: str,
        text: str,
        by: str,
        now: datetime,
        meeting_id: str = "",
        offset_text: str = "",
        for_user: str = "",
        origin: str = "",
    ) -> int:
        """Queue a one-off post to a channel or a person; its number. With an `origin` already
        used (a snooze button pressed again), nothing is added: the number of the one it made."""
        text = clean(text, multiline=True)  # what is kept to be posted: no invisible characters
        with immediate(self.db):
            if origin:
                row = self.db.conn.execute(
                    "SELECT id FROM one_offs WHERE origin = ?", [origin]
                ).fetchone()
                if row is not None:
                    return int(row[0])
            cursor = self.db.conn.execute(
                """INSERT INTO one_offs (channel, due_at, tz, text, meeting_id, offset_text,
                                         created_by, created_at, for_user, origin)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    channel,
                    iso(due_at),
                    tz,
                    text,
                    meeting_id,
                    offset_text,
                    by,
                    iso(now),
                    for_user,
                    origin,
                ],
            )
            return inserted_id(cursor)

    def one_offs(self, channel: str | None = None) -> list[OneOff]:
        """One-off posts not cancelled (sent ones too: the delivery log says which)."""
        sql = "SELECT * FROM one_offs WHERE cancelled = 0"
        params: list[Any] = []
        if channel is not None:
            sql += " AND channel = ?"
            params.append(channel)
        return [_one_off(r) for r in self._rows(sql + " ORDER BY due_at, id", params)]

    def one_offs_due(self, start: datetime, end: datetime) -> list[OneOff]:
        """One-off posts not cancelled that fall due in [start, end)."""
        # Times are stored to the second: the query takes the whole seconds, the filter is exact.
        sql = (
            "SELECT * FROM one_offs WHERE cancelled = 0 AND due_at BETWEEN ? AND ? "
            "ORDER BY due_at, id"
        )
        found = [_one_off(r) for r in self._rows(sql, [iso(start), iso(end)])]
        return [one for one in found if start <= one.due_at < end]

    def cancel_one_off(self, channel: str, one_off_id: int) -> bool:
        """Cancel a one-off of this channel that has not been sent; whether one was."""
        cursor = self.db.execute(
            """UPDATE one_offs SET cancelled = 1 WHERE id = ? AND channel = ? AND cancelled = 0
               AND NOT EXISTS (SELECT 1 FROM deliveries WHERE key = 'one-off:' || one_offs.id
                               AND status IN ('sent', 'claimed', 'unknown'))""",
            [one_off_id, channel],
        )
        return cursor.rowcount == 1

    # -- recurring reminders -------------------------------------------------------------------

    def add_recurring(
        self,
        target: str,
        tz: str,
        rule: str,
        start: datetime,
        text: str,
        by: str,
        now: datetime,
        *,
        for_user: str = "",
        meeting_id: str = "",
        until_text: str = "",
    ) -> int:
        """Keep a recurring reminder; its number. `start` is the first occurrence's wall time in
        `tz` (naive; an aware one is read in `tz`). ValueError when the rule is not an RFC 5545
        RRULE of days or longer, or `start` is not its first occurrence."""
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"no such time zone: {tz!r}") from exc
        wall = start.astimezone(zone).replace(tzinfo=None) if start.tzinfo else start
        rule = check_rule(rule, wall)
        text = clean(text, multiline=True)  # what is kept to be posted: no invisible characters
        with immediate(self.db):
            cursor = self.db.conn.execute(
                """INSERT INTO recurring (target, tz, rule, start, text, meeting_id, until_text,
                                          created_by, for_user, created_at, since)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    target,
                    tz,
                    rule,
                    wall.isoformat(timespec="seconds"),
                    text,
                    meeting_id,
                    until_text,
                    by,
                    for_user,
                    iso(now),
                    iso(now),
                ],
            )
            return inserted_id(cursor)

    def recurring(
        self, target: str | None = None, *, include_paused: bool = True
    ) -> list[Recurring]:
        """Recurring reminders not cancelled (every one, or one target's), in the order made."""
        sql, params = "SELECT * FROM recurring WHERE cancelled = 0", []
        if target is not None:
            sql += " AND target = ?"
            params.append(target)
        if not include_paused:
            sql += " AND paused = 0"
        return [_recurring(r) for r in self._rows(sql + " ORDER BY id", params)]

    def recurring_by_id(self, recurring_id: int) -> Recurring | None:
        """One recurring reminder, cancelled or not (its `cancelled` says)."""
        rows = self._rows("SELECT * FROM recurring WHERE id = ?", [recurring_id])
        return _recurring(rows[0]) if rows else None

    def cancel_recurring(self, recurring_id: int) -> bool:
        """Stop a recurring reminder for good; whether it was running (or paused)."""
        with immediate(self.db):
            cursor = self.db.conn.execute(
                "UPDATE recurring SET cancelled = 1 WHERE id = ? AND cancelled = 0", [recurring_id]
            )
            return cursor.rowcount == 1

    def set_recurring_paused(
        self, recurring_id: int, paused: bool, now: datetime | None = None
    ) -> bool:
        """Pause or resume a recurring reminder not cancelled; whether that changed it. What falls
        due while it is paused is never posted: a resume owes only occurrences from `now` on
        (pass the request's time; without it, the wall clock's)."""
        since = iso(now) if now is not None else _now_iso()
        with immediate(self.db):
            cursor = self.db.conn.execute(
                """UPDATE recurring SET paused = ?,
                       since = CASE WHEN ? THEN since ELSE ? END
                   WHERE id = ? AND cancelled = 0 AND paused != ?""",
                [int(paused), int(paused), since, recurring_id, int(paused)],
            )
            return cursor.rowcount == 1

    def reminders_for(
        self, user: str, *, due_after: datetime | None = None
    ) -> tuple[list[OneOff], list[Recurring]]:
        """A person's reminders not cancelled: those they asked for, and those for them (a direct
        message, or `for_user`). One-offs in due order (only those due after `due_after`, if
        given), recurring ones in the order made."""
        sql = """SELECT * FROM one_offs WHERE cancelled = 0
                 AND (created_by = :user OR channel = :user OR for_user = :user)"""
        if due_after is not None:
            sql += " AND due_at > :after"
        params = {"user": user, "after": iso(due_after) if due_after else ""}
        cursor = self.db.conn.execute(sql + " ORDER BY due_at, id", params)
        one_offs = [_one_off(r) for r in _dicts(cursor)]
        if due_after is not None:  # stored to the second: the filter is exact
            one_offs = [one for one in one_offs if one.due_at > due_after]
        cursor = self.db.conn.execute(
            """SELECT * FROM recurring WHERE cancelled = 0
               AND (created_by = :user OR target = :user OR for_user = :user) ORDER BY id""",
            params,
        )
        return one_offs, [_recurring(r) for r in _dicts(cursor)]

    # -- "Mark as done" ------------------------------------------------------------------------

    def mark_done(self, key: str, by: str, now: datetime) -> bool:
        """Mark a post done; True the first time (a second press, by anyone, changes nothing)."""
        with immediate(self.db):
            cursor = self.db.conn.execute(
                "INSERT OR IGNORE INTO done (key, by, at) VALUES (?, ?, ?)", [key, by, iso(now)]
            )
            return cursor.rowcount == 1

    def done_by(self, key: str) -> tuple[str, str] | None:
        """Who marked a post done, and when (UTC ISO); None if nobody has."""
        row = self.db.conn.execute("SELECT by, at FROM done WHERE key = ?", [key]).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    # -- pauses --------------------------------------------------------------------------------

    def pause(self, channel: str, until: datetime | None, by: str, now: datetime) -> None:
        """Keep a channel quiet until a time, or until resumed."""
        self.db.execute(
            """INSERT INTO pauses (channel, until, paused_by, paused_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (channel) DO UPDATE SET until = excluded.until,
                   paused_by = excluded.paused_by, paused_at = excluded.paused_at""",
            [channel, iso(until) if until else None, by, iso(now)],
        )

    def resume(self, channel: str) -> bool:
        """End a channel's pause; whether it was paused."""
        return self.db.execute("DELETE FROM pauses WHERE channel = ?", [channel]).rowcount == 1

    def pauses(self) -> dict[str, Pause]:
        """Every paused channel."""
        return {
            r["channel"]: Pause(
                r["channel"], from_iso(r["until"]) if r["until"] else None, r["paused_by"]
            )
            for r in self._rows("SELECT * FROM pauses")
        }

    # -- the delivery log ----------------------------------------------------------------------

    def claim(
        self,
        key: str,
        channel: str,
        kind: str,
        meeting_id: str,
        due_at: datetime,
        holder: str,
        wall: float,
        *,
        leased: bool = False,
    ) -> bool:
        """Claim a post's key before sending it; False when it is another's, or done.

        A key left for a retry is taken again; a claim of a scheduler that is gone is taken over
        only through `take_over`, after looking for the post in the channel. With `leased` (as the
        scheduler claims) it is claimed only while `holder` holds a live lease at `wall`, checked in
        the same statement: a process frozen and resumed cannot claim on what it last believed.
        """
        entry = _entry(key, channel, kind, meeting_id, due_at, "claimed")
        entry.update(holder=holder, claimed_at=wall, attempts=1)
        again = ("status", "holder", "claimed_at", "attempts", "updated_at")
        return self._log_delivery(entry, again, (holder, wall) if leased else None)

    def holds_claim(self, key: str, holder: str, wall: float) -> bool:
        """Whether `holder` still holds the claim on `key` and a live lease at `wall`: asked again
        right before the post is sent, since a scheduler frozen after claiming (a pause, a swap
        storm) may find on waking that a standby has taken its lease and the claim over."""
        row = self.db.conn.execute(
            f"""SELECT 1 FROM deliveries WHERE key = :key AND holder = :holder
                   AND status = 'claimed' AND {_LIVE_LEASE}""",
            {"key": key, "holder": holder, "wall": wall},
        ).fetchone()
        return row is not None

    def take_over(
        self,
        key: str,
        old_holder: str,
        holder: str,
        wall: float,
        *,
        min_age: float = 0.0,
        dead: bool = True,
    ) -> bool:
        """Take a claim (or an unknown outcome) to resolve it, while `holder`'s lease is live.

        `dead` says the old holder cannot be posting it (its process is gone, or it is `holder`);
        otherwise the old holder must hold no live lease. Either way its last attempt must be at
        least `min_age` seconds old. All of it is checked in the one statement that takes it.
        """
        cursor = self.db.execute(
            f"""UPDATE deliveries SET holder = :holder, claimed_at = :wall, status = 'claimed',
                   attempts = attempts + 1, updated_at = :now
               WHERE key = :key AND holder = :old AND status IN ('claimed', 'unknown')
                 AND {_LIVE_LEASE}
                 AND (:dead OR NOT EXISTS (SELECT 1 FROM scheduler_lease
                                           WHERE holder = :old AND expires > :wall))
                 AND :wall - max(claimed_at, attempted_at) >= :min_age""",
            {
                "holder": holder,
                "wall": wall,
                "now": _now_iso(),
                "key": key,
                "old": old_holder,
                "dead": int(dead),
                "min_age": min_age,
            },
        )
        return cursor.rowcount == 1

    def record_sent(
        self, key: str, ts: str, late: bool, channel: str = "", holder: str | None = None
    ) -> bool:
        """The post went out: keep Slack's ts (and the channel it went to, for a direct message).

        With `holder`, only while the claim is still that scheduler's: False when it was taken over.
        """
        cursor = self.db.execute(
            f"""UPDATE deliveries SET status = 'sent', ts = ?, late = ?, error = '', updated_at = ?,
                   channel = CASE WHEN ? != '' THEN ? ELSE channel END
               WHERE key = ? {_HELD if holder is not None else ""}""",
            [ts, int(late), _now_iso(), channel, channel, key, *_held(holder)],
        )
        return cursor.rowcount == 1

    def record_failed(self, key: str, error: str, retry: bool, holder: str | None = None) -> bool:
        """Slack refused the post: to be tried again, or given up, with the reason.

        With `holder`, only while the claim is still that scheduler's: False when it was taken over.
        """
        cursor = self.db.execute(
            f"""UPDATE deliveries SET status = ?, error = ?, updated_at = ?
               WHERE key = ? {_HELD if holder is not None else ""}""",
            ["retry" if retry else "failed", error[:500], _now_iso(), key, *_held(holder)],
        )
        return cursor.rowcount == 1

    def record_unknown(self, key: str, error: str, holder: str, wall: float) -> bool:
        """A post that may or may not have gone out (a timeout, a 5xx): the claim is kept, with the
        time the attempt ended, to be resolved from the channel's history; False if taken over."""
        cursor = self.db.execute(
            f"""UPDATE deliveries SET status = 'unknown', error = ?, attempted_at = ?,
                   updated_at = ?
               WHERE key = ? {_HELD}""",
            [error[:500], wall, _now_iso(), key, *_held(holder)],
        )
        return cursor.rowcount == 1

    def record_skipped(
        self,
        key: str,
        channel: str,
        kind: str,
        meeting_id: str,
        due_at: datetime,
        reason: str,
        status: str = "skipped",
        holder: str | None = None,
        wall: float = 0.0,
    ) -> bool:
        """A post that will not be made (missed while down, paused, cancelled), once.

        With `holder` (the scheduler), only while that holder's lease is live at `wall`.
        """
        entry = _entry(key, channel, kind, meeting_id, due_at, status)
        entry["error"] = reason[:500]
        again = ("status", "error", "updated_at")
        return self._log_delivery(entry, again, None if holder is None else (holder, wall))

    def _log_delivery(
        self, entry: dict[str, Any], again: Sequence[str], lease: tuple[str, float] | None
    ) -> bool:
        """The delivery log's one upsert (a claim, a skip): `entry` as a new row or, on a key
        left for a retry, its `again` columns as `entry` has them (attempts counted up); nothing
        on a key in any other state. With `lease` (holder, wall), only while that holder's lease
        is live at wall, checked in the same statement. Column names are constants."""
        sets = ", ".join(
            "attempts = deliveries.attempts + 1"
            if column == "attempts"
            else f"{column} = excluded.{column}"
            for column in again
        )
        holder, wall = lease if lease is not None else (None, 0.0)
        cursor = self.db.execute(
            f"""INSERT INTO deliveries ({", ".join(entry)})
               SELECT {", ".join(f":{column}" for column in entry)}
               WHERE {_LIVE_LEASE if lease is not None else "1"}
               ON CONFLICT (key) DO UPDATE SET {sets}
               WHERE deliveries.status = 'retry'""",
            {"holder": holder, "wall": wall, **entry},
        )
        return cursor.rowcount == 1

    def delivery(self, key: str) -> Delivery | None:
        """One key's entry."""
        rows = self._rows("SELECT * FROM deliveries WHERE key = ?", [key])
        return _delivery(rows[0]) if rows else None

    def deliveries(self, channel: str | None = None, status: str | None = None) -> list[Delivery]:
        """Entries of the delivery log, oldest first."""
        sql, params = "SELECT * FROM deliveries WHERE 1 = 1", []
        if channel is not None:
            sql += " AND channel = ?"
            params.append(channel)
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        return [_delivery(r) for r in self._rows(sql + " ORDER BY due_at, key", params)]

    def unresolved(self) -> list[Delivery]:
        """Claims whose post may be out or in flight: claimed (no outcome yet) or unknown."""
        rows = self._rows(
            "SELECT * FROM deliveries WHERE status IN ('claimed', 'unknown') ORDER BY due_at, key"
        )
        return [_delivery(r) for r in rows]

    def known_keys(self, since: datetime | None = None, exclude: str = "") -> set[str]:
        """Every key in the log except those waiting for a retry (of posts due from `since` on;
        not those of posts of the kind `exclude`)."""
        sql, params = "SELECT key FROM deliveries WHERE status != 'retry'", []
        if since is not None:
            sql += " AND due_at >= ?"
            params.append(iso(since))
        if exclude:
            sql += " AND kind != ?"
            params.append(exclude)
        return {r[0] for r in self.db.conn.execute(sql, params)}

    def done_keys(self, keys: Sequence[str]) -> set[str]:
        """Those of `keys` the log holds, except those waiting for a retry."""
        done: set[str] = set()
        for at in range(0, len(keys), _CHUNK):
            chunk = keys[at : at + _CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT key FROM deliveries WHERE key IN ({marks}) AND status != 'retry'"
            done.update(r[0] for r in self.db.conn.execute(sql, chunk))
        return done

    def last_outcomes(self, channel: str) -> tuple[Delivery | None, Delivery | None]:
        """A channel's last successful post and last failure."""

        def last(status: str) -> Delivery | None:
            rows = self._rows(
                "SELECT * FROM deliveries WHERE channel = ? AND status = ? "
                "ORDER BY updated_at DESC LIMIT 1",
                [channel, status],
            )
            return _delivery(rows[0]) if rows else None

        return last("sent"), last("failed")

    # -- the calendar feed's secret ------------------------------------------------------------

    def feed_token(self) -> str:
        """The secret in the calendar feed's path, made on first need (one for the whole store):
        read without a lock, and made under the write lock only when there is none yet."""
        read = "SELECT value FROM settings WHERE key = 'feed_token'"
        token = self.db.conn.execute(read).fetchone()
        if token is None:
            with immediate(self.db):
                self.db.conn.execute(
                    "INSERT OR IGNORE INTO settings (key, value) VALUES ('feed_token', ?)",
                    [secrets.token_urlsafe(24)],
                )
                token = self.db.conn.execute(read).fetchone()
        return str(token[0])

    def rotate_feed_token(self) -> str:
        """A new secret: the old feed address stops working at once."""
        token = secrets.token_urlsafe(24)
        with self.db.conn:
            self.db.conn.execute(
                """INSERT INTO settings (key, value) VALUES ('feed_token', ?)
                   ON CONFLICT (key) DO UPDATE SET value = excluded.value""",
                [token],
            )
        return token

    def is_feed_token(self, token: str) -> bool:
        """Whether `token` opens the feed (compared in constant time)."""
        row = self.db.conn.execute("SELECT value FROM settings WHERE key = 'feed_token'").fetchone()
        return row is not None and bool(token) and hmac.compare_digest(str(row[0]), token)

    # -- the scheduler lease -------------------------------------------------------------------

    def acquire_lease(
        self, holder: str, host: str, pid: int, wall: float, ttl: float, dead: str = ""
    ) -> bool:
        """Hold (or renew) the one scheduler lease. `dead` names a holder whose process is known
        to be gone: its lease is taken at once, but only if it is still that holder's (when
        several standbys see it die, the first takes it and the others find it taken)."""
        with immediate(self.db):  # the write lock before the read: deciders queue, none fails
            row = self.db.conn.execute(
                "SELECT holder, expires FROM scheduler_lease WHERE id = 1"
            ).fetchone()
            mine = row is None or row[0] == holder or row[1] < wall or bool(dead and row[0] == dead)
            if mine:
                self.db.conn.execute(
                    """INSERT INTO scheduler_lease (id, holder, host, pid, expires)
                       VALUES (1, ?, ?, ?, ?)
                       ON CONFLICT (id) DO UPDATE SET holder = excluded.holder,
                           host = excluded.host, pid = excluded.pid, expires = excluded.expires""",
                    [holder, host, pid, wall + ttl],
                )
        return mine

    def owed_since(self, channel: str, now: datetime) -> datetime:
        """Since when APEC_REMINDER_CHANNEL `channel` is owed reminders: the first time a
        scheduler planned for it on this store (`now`, recorded, if this is that time). A store
        that never ran a scheduler for the channel has missed nothing."""
        key = f"reminder_channel_since:{channel}"
        with immediate(self.db):
            self.db.conn.execute(
                "INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)", [key, iso(now)]
            )
            row = self.db.conn.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
        return datetime.fromisoformat(str(row[0]))

    def lease(self) -> tuple[str, str, int, float] | None:
        """(holder, host, pid, expires) of the lease, if any."""
        row = self.db.conn.execute(
            "SELECT holder, host, pid, expires FROM scheduler_lease WHERE id = 1"
        ).fetchone()
        return tuple(row) if row else None

    def release_lease(self, holder: str) -> None:
        """Give the lease up (on a clean stop), so a standby takes over at once."""
        self.db.execute("DELETE FROM scheduler_lease WHERE id = 1 AND holder = ?", [holder])

    # -- a brief's canvas (or file) in a channel: one per meeting and economy --------------------

    def brief_document(
        self, channel: str, meeting: str, economy: str = ""
    ) -> tuple[str, str] | None:
        """(kind, Slack id) of the canvas or file that holds this brief in `channel`, if any."""
        row = self.db.conn.execute(
            """SELECT kind, slack_id FROM brief_documents
               WHERE channel = ? AND meeting_id = ? AND economy_id = ?""",
            [channel, meeting, economy],
        ).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def keep_brief_document(
        self, channel: str, meeting: str, economy: str, kind: str, slack_id: str, now: datetime
    ) -> None:
        """Remember the canvas or file that now holds this brief in `channel` (replacing any)."""
        with immediate(self.db):
            self.db.conn.execute(
                """INSERT INTO brief_documents (channel, meeting_id, economy_id, kind, slack_id, at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (channel, meeting_id, economy_id) DO UPDATE SET
                       kind = excluded.kind, slack_id = excluded.slack_id, at = excluded.at""",
                [channel, meeting, economy, kind, slack_id, iso(now)],
            )

    def forget_brief_document(
        self, channel: str, meeting: str, economy: str, slack_id: str
    ) -> None:
        """Forget this brief's canvas or file (deleted in Slack), if it is still the one kept."""
        with immediate(self.db):
            self.db.conn.execute(
                """DELETE FROM brief_documents
                   WHERE channel = ? AND meeting_id = ? AND economy_id = ? AND slack_id = ?""",
                [channel, meeting, economy, slack_id],
            )


# A claim is made, or taken over, only while its holder holds the lease: in the same statement.
_LIVE_LEASE = """EXISTS (SELECT 1 FROM scheduler_lease
                         WHERE id = 1 AND holder = :holder AND expires > :wall)"""
# A result is recorded only while the claim is still its holder's (not taken over meanwhile).
_HELD = "AND holder = ? AND status IN ('claimed', 'unknown')"


def _entry(
    key: str, channel: str, kind: str, meeting_id: str, due_at: datetime, status: str
) -> dict[str, Any]:
    """A new delivery-log row's columns, as written now."""
    return {
        "key": key,
        "channel": channel,
        "kind": kind,
        "meeting_id": meeting_id,
        "due_at": iso(due_at),
        "status": status,
        "updated_at": _now_iso(),
    }


def _held(holder: str | None) -> list[str]:
    return [] if holder is None else [holder]


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


_CHUNK = 500  # keys looked up in one statement (SQLite allows 32,766 parameters)


def subscription_of(row: str) -> Subscription:
    """A subscription from its row read as `json_array(SUBSCRIPTION_FIELDS)`."""
    return _subscription(dict(zip(SUBSCRIPTION_FIELDS.split(", "), json.loads(row), strict=True)))


def _subscription(r: dict[str, Any]) -> Subscription:
    return Subscription(
        id=r["id"],
        channel=r["channel"],
        kind=r["kind"],
        tz=r["tz"],
        offsets=tuple(json.loads(r["offsets"])),
        kinds=tuple(json.loads(r["kinds"])),
        cadence=r["cadence"],
        weekday=r["weekday"],
        at_time=r["at_time"],
        created_by=r["created_by"],
        since=from_iso(r["created_at"]),
    )


def check_rule(rule: str, start: datetime) -> str:
    """The rule as stored (upper case, no "RRULE:"), checked: ValueError unless dateutil reads it
    from `start` (naive), it recurs daily or less often, and `start` is its first occurrence."""
    text = rule.strip().removeprefix("RRULE:").removeprefix("rrule:").upper()
    if "DTSTART" in text or "\n" in text:
        raise ValueError(f"the rule is one RRULE without DTSTART: {rule!r}")
    parts = dict(part.partition("=")[::2] for part in text.split(";") if part)
    if parts.get("FREQ") not in FREQUENCIES:
        raise ValueError(f"a reminder recurs daily, weekly, monthly or yearly, not {rule!r}")
    if start.tzinfo is not None:
        raise ValueError("a recurring reminder starts at a wall time (naive)")
    try:
        first = rrulestr(text, dtstart=start).after(start, inc=True)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not an RFC 5545 rule: {rule!r} ({exc})") from exc
    if first is None:
        raise ValueError(f"{text} ends before {start.isoformat()}: it never falls due")
    if first != start:
        raise ValueError(f"{start.isoformat()} is not the first occurrence of {text}")
    return text


def recurring_of(row: str) -> Recurring:
    """A recurring reminder from its row read as `json_array(RECURRING_FIELDS)`."""
    return _recurring(dict(zip(RECURRING_FIELDS.split(", "), json.loads(row), strict=True)))


def _recurring(r: dict[str, Any]) -> Recurring:
    return Recurring(
        **{
            **r,
            "start": datetime.fromisoformat(r["start"]),
            "created_at": from_iso(r["created_at"]),
            "since": from_iso(r["since"]),
            "paused": bool(r["paused"]),
            "cancelled": bool(r["cancelled"]),
        }
    )


def _dicts(cursor: Any) -> list[dict[str, Any]]:
    cols = [c[0] for c in cursor.description]
    return [dict(zip(cols, row, strict=True)) for row in cursor.fetchall()]


def _one_off(r: dict[str, Any]) -> OneOff:
    fields = {k: v for k, v in r.items() if k != "cancelled"}
    return OneOff(
        **{**fields, "due_at": from_iso(r["due_at"]), "created_at": from_iso(r["created_at"])}
    )


def _delivery(r: dict[str, Any]) -> Delivery:
    return Delivery(**{**r, "due_at": from_iso(r["due_at"]), "late": bool(r["late"])})
