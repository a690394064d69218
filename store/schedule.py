"""What the scheduler will post, when, and why: derived from the store, never stored itself.

Reminders fall at 09:00 in the channel's zone, counted back from a meeting's first day (as the
venue dates it): "7d" is 09:00 seven days before, "0d" is 09:00 on the first day, "1h" is 08:00 on
it. Only meetings known to the day get reminders; a month-only meeting gets a note in the digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from store.desk import DEFAULT_OFFSETS, Desk, Subscription
from store.queries import Meeting, Store

REMINDER_HOUR = time(9, 0)
ALWAYS = datetime(2000, 1, 1, tzinfo=UTC)  # APEC_REMINDER_CHANNEL is owed every reminder
REMINDER_CHANNEL_KINDS = ("som", "summit")
_OFFSET = re.compile(r"^(\d{1,3})([dhm])$")
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


@dataclass(frozen=True)
class Post:
    """One post the scheduler owes a channel."""

    key: str  # claimed in the delivery log before sending: the post is made once
    channel: str
    kind: str  # reminder, digest, one-off
    due: datetime  # aware, UTC
    tz: str
    since: datetime  # owed only if due after this (the subscription's last change)
    why: str
    meeting_id: str = ""
    offset: str = ""
    one_off_id: int = 0
    text: str = ""

    @property
    def local(self) -> datetime:
        """The due time in the channel's zone."""
        return self.due.astimezone(ZoneInfo(self.tz))


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


@lru_cache(maxsize=65536)  # the same meeting, offset and zone for many channels: work it out once
def reminder_time(first_day: date, offset: str, zone: ZoneInfo) -> datetime:
    """When a reminder falls: days are counted on the calendar (so 09:00 stays 09:00 across a
    daylight-saving change); hours and minutes are counted back from 09:00 on the first day."""
    delta = parse_offset(offset) or timedelta(0)
    days = delta.days
    rest = delta - timedelta(days=days)
    local = datetime.combine(first_day - timedelta(days=days), REMINDER_HOUR, zone)
    return (local.astimezone(UTC) - rest).astimezone(UTC)


def reminder_key(channel: str, meeting: Meeting, offset: str) -> str:
    """A reminder's key: a re-dated meeting gets new reminders, the same date never twice."""
    assert meeting.span.start is not None
    return f"reminder:{channel}:{meeting.id}:{meeting.span.start.isoformat()}:{offset}"


@lru_cache(maxsize=512)
def _zone(name: str, fallback: ZoneInfo) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except Exception:  # noqa: BLE001 - a stored zone that no longer exists: use the desk's
        return fallback


def _reminders(
    channel: str,
    tz: ZoneInfo,
    offsets: tuple[str, ...],
    kinds: tuple[str, ...],
    since: datetime,
    why: str,
    meetings: list[Meeting],
    start: datetime,
    end: datetime,
) -> list[Post]:
    posts = []
    for m in meetings:
        if m.kind not in kinds or not m.dated or m.parent_id or m.status == "cancelled":
            continue
        assert m.span.start is not None
        for offset in offsets:
            due = reminder_time(m.span.start, offset, tz)
            if start <= due < end:
                posts.append(
                    Post(
                        key=reminder_key(channel, m, offset),
                        channel=channel,
                        kind="reminder",
                        due=due,
                        tz=tz.key,
                        since=since,
                        why=f"{why}: {describe_offset(offset)} {m.short}",
                        meeting_id=m.id,
                        offset=offset,
                    )
                )
    return posts


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


def _digests(sub: Subscription, zone: ZoneInfo, start: datetime, end: datetime) -> list[Post]:
    when = "daily" if sub.cadence == "daily" else f"weekly on {WEEKDAYS[sub.weekday].title()}"
    return [
        Post(
            key=f"digest:{sub.channel}:{due.astimezone(zone).date().isoformat()}",
            channel=sub.channel,
            kind="digest",
            due=due,
            tz=zone.key,
            since=sub.since,
            why=f"digest subscription ({when} at {sub.at_time})",
        )
        for due in digest_times(sub, zone, start, end)
    ]


def _one_offs(
    desk: Desk, channel: str | None, start: datetime, end: datetime, default_tz: ZoneInfo
) -> list[Post]:
    return [
        Post(
            key=f"one-off:{one.id}",
            channel=one.channel,
            kind="one-off",
            due=one.due_at,
            tz=_zone(one.tz, default_tz).key,
            since=one.created_at,
            why=f"one-off #{one.id} asked by <@{one.created_by}>"
            if one.created_by
            else f"one-off #{one.id}",
            meeting_id=one.meeting_id,
            offset=one.offset_text,
            one_off_id=one.id,
            text=one.text,
        )
        for one in desk.one_offs(channel)
        if start <= one.due_at < end
    ]


def plan(
    store: Store,
    desk: Desk,
    start: datetime,
    end: datetime,
    default_tz: ZoneInfo,
    reminder_channel: str = "",
    channel: str | None = None,
) -> list[Post]:
    """Every post due in [start, end), in time order (for one channel if given)."""
    meetings = store.meetings()
    posts: list[Post] = []
    if reminder_channel and channel in (None, reminder_channel):
        posts += _reminders(
            reminder_channel,
            default_tz,
            DEFAULT_OFFSETS,
            REMINDER_CHANNEL_KINDS,
            ALWAYS,
            "APEC_REMINDER_CHANNEL",
            meetings,
            start,
            end,
        )
    for sub in desk.subscriptions(channel):
        zone = _zone(sub.tz, default_tz)
        if sub.kind == "reminders":
            posts += _reminders(
                sub.channel,
                zone,
                sub.offsets,
                sub.kinds,
                sub.since,
                "reminders subscription",
                meetings,
                start,
                end,
            )
        elif sub.kind == "digest":
            posts += _digests(sub, zone, start, end)
    posts += _one_offs(desk, channel, start, end, default_tz)
    # One key, one post: a channel that is APEC_REMINDER_CHANNEL and subscribed gets each reminder once.
    unique = {p.key: p for p in sorted(posts, key=lambda p: p.since, reverse=True)}
    return sorted(unique.values(), key=lambda p: (p.due, p.channel, p.key))
