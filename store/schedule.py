"""What the scheduler will post, when, and why: derived from the store, never stored itself.

Reminders fall at 09:00 in the channel's zone, counted back from a meeting's first day (as the
venue dates it): "7d" is 09:00 seven days before, "0d" is 09:00 on the first day, "1h" is 08:00 on
it. Only meetings known to the day get reminders; a month-only meeting gets a note in the digest.

A recurring reminder's occurrences are its rule's (python-dateutil's `rrule`, read from its first
occurrence) as wall-clock times in the asker's zone, so 09:00 stays 09:00 across daylight saving:
a time the clocks skip falls at the same wall time on the old offset (02:30 on the night clocks go
forward from 02:00 is 03:30), a time they repeat at the first of its two instants. Each is posted
once, keyed by its wall time. It ends with its rule's UNTIL, or before its meeting's first day
("until SOM2", read when planning: a re-dated meeting moves the end); paused or cancelled, it is
not planned, and resumed, only what falls due from then on is owed.

`plan` lists the posts due in a window. `Schedule` is the plan the scheduler keeps between runs: the
posts due up to each zone's midnight after tomorrow, in due order. It is built once with a look-back
(the catch-up: posts missed while no scheduler ran), then changed only where the store changed, and
a day further at each zone's midnight. `Planner` makes posts for many channels at once.
"""

from __future__ import annotations

import heapq
import itertools
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import sqlite_utils
from dateutil.rrule import rrule, rrulestr

from store.db import open_sqlite
from store.desk import (
    DEFAULT_OFFSETS,
    RECURRING_FIELDS,
    SUBSCRIPTION_FIELDS,
    Desk,
    OneOff,
    Recurring,
    Subscription,
    recurring_of,
    subscription_of,
)
from store.models import Meeting
from store.proposals import POST_KIND, held_pending, pending, post_key, where
from store.queries import Store, records_version
from store.vocabulary import DAY_NAMES

K = TypeVar("K")
# What a digest's times are worked out once for: zone, cadence, weekday, time of day, span.
_DigestAt = tuple[str, str, int, str, tuple[datetime, datetime]]
REMINDER_HOUR = time(9, 0)
ALWAYS = datetime(2000, 1, 1, tzinfo=UTC)  # APEC_REMINDER_CHANNEL is owed every reminder
REMINDER_CHANNEL_KINDS = ("som", "summit")
_OFFSET = re.compile(r"^(\d{1,3})([dhm])$")
AHEAD_DAYS = 2  # a zone is planned to its midnight after tomorrow: a whole day is always ahead
ONE_OFFS_AHEAD = timedelta(days=AHEAD_DAYS + 1)  # beyond every zone's horizon
# How far back a recurring reminder's occurrences are planned when the plan is made (at start, on
# a change): one missed longer ago would only be recorded as skipped (the scheduler posts one at
# most 12 hours late), and at thousands of daily reminders the full look-back costs seconds.
RECURRING_LOOKBACK = timedelta(days=1)
# Wall times looked at beyond a window's ends, in the zone: more than any offset change shifts them
# (an hour, at most two, in every zone today).
_WALL_SLACK = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class Post:
    """One post the scheduler owes a channel."""

    key: str  # claimed in the delivery log before sending: the post is made once
    channel: str
    kind: str  # reminder, digest, one-off, proposals
    due: datetime  # aware, UTC
    tz: str
    since: datetime  # owed only if due after this (the subscription's last change)
    why: str
    meeting_id: str = ""
    offset: str = ""
    one_off_id: int = 0
    text: str = ""
    recurring_id: int = 0
    asker: str = ""  # who asked for a one-off or recurring reminder
    for_user: str = ""  # the person reminded, when not the asker

    @property
    def local(self) -> datetime:
        """The due time in the channel's zone."""
        return self.due.astimezone(ZoneInfo(self.tz))


def _order(post: Post) -> tuple[datetime, str, str]:
    return post.due, post.channel, post.key


@lru_cache(maxsize=1024)
def parse_offset(text: str) -> timedelta | None:
    """ "7d", "2d", "1h", "30m" as a duration; None if it is not one."""
    match = _OFFSET.match(text.strip().lower())
    if not match:
        return None
    n, unit = int(match.group(1)), match.group(2)
    return {"d": timedelta(days=n), "h": timedelta(hours=n), "m": timedelta(minutes=n)}[unit]


def describe_offset(offset: str) -> str:
    """ "7d" -> "7 days before", "0d" -> "on the first day", "1h" -> "1 hour before"."""
    delta = parse_offset(offset)
    if delta is None or delta == timedelta(0):
        return "on the first day"
    match = _OFFSET.match(offset)
    assert match is not None
    n, unit = int(match.group(1)), {"d": "day", "h": "hour", "m": "minute"}[match.group(2)]
    return f"{n} {unit}{'' if n == 1 else 's'} before"


def cadence_text(sub: Subscription) -> str:
    """A digest's cadence: "daily", "weekly on Monday"."""
    return "daily" if sub.cadence == "daily" else f"weekly on {DAY_NAMES[sub.weekday]}"


@lru_cache(maxsize=65536)  # the same meeting, offset and zone for many channels: work it out once
def reminder_time(first_day: date, offset: str, zone: ZoneInfo) -> datetime:
    """When a reminder falls: days are counted on the calendar (so 09:00 stays 09:00 across a
    daylight-saving change); hours and minutes are counted back from 09:00 on the first day."""
    delta = parse_offset(offset) or timedelta(0)
    days = delta.days
    rest = delta - timedelta(days=days)
    local = datetime.combine(first_day - timedelta(days=days), REMINDER_HOUR, zone)
    return (local.astimezone(UTC) - rest).astimezone(UTC)


@lru_cache(maxsize=512)
def _zone(name: str, fallback: ZoneInfo) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except Exception:  # noqa: BLE001 - a stored zone that no longer exists: use the desk's
        return fallback


def digest_times(
    sub: Subscription, zone: ZoneInfo, start: datetime, end: datetime
) -> list[datetime]:
    """The times a digest subscription falls due between start and end."""
    hour, minute = (int(x) for x in sub.at_time.split(":"))
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    out = []
    while day <= last:
        if sub.cadence == "daily" or day.weekday() == sub.weekday:
            due = datetime.combine(day, time(hour, minute), zone).astimezone(UTC)
            if start <= due < end:
                out.append(due)
        day += timedelta(days=1)
    return out


def horizon(zone: ZoneInfo, now: datetime) -> datetime:
    """Where a zone's plan ends: its midnight after tomorrow (so a whole day is always planned)."""
    day = now.astimezone(zone).date() + timedelta(days=AHEAD_DAYS)
    return datetime.combine(day, time(0), zone).astimezone(UTC)


# -- recurring reminders -------------------------------------------------------------------------

_PERIOD_DAYS = {"DAILY": 1, "WEEKLY": 7}


@dataclass(frozen=True)
class _Rule:
    """A stored rule read from its first occurrence. rrule counts every occurrence from DTSTART
    up (a daily rule a year old walks 365 of them to reach today), so a rule whose periods are a
    fixed length (daily, weekly; no COUNT) is read from its start moved on by whole periods, which
    keeps every occurrence from there on (the same days of the same weeks, the same time)."""

    rule: rrule  # parsed once, from the start
    start: datetime  # naive wall time
    step: timedelta | None  # a whole period (times INTERVAL), or None: read from the start

    def walls(self, after: datetime) -> Iterator[datetime]:
        """The occurrences from `after` on (naive wall times), in order."""
        read = self.rule
        if self.step is not None and after > self.start:
            read = read.replace(dtstart=self.start + (after - self.start) // self.step * self.step)
        return read.xafter(after, inc=True)


@lru_cache(maxsize=65536)
def _rule(text: str, start: datetime) -> _Rule:
    parsed = rrulestr(text, dtstart=start)
    assert isinstance(parsed, rrule)  # one RRULE, as the desk stores it: never a set
    parts = dict(part.partition("=")[::2] for part in text.split(";"))
    days = _PERIOD_DAYS.get(parts.get("FREQ", ""))
    if days is None or "COUNT" in parts:
        return _Rule(parsed, start, None)
    return _Rule(parsed, start, timedelta(days=days * int(parts.get("INTERVAL") or 1)))


def occurrences(
    reminder: Recurring, zone: ZoneInfo, start: datetime, end: datetime, stop: date | None = None
) -> list[tuple[datetime, datetime]]:
    """(wall time, due in UTC) of each of a recurring reminder's occurrences due in [start, end),
    in `zone`; only those on days before `stop` (its meeting's first day) when given."""
    low = start.astimezone(zone).replace(tzinfo=None) - _WALL_SLACK
    high = end.astimezone(zone).replace(tzinfo=None) + _WALL_SLACK
    found = []
    for wall in _rule(reminder.rule, reminder.start).walls(low):
        if wall >= high or (stop is not None and wall.date() >= stop):
            break
        due = wall.replace(tzinfo=zone).astimezone(UTC)  # fold 0: see the module's docstring
        if start <= due < end:
            found.append((wall, due))
    return found


def next_occurrence(
    reminder: Recurring, zone: ZoneInfo, after: datetime, stop: date | None = None
) -> datetime | None:
    """When a recurring reminder next falls due after `after` (UTC); None once it has ended."""
    low = after.astimezone(zone).replace(tzinfo=None) - _WALL_SLACK
    for wall in _rule(reminder.rule, reminder.start).walls(low):
        if stop is not None and wall.date() >= stop:
            return None
        due = wall.replace(tzinfo=zone).astimezone(UTC)
        if due > after:
            return due
    return None


def occurrence_key(reminder_id: int, wall: datetime) -> str:
    """The delivery key of one occurrence: its wall time, which no restart or clock change moves."""
    return f"recurring:{reminder_id}:{wall:%Y-%m-%dT%H:%M}"


# -- planning many channels at once --------------------------------------------------------------

# The window each zone is planned for, [start, end); None leaves the zone out.
Window = Callable[[ZoneInfo], "tuple[datetime, datetime] | None"]


@dataclass(frozen=True)
class _Times:
    """Every remindable meeting's reminder at one offset in one zone, in time order."""

    dues: list[datetime]
    meetings: list[Meeting]
    tails: list[str]  # each key's end, after the channel
    abouts: list[str]  # each post's `why`, after the subscription's part


class _Made:
    """Posts as they are made: one a key; of two, the earlier subscribed (as `plan` always did)."""

    def __init__(self, owed: bool, skip: frozenset[str] | set[str]) -> None:
        self.owed = owed  # leave out posts due before their subscription's time
        self.skip = skip  # keys to leave out (already in the delivery log)
        self.posts: dict[str, Post] = {}

    def wants(self, key: str, due: datetime, since: datetime) -> bool:
        return key not in self.skip and not (self.owed and due < since)

    def add(self, post: Post) -> None:
        held = self.posts.get(post.key)
        if held is None or post.since <= held.since:
            self.posts[post.key] = post


class Planner:
    """Makes posts for many channels at once: each reminder time is worked out once per zone,
    offset and meeting (not once per channel), so a plan costs about one step per post."""

    def __init__(
        self,
        meetings: Iterable[Meeting],
        default_tz: ZoneInfo,
        reminder_channel: str = "",
        reminder_since: datetime = ALWAYS,
    ) -> None:
        meetings = list(meetings)
        self.meetings = [
            m for m in meetings if m.dated and not m.parent_id and m.status != "cancelled"
        ]
        # Where "until SOM2" ends: the meeting's first day (the month's first, known to it only).
        self.first_days = {m.id: m.span.start for m in meetings if m.span.start is not None}
        self.default_tz = default_tz
        self.reminder_channel = reminder_channel
        self.reminder_since = reminder_since  # APEC_REMINDER_CHANNEL is owed what is due after it
        self._times: dict[tuple[str, str], _Times] = {}
        self._digest_times: dict[_DigestAt, list[tuple[datetime, str]]] = {}

    def zone(self, name: str) -> ZoneInfo:
        """A stored zone, or the desk's when it no longer exists."""
        return _zone(name, self.default_tz)

    def posts(
        self,
        subs: Iterable[Subscription],
        one_offs: Iterable[OneOff],
        window: Window,
        *,
        reminder_channel: bool = True,
        owed: bool = False,
        skip: frozenset[str] | set[str] = frozenset(),
        recurring: Iterable[Recurring] = (),
    ) -> list[Post]:
        """The posts of these subscriptions, one-offs and recurring reminders (and of
        APEC_REMINDER_CHANNEL, unless told not to) due in their zone's window, one a key. `owed`
        leaves out posts due before their subscription's (or reminder's) time; `skip`, posts with
        those keys."""
        made = _Made(owed, skip)
        if reminder_channel and self.reminder_channel:
            ours = (
                DEFAULT_OFFSETS,
                REMINDER_CHANNEL_KINDS,
                self.reminder_since,
                "APEC_REMINDER_CHANNEL",
            )
            self._reminders(made, self.reminder_channel, self.default_tz, *ours, window)
        for sub in subs:
            zone = self.zone(sub.tz)
            if sub.kind == "reminders":
                self._reminders(
                    made,
                    sub.channel,
                    zone,
                    sub.offsets,
                    sub.kinds,
                    sub.since,
                    "reminders subscription",
                    window,
                )
            elif sub.kind == "digest":
                self._digests(made, sub, zone, window)
        for one in one_offs:
            self._one_off(made, one, window)
        for reminder in recurring:
            self._recurring(made, reminder, window)
        return list(made.posts.values())

    def _reminders(
        self,
        made: _Made,
        channel: str,
        zone: ZoneInfo,
        offsets: tuple[str, ...],
        kinds: tuple[str, ...],
        since: datetime,
        why: str,
        window: Window,
    ) -> None:
        span = window(zone)
        if span is None:
            return
        for offset in offsets:
            times = self._times_at(zone, offset)
            for i in range(bisect_left(times.dues, span[0]), bisect_left(times.dues, span[1])):
                meeting, due = times.meetings[i], times.dues[i]
                if meeting.kind not in kinds:
                    continue
                key = f"reminder:{channel}{times.tails[i]}"
                if made.wants(key, due, since):
                    made.add(
                        Post(
                            key,
                            channel,
                            "reminder",
                            due,
                            zone.key,
                            since,
                            why + times.abouts[i],
                            meeting.id,
                            offset,
                        )
                    )

    def _times_at(self, zone: ZoneInfo, offset: str) -> _Times:
        found = self._times.get((zone.key, offset))
        if found is None:
            dated = ((m.span.start, m) for m in self.meetings if m.span.start is not None)
            pairs = sorted(
                ((reminder_time(day, offset, zone), m) for day, m in dated), key=lambda p: p[0]
            )
            found = self._times[(zone.key, offset)] = _Times(
                dues=[due for due, _ in pairs],
                meetings=[m for _, m in pairs],
                tails=[f":{m.id}:{m.span.start}:{offset}" for _, m in pairs],
                abouts=[f": {describe_offset(offset)} {m.short}" for _, m in pairs],
            )
        return found

    def _digests(self, made: _Made, sub: Subscription, zone: ZoneInfo, window: Window) -> None:
        span = window(zone)
        if span is None:
            return
        why = f"digest subscription ({cadence_text(sub)} at {sub.at_time})"
        for due, day in self._digest_days(sub, zone, span):
            key = f"digest:{sub.channel}:{day}"
            if made.wants(key, due, sub.since):
                made.add(Post(key, sub.channel, "digest", due, zone.key, sub.since, why))

    def _digest_days(
        self, sub: Subscription, zone: ZoneInfo, span: tuple[datetime, datetime]
    ) -> list[tuple[datetime, str]]:
        """When a digest falls due in the span, with the local day of each (the same for every
        channel with the same zone, cadence and time: worked out once)."""
        found_at = (zone.key, sub.cadence, sub.weekday, sub.at_time, span)
        found = self._digest_times.get(found_at)
        if found is None:
            found = self._digest_times[found_at] = [
                (due, due.astimezone(zone).date().isoformat())
                for due in digest_times(sub, zone, *span)
            ]
        return found

    def _one_off(self, made: _Made, one: OneOff, window: Window) -> None:
        zone = self.zone(one.tz)
        span = window(zone)
        key = f"one-off:{one.id}"
        if span is None or not span[0] <= one.due_at < span[1]:
            return
        if made.wants(key, one.due_at, one.created_at):
            asked = f" asked by <@{one.created_by}>" if one.created_by else ""
            made.add(
                Post(
                    key=key,
                    channel=one.channel,
                    kind="one-off",
                    due=one.due_at,
                    tz=zone.key,
                    since=one.created_at,
                    why=f"one-off #{one.id}{asked}",
                    meeting_id=one.meeting_id,
                    offset=one.offset_text,
                    one_off_id=one.id,
                    text=one.text,
                    asker=one.created_by,
                    for_user=one.for_user,
                )
            )

    def _recurring(self, made: _Made, reminder: Recurring, window: Window) -> None:
        if reminder.paused or reminder.cancelled:
            return
        zone = self.zone(reminder.tz)
        span = window(zone)
        if span is None:
            return
        stop = self.first_days.get(reminder.meeting_id) if reminder.meeting_id else None
        why = f"recurring #{reminder.id}" + (
            f" asked by <@{reminder.created_by}>" if reminder.created_by else ""
        )
        for wall, due in occurrences(reminder, zone, *span, stop=stop):
            key = occurrence_key(reminder.id, wall)
            if made.wants(key, due, reminder.since):
                made.add(
                    Post(
                        key=key,
                        channel=reminder.target,
                        kind="recurring",
                        due=due,
                        tz=zone.key,
                        since=reminder.since,
                        why=why,
                        meeting_id=reminder.meeting_id,
                        text=reminder.text,
                        recurring_id=reminder.id,
                        asker=reminder.created_by,
                        for_user=reminder.for_user,
                    )
                )


def proposal_posts(
    db: sqlite_utils.Database, desk_channel: str, tz: ZoneInfo, start: datetime, end: datetime
) -> list[Post]:
    """The cards of documents with open proposals, each due when its proposals were made, and of
    each source held for a flood of them, one a day, due when it was held (store.proposals), to
    APEC_DESK_CHANNEL (none when it is not set)."""
    if not desk_channel:
        return []
    documents = [
        Post(post_key(source), desk_channel, POST_KIND, due, tz.key, due, f"proposals of {source}")
        for source, due in pending(db)
        if start <= due < end
    ]
    held = [
        Post(key, desk_channel, POST_KIND, due, tz.key, due, f"proposals held from {where(origin)}")
        for key, origin, due in held_pending(db)
        if start <= due < end
    ]
    return documents + held


def plan(
    store: Store,
    desk: Desk,
    start: datetime,
    end: datetime,
    default_tz: ZoneInfo,
    reminder_channel: str = "",
    channel: str | None = None,
    desk_channel: str = "",
) -> list[Post]:
    """Every post due in [start, end), in time order (for one channel if given)."""
    planner = Planner(store.meetings(), default_tz, reminder_channel)
    posts = planner.posts(
        desk.subscriptions(channel),
        desk.one_offs(channel),
        lambda _zone: (start, end),
        reminder_channel=channel in (None, reminder_channel),
        recurring=desk.recurring(channel, include_paused=False),
    )
    if channel in (None, desk_channel):
        posts += proposal_posts(store.db, desk_channel, default_tz, start, end)
    return sorted(posts, key=_order)


# -- the plan kept between runs ------------------------------------------------------------------


class Agenda:
    """Posts planned and not yet handled, in due order (a heap): a run takes only what is due.
    Posts a run took and gave back (`hold`) wait beside it, for the next run, with no time of
    their own."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, str]] = []
        self._posts: dict[str, tuple[int, Post]] = {}  # key -> (its place's number, the post)
        self._numbers = itertools.count()
        self._held: dict[str, Post] = {}

    def __len__(self) -> int:
        return len(self._posts) + len(self._held)

    def add(self, posts: Iterable[Post]) -> None:
        """Plan these posts; of two with one key, the earlier subscribed stays (as in `plan`)."""
        for post in posts:
            held = self._posts.get(post.key)
            if held is not None and held[1].since < post.since:
                continue
            number = next(self._numbers)
            self._posts[post.key] = (number, post)
            heapq.heappush(self._heap, (post.due, number, post.key))

    def hold(self, posts: Iterable[Post]) -> None:
        """Keep posts a run took out for the next run (it takes them whatever the time)."""
        self._held.update((post.key, post) for post in posts)

    def drop(self, gone: Callable[[Post], bool]) -> None:
        """Forget the planned posts `gone` picks; their places in the heap are passed over."""
        self._held = {key: post for key, post in self._held.items() if not gone(post)}
        for key in [key for key, (_, post) in self._posts.items() if gone(post)]:
            del self._posts[key]
        if len(self._heap) > 2 * len(self._posts) + 1024:  # mostly places passed over: rebuild
            self._heap = [(post.due, n, key) for key, (n, post) in self._posts.items()]
            heapq.heapify(self._heap)

    def pop_due(self, now: datetime) -> list[Post]:
        """Take out every post due by `now`, and those held, in time order."""
        out, self._held = self._held, {}
        while self._heap and self._heap[0][0] <= now:
            _, number, key = heapq.heappop(self._heap)
            held = self._posts.get(key)
            if held is not None and held[0] == number:
                del self._posts[key]
                out[key] = held[1]
        return sorted(out.values(), key=_order)

    def next_due(self) -> datetime | None:
        """When the next planned post falls due (held ones aside)."""
        while self._heap:
            due, number, key = self._heap[0]
            held = self._posts.get(key)
            if held is not None and held[0] == number:
                return due
            heapq.heappop(self._heap)
        return None

    def posts(self) -> list[Post]:
        """Every planned post, held ones too, in time order."""
        planned = [post for _, post in self._posts.values()]
        return sorted([*planned, *self._held.values()], key=_order)


# What plans are made of, in one statement: every subscription whole (a JSON array a row, apart by
# a character JSON never holds unescaped); the one-offs by count, last id and cancellations (they
# are only ever added and cancelled); each meeting's fields that place its reminders; the open
# proposals, by count, last id and holds (the desk's channel gets a card of each document's, or of
# each source held for a flood); every recurring reminder running, whole (a pause or a
# cancellation takes its row out, a resume puts it back with a new `since`). The delivery log and
# the lease are not in it: the scheduler's own writes are not changes.
_APART = "\x01"
_INPUTS = f"""
    SELECT (SELECT group_concat(json_array({SUBSCRIPTION_FIELDS}), char(1)) FROM subscriptions),
           (SELECT json_array(count(*), max(id), total(cancelled)) FROM one_offs),
           (SELECT group_concat(json_array(id, short, kind, parent_id, start_date, precision,
                                           status), ';') FROM meetings),
           (SELECT json_array(count(*), max(id), sum(held != '')) FROM proposals
            WHERE status = 'open'),
           (SELECT group_concat(json_array({RECURRING_FIELDS}), char(1)) FROM recurring
            WHERE paused = 0 AND cancelled = 0)"""


# What of a meeting places its reminders: kind, parent, first day, dated, status, short name.
_Signature = tuple[str, str, date | None, bool, str, str]


def _signature(meeting: Meeting) -> _Signature:
    """What of a meeting places its reminders (and names them)."""
    m = meeting
    return m.kind, m.parent_id, m.span.start, m.dated, m.status, m.short


def _rows(column: str | None) -> set[str]:
    """Each row (its fields as a JSON array) in a column of the inputs that holds rows whole."""
    return set(column.split(_APART)) if column else set()


def _changed(before: Mapping[K, object], after: Mapping[K, object]) -> set[K]:
    """The keys added, removed or changed from `before` to `after`."""
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}


class Schedule:
    """The plan the scheduler keeps between runs, re-planned only where the store changed.

    Built at the first refresh with the look-back (the catch-up). After that a refresh costs one
    `PRAGMA data_version` on a connection of its own; only when another connection committed, the
    records version (store.schema), and only when a record changed, one query of what plans are
    made of (`_INPUTS`); a change re-plans only what it touched: the
    channels whose subscriptions changed, the meetings that moved, the one-offs. Each zone is
    planned to its midnight after tomorrow and extended by a day when its day turns. Recurring
    reminders are followed whole, as subscriptions are, and looked back on only
    RECURRING_LOOKBACK. A failure forgets the plan, and the next refresh catches up again. Not
    thread-safe: one caller at a time.
    """

    def __init__(
        self,
        path: Path,
        default_tz: ZoneInfo,
        reminder_channel: str,
        lookback: timedelta,
        desk_channel: str = "",
    ) -> None:
        self.path = path
        self.default_tz = default_tz
        self.reminder_channel = reminder_channel
        self.desk_channel = desk_channel  # APEC_DESK_CHANNEL: where proposals' cards go
        self.lookback = lookback
        # Where APEC_REMINDER_CHANNEL's reminders are owed from (Desk.owed_since): a store that
        # never ran a scheduler for it missed none of them. The engine sets it at each catch-up.
        self.reminder_since = ALWAYS
        self.replans: Counter[str] = Counter()  # by cause: catch-up, meetings, subscriptions, ...
        self._db: sqlite_utils.Database | None = None
        self._store: Store | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the plan: the next refresh builds it anew, with the look-back."""
        self.agenda: Agenda | None = None
        # the connection's data_version, and the records version, at the last look
        self._version: tuple[int | None, int | None] = (None, None)
        self._inputs: tuple[Any, ...] | None = None  # the row _INPUTS reads
        self._subs: dict[str, Subscription] = {}  # by its row in the inputs
        self._recurring: dict[str, Recurring] = {}  # running ones, by row in the inputs
        self._meetings: dict[str, _Signature] = {}
        self._planner = Planner((), self.default_tz, self.reminder_channel, self.reminder_since)
        self._until: dict[str, datetime] = {}  # each zone's horizon

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db, self._store = None, None

    @property
    def db(self) -> sqlite_utils.Database:
        """The plan's own connection: only ever read, so it sees every commit (and its
        data_version moves with every other connection's). Any thread, one at a time."""
        if self._db is None:
            self._db = sqlite_utils.Database(open_sqlite(self.path, check_same_thread=False))
        return self._db

    @property
    def store(self) -> Store:
        """The store as it stands now, read on the plan's own connection."""
        if self._store is None:
            self._store = Store(self.db)
        return self._store.refresh()

    @property
    def desk(self) -> Desk:
        return Desk(self.db)

    def refresh(self, now: datetime) -> None:
        """Bring the plan up to date: built if there is none, re-planned where the store changed,
        extended in each zone whose day turned."""
        try:
            if self.agenda is None:
                self._build(now)
            elif self._moved():
                self._follow(now)
            self._extend(now)
        except BaseException:
            self.reset()
            self.close()  # opened anew next time: one met by a fault of the files stays broken
            raise

    def pop_due(self, now: datetime) -> list[Post]:
        """Take out the posts due by now (after a refresh)."""
        return self.agenda.pop_due(now) if self.agenda is not None else []

    def hold(self, posts: Iterable[Post]) -> None:
        """Give posts taken out back, to be taken again on the next run."""
        if self.agenda is not None:
            self.agenda.hold(posts)

    def next_due(self) -> datetime | None:
        return self.agenda.next_due() if self.agenda is not None else None

    def planned(self) -> list[Post]:
        """Every post planned, in time order (for tools and tests)."""
        return self.agenda.posts() if self.agenda is not None else []

    # -- building and following the store ------------------------------------------------------

    def _moved(self) -> bool:
        """Whether another connection committed a change to the records since the last look: no
        table is read unless SQLite's data_version moved, and then only the records version (the
        lease's renewals and the delivery log's writes do not move it)."""
        data = self.db.conn.execute("PRAGMA data_version").fetchone()[0]
        if data == self._version[0]:
            return False
        records = records_version(self.db.conn)
        moved = records is None or records != self._version[1]
        self._version = (data, records)
        return moved

    def _build(self, now: datetime) -> None:
        """The catch-up: every post due from the look-back to each zone's horizon that the
        delivery log does not hold yet."""
        desk, start = self.desk, now - self.lookback
        self._moved()
        self._inputs = self.db.conn.execute(_INPUTS).fetchone()  # read before what it stands for
        self._read_meetings()
        self._subs = {row: subscription_of(row) for row in _rows(self._inputs[0])}
        self._recurring = {row: recurring_of(row) for row in _rows(self._inputs[4])}
        self.agenda, self._until = Agenda(), {}
        one_offs = desk.one_offs_due(start, now + ONE_OFFS_AHEAD)
        # read once here: no post of the log is even made (recurring ones are looked up as made:
        # the log holds every occurrence of the whole look-back, the plan a day of them)
        known = desk.known_keys(since=start, exclude="recurring")
        self._plan(self._subs.values(), one_offs, self._window(start, now), known=known)
        self._plan_recurring(self._recurring.values(), self._window(_recent(start, now), now))
        self._plan_proposals(start, now)
        self.replans["catch-up"] += 1

    def _follow(self, now: datetime) -> None:
        """Re-plan what changed in what plans are made of, if anything did."""
        inputs = self.db.conn.execute(_INPUTS).fetchone()
        if inputs == self._inputs:
            return
        before, self._inputs = self._inputs, inputs
        assert before is not None
        start = now - self.lookback
        if inputs[2] != before[2]:
            self._meetings_changed(start, now)
        if inputs[0] != before[0]:
            self._subscriptions_changed(_rows(inputs[0]), start, now)
        if inputs[1] != before[1]:
            self._one_offs_changed(start, now)
        if inputs[3] != before[3]:
            assert self.agenda is not None
            self.agenda.drop(lambda post: post.kind == POST_KIND)
            self._plan_proposals(start, now)
            self.replans["proposals"] += 1
        if inputs[4] != before[4]:
            self._recurring_changed(_rows(inputs[4]), start, now)

    def _read_meetings(self) -> list[Meeting]:
        meetings = self.store.meetings()
        self._meetings = {m.id: _signature(m) for m in meetings}
        self._planner = Planner(
            meetings, self.default_tz, self.reminder_channel, self.reminder_since
        )
        return meetings

    def _meetings_changed(self, start: datetime, now: datetime) -> None:
        """The reminders of the meetings that moved (or were named anew), for every channel."""
        before = self._meetings
        meetings = self._read_meetings()
        moved = _changed(before, self._meetings)
        if not moved:
            return
        assert self.agenda is not None
        self.agenda.drop(lambda post: post.kind == "reminder" and post.meeting_id in moved)
        only = Planner(
            (m for m in meetings if m.id in moved),
            self.default_tz,
            self.reminder_channel,
            self.reminder_since,
        )
        subs = [sub for sub in self._subs.values() if sub.kind == "reminders"]
        self._add(only.posts(subs, (), self._window(start, now), owed=True))
        ending = [r for r in self._recurring.values() if r.meeting_id in moved]
        if ending:  # "until SOM2": SOM2 moved, and the end with it
            ids = {r.id for r in ending}
            self.agenda.drop(lambda post: post.kind == "recurring" and post.recurring_id in ids)
            self._plan_recurring(ending, self._window(_recent(start, now), now))
        self.replans["meetings"] += 1

    def _subscriptions_changed(self, rows: set[str], start: datetime, now: datetime) -> None:
        """Each channel whose subscriptions changed (added, changed, stopped), planned anew."""
        channels = {self._subs.pop(row).channel for row in self._subs.keys() - rows}
        for row in rows - self._subs.keys():
            self._subs[row] = subscription_of(row)
            channels.add(self._subs[row].channel)
        assert self.agenda is not None
        # only what subscriptions make: a channel's reminders, one-off or recurring, and the
        # desk channel's proposal cards stay as planned
        self.agenda.drop(
            lambda post: post.channel in channels and post.kind in ("reminder", "digest")
        )
        subs = [sub for sub in self._subs.values() if sub.channel in channels]
        ours = self.reminder_channel in channels
        self._plan(subs, (), self._window(start, now), reminder_channel=ours)
        self.replans["subscriptions"] += 1

    def _one_offs_changed(self, start: datetime, now: datetime) -> None:
        """The one-offs planned anew (added or cancelled: they are few)."""
        assert self.agenda is not None
        self.agenda.drop(lambda post: post.kind == "one-off")
        one_offs = self.desk.one_offs_due(start, now + ONE_OFFS_AHEAD)
        self._plan((), one_offs, self._window(start, now), reminder_channel=False)
        self.replans["one-offs"] += 1

    def _recurring_changed(self, rows: set[str], start: datetime, now: datetime) -> None:
        """Each recurring reminder added, paused, resumed or cancelled, planned anew."""
        ids = {self._recurring.pop(row).id for row in self._recurring.keys() - rows}
        added = []
        for row in rows - self._recurring.keys():
            self._recurring[row] = recurring_of(row)
            added.append(self._recurring[row])
            ids.add(self._recurring[row].id)
        assert self.agenda is not None
        self.agenda.drop(lambda post: post.kind == "recurring" and post.recurring_id in ids)
        self._plan_recurring(added, self._window(_recent(start, now), now))
        self.replans["recurring"] += 1

    def _plan_recurring(self, recurring: Iterable[Recurring], window: Window) -> None:
        """Plan these recurring reminders' occurrences owed in the window, less those the
        delivery log holds."""
        posts = self._planner.posts(
            (), (), window, reminder_channel=False, owed=True, recurring=recurring
        )
        self._add(posts)

    def _plan_proposals(self, start: datetime, now: datetime) -> None:
        """The cards of documents with open proposals that the delivery log does not hold."""
        assert self.agenda is not None
        end = horizon(self.default_tz, now)  # made as they come: the plan follows each one made
        posts = proposal_posts(self.db, self.desk_channel, self.default_tz, start, end)
        self._add(posts)

    def _extend(self, now: datetime) -> None:
        """Each zone whose day turned gets planned a day further (its subscriptions, its one-offs,
        its recurring reminders, and APEC_REMINDER_CHANNEL's reminders in the desk's zone)."""
        assert self.agenda is not None
        for key, until in list(self._until.items()):
            end = horizon(ZoneInfo(key), now)
            if end <= until:
                continue
            start = max(until, now - self.lookback)
            self._until[key] = end
            one_offs = self.desk.one_offs_due(start, end)
            ours = key == self.default_tz.key
            self._plan(self._subs.values(), one_offs, _only(key, start, end), reminder_channel=ours)
            self._plan_recurring(self._recurring.values(), _only(key, _recent(start, now), end))
            self.replans["day"] += 1

    def _plan(
        self,
        subs: Iterable[Subscription],
        one_offs: Iterable[OneOff],
        window: Window,
        known: set[str] | None = None,
        **kw: Any,
    ) -> None:
        """Plan the posts owed (due since their subscription) of these in the window, less those
        the delivery log holds (`known`, when the caller read them already; else looked up: a
        channel subscribed anew may owe a key it was already sent)."""
        posts = self._planner.posts(subs, one_offs, window, owed=True, skip=known or set(), **kw)
        self._add(posts, looked=known is not None)

    def _add(self, posts: list[Post], looked: bool = False) -> None:
        """Plan these posts, less those the delivery log holds (unless `looked` already)."""
        assert self.agenda is not None
        done = set() if looked else self.desk.done_keys([post.key for post in posts])
        self.agenda.add(post for post in posts if post.key not in done)

    def _window(self, start: datetime, now: datetime) -> Window:
        """From `start` to each zone's horizon (set on the zone's first need)."""

        def window(zone: ZoneInfo) -> tuple[datetime, datetime]:
            until = self._until.get(zone.key)
            if until is None:
                until = self._until[zone.key] = horizon(zone, now)
            return start, until

        return window


def _only(key: str, start: datetime, end: datetime) -> Window:
    """[start, end) in the zone named `key`, and nothing in the others."""
    return lambda zone: (start, end) if zone.key == key else None


def _recent(start: datetime, now: datetime) -> datetime:
    """Where recurring reminders are planned from: `start`, or RECURRING_LOOKBACK ago if later."""
    return max(start, now - RECURRING_LOOKBACK)
