"""The desk's own tables: subscriptions, one-off reminders, pauses, the delivery log, the scheduler lease.

`apec-bot build` never touches these. The delivery log is how a post is made exactly once: its key is
claimed here before the post is sent, and Slack's `ts` is recorded after.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from store.db import immediate, rows

DEFAULT_OFFSETS = ("7d", "1d", "0d")
DEFAULT_KINDS = ("som", "summit", "ministerial")
# A subscription's columns, in the order `subscription_of` reads them.
SUBSCRIPTION_FIELDS = (
    "id, channel, kind, tz, offsets, kinds, cadence, weekday, at_time, created_by, created_at"
)


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
        """The zone given, else the channel's (read in the caller's transaction), else the desk's."""
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
        with immediate(self.db):
            self._upsert_reminders(channel, self._zone(channel, tz, default_tz), offsets, kinds, by, now)  # fmt: skip
            return self.subscription(channel, "reminders")  # type: ignore[return-value]

    def _upsert_reminders(self, channel: str, tz: str, offsets: tuple[str, ...],
                          kinds: tuple[str, ...], by: str, now: datetime) -> None:  # fmt: skip
        self.db.execute(
            """INSERT INTO subscriptions (channel, kind, tz, offsets, kinds, created_by, created_at)
               VALUES (?, 'reminders', ?, ?, ?, ?, ?)
               ON CONFLICT (channel, kind) DO UPDATE SET tz = excluded.tz, offsets = excluded.offsets,
                   kinds = excluded.kinds, created_by = excluded.created_by,
                   created_at = excluded.created_at""",
            [channel, tz, json.dumps(list(offsets)), json.dumps(list(kinds)), by, iso(now)],
        )

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
        with immediate(self.db):
            tz = self._zone(channel, tz, default_tz)
            self.db.execute(
                """INSERT INTO subscriptions (channel, kind, tz, cadence, weekday, at_time, created_by, created_at)
               VALUES (?, 'digest', ?, ?, ?, ?, ?, ?)
               ON CONFLICT (channel, kind) DO UPDATE SET tz = excluded.tz, cadence = excluded.cadence,
                   weekday = excluded.weekday, at_time = excluded.at_time,
                   created_by = excluded.created_by, created_at = excluded.created_at""",
                [channel, tz, cadence, weekday, at_time, by, iso(now)],
            )
            return self.subscription(channel, "digest")  # type: ignore[return-value]

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
    ) -> int:
        """Queue a one-off post; its number."""
        cursor = self.db.execute(
            """INSERT INTO one_offs (channel, due_at, tz, text, meeting_id, offset_text, created_by, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            [channel, iso(due_at), tz, text, meeting_id, offset_text, by, iso(now)],
        )
        return int(cursor.lastrowid)

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
        sql = "SELECT * FROM one_offs WHERE cancelled = 0 AND due_at BETWEEN ? AND ? ORDER BY due_at, id"
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
        live = _LIVE_LEASE if leased else "1"
        cursor = self.db.execute(
            f"""INSERT INTO deliveries (key, channel, kind, meeting_id, due_at, status, holder,
                                       claimed_at, attempts, updated_at)
               SELECT :key, :channel, :kind, :meeting, :due, 'claimed', :holder, :wall, 1, :now
               WHERE {live}
               ON CONFLICT (key) DO UPDATE SET status = 'claimed', holder = excluded.holder,
                   claimed_at = excluded.claimed_at, attempts = deliveries.attempts + 1,
                   updated_at = excluded.updated_at
               WHERE deliveries.status = 'retry'""",
            {
                "key": key,
                "channel": channel,
                "kind": kind,
                "meeting": meeting_id,
                "due": iso(due_at),
                "holder": holder,
                "wall": wall,
                "now": _now_iso(),
            },
        )
        return cursor.rowcount == 1

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
            f"""UPDATE deliveries SET status = 'unknown', error = ?, attempted_at = ?, updated_at = ?
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
        live = _LIVE_LEASE if holder is not None else "1"
        cursor = self.db.execute(
            f"""INSERT INTO deliveries (key, channel, kind, meeting_id, due_at, status, error, updated_at)
               SELECT :key, :channel, :kind, :meeting, :due, :status, :error, :now WHERE {live}
               ON CONFLICT (key) DO UPDATE SET status = excluded.status, error = excluded.error,
                   updated_at = excluded.updated_at
               WHERE deliveries.status = 'retry'""",
            {
                "key": key,
                "channel": channel,
                "kind": kind,
                "meeting": meeting_id,
                "due": iso(due_at),
                "status": status,
                "error": reason[:500],
                "now": _now_iso(),
                "holder": holder,
                "wall": wall,
            },
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

    def known_keys(self, since: datetime | None = None) -> set[str]:
        """Every key in the log except those waiting for a retry (of posts due from `since` on)."""
        sql, params = "SELECT key FROM deliveries WHERE status != 'retry'", []
        if since is not None:
            sql += " AND due_at >= ?"
            params.append(iso(since))
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
                "SELECT * FROM deliveries WHERE channel = ? AND status = ? ORDER BY updated_at DESC LIMIT 1",
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
                    """INSERT INTO scheduler_lease (id, holder, host, pid, expires) VALUES (1, ?, ?, ?, ?)
                       ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, host = excluded.host,
                           pid = excluded.pid, expires = excluded.expires""",
                    [holder, host, pid, wall + ttl],
                )
        return mine

    def lease(self) -> tuple[str, str, int, float] | None:
        """(holder, host, pid, expires) of the lease, if any."""
        row = self.db.conn.execute(
            "SELECT holder, host, pid, expires FROM scheduler_lease WHERE id = 1"
        ).fetchone()
        return tuple(row) if row else None  # type: ignore[return-value]

    def release_lease(self, holder: str) -> None:
        """Give the lease up (on a clean stop), so a standby takes over at once."""
        self.db.execute("DELETE FROM scheduler_lease WHERE id = 1 AND holder = ?", [holder])


# A claim is made, or taken over, only while its holder holds the lease: in the same statement.
_LIVE_LEASE = """EXISTS (SELECT 1 FROM scheduler_lease
                         WHERE id = 1 AND holder = :holder AND expires > :wall)"""
# A result is recorded only while the claim is still its holder's (not taken over meanwhile).
_HELD = "AND holder = ? AND status IN ('claimed', 'unknown')"


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


def _one_off(r: dict[str, Any]) -> OneOff:
    fields = {k: v for k, v in r.items() if k != "cancelled"}
    return OneOff(
        **{**fields, "due_at": from_iso(r["due_at"]), "created_at": from_iso(r["created_at"])}
    )


def _delivery(r: dict[str, Any]) -> Delivery:
    return Delivery(**{**r, "due_at": from_iso(r["due_at"]), "late": bool(r["late"])})
