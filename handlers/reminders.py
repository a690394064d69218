"""Reminders and a channel's schedule: remind (once, again and again, before a meeting; for me, a
person or a channel), subscriptions, what is queued, cancelling, pausing.

`remind`'s words are read by store.remind (the grammar of Slack's `/remind`), in the asker's own
zone (`ask.user_tz`, from Slack; the desk's `APEC_TZ` when it is not known). These commands write
the desk's tables (store/desk.py); the scheduler (bot/scheduler.py) reads them through
store.schedule.plan. Every change calls `ask.on_change()` so it re-plans at once.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dateutil.rrule import rrulestr

from handlers.meetings import not_found_meeting, title
from handlers.registry import Ask, UsageError, command
from handlers.reminder_actions import (
    describe_rule,
    one_off_line,
    recurring_line,
    refuse_unless_theirs,
)
from handlers.render import Card, date_token, day_text, esc, when
from store.dates import read_period, read_when
from store.desk import (
    DEFAULT_KINDS,
    DEFAULT_OFFSETS,
    Delivery,
    Desk,
    OneOff,
    Pause,
    Recurring,
    Subscription,
    is_user,
)
from store.models import Meeting
from store.remind import (
    AHEAD,
    Before,
    Every,
    RemindError,
    Request,
    Target,
    localize,
    read_request,
    read_who,
)
from store.schedule import (
    REMINDER_CHANNEL_KINDS,
    REMINDER_HOUR,
    Post,
    cadence_text,
    describe_offset,
    next_occurrence,
    parse_offset,
    plan,
    reminder_time,
)
from store.vocabulary import DAY_NAMES, KIND_BY_WORD, KIND_SHORT_LABELS, WEEKDAYS

WINDOW = timedelta(days=30)  # what `/apec reminders` shows, and what `cancel N` numbers
MAX_OFFSET = timedelta(days=365)
MAX_OFFSETS = 10
# A weekday as a digest's settings may give it: "monday", "mon", "mondays", "thurs" (0 is Monday).
WEEKDAY_BY_WORD = {
    **{name: n for n, name in enumerate(WEEKDAYS)},
    **{name[:3]: n for n, name in enumerate(WEEKDAYS)},
    **{f"{name}s": n for n, name in enumerate(WEEKDAYS)},
    "tues": 1,
    "thur": 3,
    "thurs": 3,
}

_OFFSET_SHAPE = re.compile(r"(\d+)([a-z]*)")
_CLOCK = re.compile(r"(\d{1,2})(?::(\d{2}))?(am|pm|a\.m\.|p\.m\.)?")
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{1,20}")
_NUMBER = re.compile(r"#?\d{1,6}")  # `pause N`, `resume N`: an entry of `/apec reminders`
# A phrase that names a time of day, or counts from now: its time stands; other days get 09:00.
_TIME_OF_DAY = re.compile(
    r"\d:\d{2}|\d\s*(?:am|pm|a\.m\.|p\.m\.)|\b(?:noon|midnight|now)\b|^in\s", re.IGNORECASE
)

# -- small readers ---------------------------------------------------------------------------


@cache
def _zones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def read_zone(name: str) -> ZoneInfo | None:
    """An IANA zone by name, in any letter case; None if there is no such zone."""
    if not re.fullmatch(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*", name) or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        found = _zones_by_lower_name().get(name.lower())
        return ZoneInfo(found) if found else None


def read_offset(word: str) -> str | None:
    """ "7d", "2h", "30m" in the form stored ("0h" is "0d"); None if the word is not offset-shaped.

    Raises UsageError for a word that looks like an offset but is not one, or is over a year."""
    shape = _OFFSET_SHAPE.fullmatch(word.lower())
    if shape is None:
        return None
    digits, unit = shape.groups()
    if unit not in ("d", "h", "m"):
        raise UsageError(
            f"`{esc(word[:20])}` is not an offset: write days, hours or minutes before the first "
            "day, like `7d`, `2h` or `30m`."
        )
    if len(digits.lstrip("0")) > 3:
        raise UsageError(
            f"`{esc(word[:20])}` has too many digits: offsets take up to three, "
            "like `16h` or `365d`."
        )
    delta = parse_offset(f"{int(digits)}{unit}")
    if delta is None or delta > MAX_OFFSET:
        raise UsageError(f"`{esc(word[:20])}` is more than a year before: offsets go up to `365d`.")
    return "0d" if delta == timedelta(0) else f"{int(digits)}{unit}"


def read_clock(word: str) -> str | None:
    """ "9:00", "09:00", "9am", "8:30am", "17:00", "noon" as "HH:MM"; None if not a time of day."""
    word = word.lower()
    if word in ("noon", "midday"):
        return "12:00"
    if word == "midnight":
        return "00:00"
    match = _CLOCK.fullmatch(word)
    if match is None or not (match[2] or match[3]):
        return None
    hour, minute, half = int(match[1]), int(match[2] or 0), (match[3] or "").replace(".", "")
    if minute > 59 or hour > 23 or (half and not 1 <= hour <= 12):
        return None
    if half:
        hour = hour % 12 + (12 if half == "pm" else 0)
    return f"{hour:02d}:{minute:02d}"


def _take_zone(words: list[str], default: ZoneInfo | None) -> tuple[ZoneInfo | None, list[str]]:
    """Pull `tz ZONE` out of the words: the zone (or the default), and the other words."""
    rest, zone = [], default
    it = iter(words)
    for word in it:
        if word.lower() in ("tz", "timezone", "zone"):
            name = next(it, "")
            if not name:
                raise UsageError("`tz` needs a zone after it, like `tz Asia/Seoul` or `tz UTC`.")
            found = read_zone(name)
            if found is None:
                raise UsageError(
                    f"I don't know the time zone `{esc(name[:64])}`: use an IANA name like "
                    "`Asia/Seoul`, `Asia/Shanghai`, `America/New_York` or `UTC`."
                )
            zone = found
        else:
            rest.append(word)
    return zone, rest


def _zone_or(name: str, default: ZoneInfo) -> ZoneInfo:
    return read_zone(name) or default


def channel_zone(desk: Desk, channel: str, default: ZoneInfo) -> ZoneInfo:
    """The zone a channel's times are in: its subscription's, else the desk's."""
    for kind in ("reminders", "digest"):
        sub = desk.subscription(channel, kind)
        if sub is not None:
            return _zone_or(sub.tz, default)
    return default


def active_pause(desk: Desk, channel: str, now: datetime) -> Pause | None:
    """The channel's pause, if it still holds at `now`."""
    pause = desk.pauses().get(channel)
    if pause is None or (pause.until is not None and pause.until <= now):
        return None
    return pause


# -- how things are written ------------------------------------------------------------------


def wall_text(moment: datetime, zone: ZoneInfo) -> str:
    """ "Tue 17 Nov 2026 09:00": a moment on the clocks of a zone."""
    local = moment.astimezone(zone)
    day = DAY_NAMES[local.weekday()][:3]
    return f"{day} {local.day} {local:%b %Y %H:%M}"


def local_text(moment: datetime, zone: ZoneInfo) -> str:
    """ "Tue 17 Nov 2026 09:00 (Asia/Seoul)": the fallback a date token stands for."""
    return f"{wall_text(moment, zone)} ({zone.key})"


def stamp(moment: datetime, zone: ZoneInfo) -> str:
    """A moment as a Slack date token, in each reader's zone, with `zone`'s time as fallback."""
    return date_token(moment, "{date_short_pretty} at {time}", local_text(moment, zone))


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


_CHANNEL_KINDS = _and([KIND_SHORT_LABELS[k] for k in REMINDER_CHANNEL_KINDS])  # in its notes


def offset_phrase(offset: str) -> str:
    """ "7 days before", "on the first day", "1 hour before (08:00 on the first day)"."""
    delta = parse_offset(offset) or timedelta(0)
    if delta == timedelta(days=delta.days):
        return describe_offset(offset)
    first = datetime.combine(date(2000, 1, 10), REMINDER_HOUR)
    moment = first - delta
    back = (first.date() - moment.date()).days
    where = {0: "on the first day", 1: "the day before"}.get(back, f"{back} days before")
    return f"{describe_offset(offset)} ({moment:%H:%M} {where})"


def describe_subscription(sub: Subscription) -> str:
    """One line saying what a subscription posts, and when."""
    if sub.kind == "reminders":
        kinds = _and([KIND_SHORT_LABELS.get(k, k) for k in sub.kinds])
        offsets = _and([offset_phrase(o) for o in sub.offsets])
        return (
            f"*Reminders* before every {esc(kinds)} on record: {offsets}; "
            f"at {REMINDER_HOUR:%H:%M} {esc(sub.tz)} unless a time is given."
        )
    return (
        f"*Digest* {cadence_text(sub)} at {esc(sub.at_time)} {esc(sub.tz)}: "
        "the next 30 days' meetings."
    )


def _post_line(number: int, post: Post, pause: Pause | None) -> str:
    zone = ZoneInfo(post.tz)
    if post.kind == "one-off":
        asker = re.search(r"asked by <@([^>]*)>$", post.why)
        by = f" asked by <@{asker[1]}>" if asker and _SLACK_USER.fullmatch(asker[1]) else ""
        text = post.text if len(post.text) <= 80 else post.text[:79] + "…"
        why = f"one-off #{post.one_off_id}{by}: “{esc(text)}”"
    else:
        why = esc(post.why)
    held = pause is not None and (pause.until is None or post.due < pause.until)
    mark = " _(paused: will be skipped)_" if held else ""
    return f"{number}. {stamp(post.due, zone)} — *{post.kind}* · {why}{mark}"


def _sections(card: Card, heading: str, lines: list[str]) -> Card:
    """Lines in as many sections as Slack's 3,000-character limit needs."""
    chunk = [heading]
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > 2800:
            card.section("\n".join(chunk))
            chunk = []
        chunk.append(line)
    return card.section("\n".join(chunk))


def _pause_line(pause: Pause, zone: ZoneInfo) -> str:
    if pause.until is None:
        return (
            ":double_vertical_bar: This channel is *paused* until someone runs `/apec resume`: "
            "posts due meanwhile are skipped."
        )
    return (
        f":double_vertical_bar: This channel is *paused* until {stamp(pause.until, zone)}: "
        "posts due before then are skipped. `/apec resume` ends it sooner."
    )


def _needs_channel() -> Card:
    return Card().section(
        "That belongs to a channel: run it in the channel it is for "
        "(on the command line, add `--channel C123`)."
    )


# -- what is queued --------------------------------------------------------------------------


def queued(ask: Ask, desk: Desk) -> list[Post]:
    """This channel's posts in the next 30 days not yet sent, cancelled or skipped, in time
    order."""
    posts = plan(
        ask.store,
        desk,
        ask.now,
        ask.now + WINDOW,
        ask.tz,
        ask.reminder_channel,
        channel=ask.channel,
    )
    done = desk.known_keys()  # a key waiting for a retry is still to be posted
    return [p for p in posts if p.key not in done]


def followed_kinds(ask: Ask, desk: Desk) -> tuple[str, ...]:
    """The meeting kinds this channel gets reminders for (all kinds when none)."""
    kinds: list[str] = []
    sub = desk.subscription(ask.channel, "reminders")
    if sub is not None:
        kinds += sub.kinds
    if ask.reminder_channel and ask.reminder_channel == ask.channel:
        kinds += REMINDER_CHANNEL_KINDS
    return tuple(dict.fromkeys(kinds)) or DEFAULT_KINDS


def month_only(ask: Ask, kinds: tuple[str, ...], start: date, end: date) -> list[Meeting]:
    """Meetings of these kinds known only to the month, in start..end: no reminders until dated."""
    return [
        m
        for m in ask.store.meetings()
        if m.month_only
        and not m.parent_id
        and m.status != "cancelled"
        and m.kind in kinds
        and m.span.overlaps(start, end)
    ]


def _month_only_note(card: Card, meetings: list[Meeting]) -> None:
    if meetings:
        card.context(
            "Known only to the month, so *no reminders until dated*: "
            + "; ".join(f"{esc(m.short)} ({esc(when(m))})" for m in meetings)
        )


@dataclass(frozen=True)
class Entry:
    """One numbered line of `/apec reminders`: a post queued here, a recurring reminder, or a
    one-off of the asker's elsewhere."""

    post: Post | None = None
    recurring: Recurring | None = None
    one_off: OneOff | None = None


@dataclass(frozen=True)
class Listing:
    """What `/apec reminders` numbers, in its order: `cancel N`, `pause N` and `resume N` read
    the same list."""

    posts: list[Post]  # queued for this channel in the next 30 days (one-offs, subscriptions)
    here: list[Recurring]  # recurring reminders posted in this channel
    elsewhere_once: list[OneOff]  # the asker's one-offs to come, posted elsewhere
    elsewhere_every: list[Recurring]  # the asker's recurring reminders posted elsewhere

    @property
    def entries(self) -> list[Entry]:
        return (
            [Entry(post=p) for p in self.posts]
            + [Entry(recurring=r) for r in self.here]
            + [Entry(one_off=o) for o in self.elsewhere_once]
            + [Entry(recurring=r) for r in self.elsewhere_every]
        )


def listing(ask: Ask, desk: Desk) -> Listing:
    """This channel's queue and recurring reminders, then the asker's own reminders elsewhere."""
    posts = [p for p in queued(ask, desk) if p.kind != "recurring"] if ask.channel else []
    here = desk.recurring(ask.channel) if ask.channel else []
    once: list[OneOff] = []
    every: list[Recurring] = []
    if ask.user:
        mine_once, mine_every = desk.reminders_for(ask.user, due_after=ask.now)
        once = [o for o in mine_once if o.channel != ask.channel]
        every = [r for r in mine_every if r.target != ask.channel]
    return Listing(posts, here, once, every)


def _first_days(ask: Ask, recurring: list[Recurring]) -> dict[str, date]:
    """Each meeting's first day that a recurring reminder ends before ("until SOM2")."""
    if not any(r.meeting_id for r in recurring):
        return {}
    return {m.id: m.span.start for m in ask.store.meetings() if m.span.start is not None}


def _numbered(number: int, line: str) -> str:
    return f"{number}. {line.removeprefix('• ')}"


@command(
    "reminders", usage="reminders", example="reminders", aliases=("queue", "queued"), mention=True
)
def reminders(ask: Ask) -> Card:
    """What this channel will be sent in the next 30 days, its recurring reminders, and yours,
    numbered for `cancel`."""
    desk = Desk(ask.store.db)
    found = listing(ask, desk)
    if not ask.channel and not found.entries:
        return _needs_channel()
    zone = channel_zone(desk, ask.channel, ask.tz) if ask.channel else ask.tz
    mine = ask.user_tz or ask.tz
    pause = active_pause(desk, ask.channel, ask.now) if ask.channel else None
    days = _first_days(ask, found.here + found.elsewhere_every)
    card = Card()
    if pause is not None:
        card.section(_pause_line(pause, zone))
    number = itertools.count(1)
    if found.posts:
        lines = [_post_line(next(number), p, pause) for p in found.posts]
        _sections(card, f"*Queued for this channel, next 30 days* ({len(found.posts)})", lines)
    elif ask.channel:
        card.section("Nothing is queued for this channel in the next 30 days.")
    if found.here:
        lines = [
            _numbered(next(number), recurring_line(r, ask.user, ask.now, days.get(r.meeting_id)))
            for r in found.here
        ]
        _sections(card, f"*Recurring in this channel* ({len(found.here)})", lines)
    elsewhere = [
        _numbered(next(number), one_off_line(o, ask.user, mine)) for o in found.elsewhere_once
    ] + [
        _numbered(next(number), recurring_line(r, ask.user, ask.now, days.get(r.meeting_id)))
        for r in found.elsewhere_every
    ]
    if elsewhere:
        _sections(card, f"*Your reminders elsewhere* ({len(elsewhere)})", elsewhere)
    if found.entries:
        card.context(
            "`/apec cancel N` cancels one; `/apec pause N` and `/apec resume N` pause a recurring "
            "one; `/apec subscriptions` shows the channel's settings."
        )
    elif ask.channel and not desk.subscriptions(ask.channel):
        card.context(
            "`/apec subscribe reminders` for reminders before meetings, "
            "`/apec remind tomorrow 9am TEXT` for a one-off, "
            "`/apec remind every monday at 9am TEXT` for a recurring one."
        )
    if ask.channel:
        start = ask.now.astimezone(zone).date()
        _month_only_note(card, month_only(ask, followed_kinds(ask, desk), start, start + WINDOW))
    else:
        card.context(
            "A channel's queue is listed in that channel (on the command line, add "
            "`--channel C123`)."
        )
    return card


def _entry(ask: Ask, desk: Desk, text: str) -> tuple[int, Entry]:
    """The entry numbered in `text` ("2", "#2"); UsageError for anything else."""
    match = re.fullmatch(r"#?(\d{1,6})", text.strip())
    if match is None:
        what = f"`{esc(text[:40])}` is not" if text.strip() else "Give"
        raise UsageError(f"{what} the number of a post or reminder, as `/apec reminders` shows it.")
    entries = listing(ask, desk).entries
    number = int(match[1])
    if not entries:
        raise UsageError("Nothing is queued here, and you have no reminders to come.")
    if not 1 <= number <= len(entries):
        what = "queued here" if all(e.post for e in entries) else "and reminders"
        raise UsageError(
            f"There is no #{number}: `/apec reminders` lists {len(entries)} "
            f"post{'' if len(entries) == 1 else 's'} {what}, numbered 1 to {len(entries)}."
        )
    return number, entries[number - 1]


def _reminded(target: str, for_user: str) -> tuple[str, ...]:
    return tuple(u for u in (for_user, target if is_user(target) else "") if u)


def _refusal(ask: Ask, created_by: str, target: str, for_user: str) -> Card | None:
    """The one permission check for a reminder (reminder_actions); one asked for before reminders
    named their askers (no creator) stays open to the channel, as it was."""
    if not created_by:
        return None
    return refuse_unless_theirs(ask, created_by, _reminded(target, for_user))


@command("cancel", usage="cancel N", example="cancel 2", share=False, writes=True, mention=True)
def cancel(ask: Ask) -> Card:
    """Cancel entry N of `/apec reminders`: a one-off, a recurring reminder, or one post of a
    subscription."""
    desk = Desk(ask.store.db)
    empty = not listing(ask, desk).entries
    if not ask.channel and empty:
        return _needs_channel()
    if empty and _NUMBER.fullmatch(ask.args.strip()):
        return Card().section("Nothing is queued for this channel in the next 30 days.")
    number, entry = _entry(ask, desk, ask.args)
    if entry.recurring is not None:
        rec = entry.recurring
        refusal = _refusal(ask, rec.created_by, rec.target, rec.for_user)
        if refusal is not None:
            return refusal
        desk.cancel_recurring(rec.id)
        ask.on_change()
        return (
            Card()
            .section(
                f"Cancelled #{number}: recurring reminder #{rec.id}, "
                f"{esc(describe_rule(rec.rule, rec.start))} “{esc(rec.text[:200])}”. "
                "No more of it will be posted."
            )
            .context(
                "The numbers have moved up: check `/apec reminders` before cancelling another."
            )
        )
    if entry.one_off is not None:
        one = entry.one_off
        refusal = _refusal(ask, one.created_by, one.channel, one.for_user)
        if refusal is not None:
            return refusal
        done = desk.cancel_one_off(one.channel, one.id)
        what, due, zone = f"one-off #{one.id} “{esc(one.text[:200])}”", one.due_at, ZoneInfo(one.tz)
    else:
        post = entry.post
        assert post is not None
        zone, due = ZoneInfo(post.tz), post.due
        if post.kind == "one-off":
            refusal = _refusal(ask, post.asker, post.channel, post.for_user)
            if refusal is not None:
                return refusal
            done = desk.cancel_one_off(post.channel, post.one_off_id)
            what = f"one-off #{post.one_off_id} “{esc(post.text[:200])}”"
        else:
            reason = f"cancelled by <@{ask.user}>" if ask.user else "cancelled"
            done = desk.record_skipped(
                post.key,
                post.channel,
                post.kind,
                post.meeting_id,
                post.due,
                reason=reason,
                status="cancelled",
            )
            what = f"the {post.kind} — {esc(post.why)}"
    if not done:
        return Card().section(
            f"I could not cancel #{number}, {what}: it is being posted right now."
        )
    ask.on_change()
    card = Card().section(f"Cancelled #{number}, due {stamp(due, zone)}: {what}.")
    if entry.post is not None and entry.post.kind not in ("one-off", "recurring"):
        card.context("Only this post: the subscription stands (`/apec unsubscribe` ends it).")
    card.context("The numbers have moved up: check `/apec reminders` before cancelling another.")
    return card


def _pause_recurring(ask: Ask, paused: bool) -> Card:
    """`pause N` / `resume N`: hold or restart recurring reminder N of `/apec reminders`."""
    desk = Desk(ask.store.db)
    number, entry = _entry(ask, desk, ask.args)
    rec = entry.recurring
    verb = "pause" if paused else "resume"
    if rec is None:
        raise UsageError(
            f"#{number} is not a recurring reminder: only those {verb} by number. "
            f"`/apec {verb}` alone {'pauses' if paused else 'resumes'} this channel."
        )
    refusal = _refusal(ask, rec.created_by, rec.target, rec.for_user)
    if refusal is not None:
        return refusal
    rule = f"recurring reminder #{rec.id}, {esc(describe_rule(rec.rule, rec.start))}"
    if not desk.set_recurring_paused(rec.id, paused, ask.now):
        state = "paused" if paused else "running"
        return Card().section(f"#{number}, {rule}, is already {state}.")
    ask.on_change()
    if paused:
        return Card().section(
            f":double_vertical_bar: Paused #{number}: {rule}. Occurrences due meanwhile are "
            f"skipped, not sent later; `/apec resume {number}` restarts it."
        )
    zone = ZoneInfo(rec.tz)
    stop = _first_days(ask, [rec]).get(rec.meeting_id)
    coming = _coming(rec, zone, ask.now, stop, 1)
    after = f" Next: {stamp(coming[0], zone)}." if coming else " It has no occurrence left."
    return Card().section(f":arrow_forward: Resumed #{number}: {rule}.{after}")


# -- subscriptions ---------------------------------------------------------------------------


def _reminder_settings(words: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    offsets: list[str] = []
    kinds: list[str] = []
    for word in words:
        low = word.lower().strip(",")
        if low in ("and", "before", "every", "for", "of"):
            continue
        if low in KIND_BY_WORD:
            kinds.append(KIND_BY_WORD[low])
            continue
        offset = read_offset(low)
        if offset is None:
            raise UsageError(
                f"I don't understand `{esc(word[:40])}` here: give kinds (som, summit, "
                "ministerial), offsets (`7d`, `1d`, `2h`) or `tz ZONE`."
            )
        offsets.append(offset)
    unique = list(dict.fromkeys(offsets))
    if len(unique) > MAX_OFFSETS:
        raise UsageError(f"That is {len(unique)} offsets: {MAX_OFFSETS} at most.")
    unique.sort(key=lambda o: parse_offset(o) or timedelta(0), reverse=True)
    chosen = tuple(k for k in DEFAULT_KINDS if k in kinds) or DEFAULT_KINDS
    return tuple(unique) or DEFAULT_OFFSETS, chosen


def _digest_settings(words: list[str]) -> tuple[str, int, str]:
    cadence, weekday, at_time = "", None, "09:00"
    joined = re.sub(r"(\d)\s+(am|pm)\b", r"\1\2", " ".join(words), flags=re.IGNORECASE)
    for word in joined.split():
        low = word.lower().strip(",")
        if low in ("at", "on", "every", "and"):
            continue
        if low in ("daily", "weekly"):
            cadence = low
        elif low in WEEKDAY_BY_WORD:
            weekday = WEEKDAY_BY_WORD[low]
        elif (clock := read_clock(low)) is not None:
            at_time = clock
        else:
            raise UsageError(
                f"I don't understand `{esc(word[:40])}` here: give `daily` or `weekly`, a weekday, "
                "a time (`09:00`, `8:30am`) or `tz ZONE`."
            )
    if cadence == "daily" and weekday is not None:
        raise UsageError("A daily digest comes every day: leave the weekday out, or say `weekly`.")
    return cadence or "weekly", 0 if weekday is None else weekday, at_time


def _next_post(ask: Ask, desk: Desk, kind: str) -> Post | None:
    done = desk.known_keys()
    posts = plan(ask.store, desk, ask.now, ask.now + AHEAD, ask.tz, "", channel=ask.channel)
    return next((p for p in posts if p.kind == kind and p.key not in done), None)


@command(
    "subscribe",
    usage="subscribe reminders [som summit ministerial] [7d 1d 0d] [tz ZONE] | "
    "subscribe digest [weekly monday|daily] [09:00] [tz ZONE]",
    example="subscribe reminders som summit 14d 2d tz Asia/Seoul",
    aliases=("sub",),
    share=False,
    writes=True,
    mention=True,
)
def subscribe(ask: Ask) -> Card:
    """Post reminders before meetings (or a digest of the weeks ahead) in this channel."""
    if not ask.channel:
        return _needs_channel()
    words = ask.args.split()
    what = words[0].lower() if words else ""
    if what not in ("reminders", "reminder", "digest", "digests"):
        said = f"I can't subscribe to `{esc(what[:40])}`. " if what else ""
        raise UsageError(said + "Subscribe to `reminders` (before meetings) or a `digest`.")
    desk = Desk(ask.store.db)
    # A zone is the channel's: one made without a zone keeps the zone set here when it is made.
    given, rest = _take_zone(words[1:], None)
    zone_name = given.key if given else None
    if what.startswith("reminder"):
        offsets, kinds = _reminder_settings(rest)
        sub = desk.subscribe_reminders(
            ask.channel, zone_name, offsets, kinds, by=ask.user, now=ask.now, default_tz=ask.tz.key
        )
    else:
        cadence, weekday, at_time = _digest_settings(rest)
        sub = desk.subscribe_digest(
            ask.channel,
            zone_name,
            cadence,
            weekday,
            at_time,
            by=ask.user,
            now=ask.now,
            default_tz=ask.tz.key,
        )
    zone = _zone_or(sub.tz, ask.tz)
    ask.on_change()
    card = Card().section(f":white_check_mark: This channel now gets: {describe_subscription(sub)}")
    nxt = _next_post(ask, desk, "reminder" if sub.kind == "reminders" else "digest")
    if nxt is not None:
        card.context(f"Next: {stamp(nxt.due, zone)} — {esc(nxt.why)}")
    elif sub.kind == "reminders":
        card.context("No meeting on record falls due for a reminder in the next year.")
    if sub.kind == "reminders":
        start = ask.now.astimezone(zone).date()
        _month_only_note(card, month_only(ask, sub.kinds, start, start + AHEAD))
    pause = active_pause(desk, ask.channel, ask.now)
    if pause is not None:
        card.context(_pause_line(pause, zone))
    card.context("`/apec subscriptions` shows this channel's settings; `/apec unsubscribe` stops.")
    return card


@command(
    "unsubscribe",
    usage="unsubscribe [reminders|digest]",
    example="unsubscribe digest",
    aliases=("unsub",),
    share=False,
    writes=True,
    mention=True,
)
def unsubscribe(ask: Ask) -> Card:
    """Stop this channel's reminders, its digest, or (with no argument) both."""
    if not ask.channel:
        return _needs_channel()
    which = ask.args.strip().lower()
    kind = {
        "": None,
        "all": None,
        "both": None,
        "reminders": "reminders",
        "reminder": "reminders",
        "digest": "digest",
        "digests": "digest",
    }.get(which, "?")
    if kind == "?":
        raise UsageError(
            f"I can't unsubscribe from `{esc(which[:40])}`: say `reminders` or `digest`."
        )
    stopped = Desk(ask.store.db).unsubscribe(ask.channel, kind)
    what = {None: "subscriptions", "reminders": "reminders", "digest": "digest"}[kind]
    if not stopped:
        card = Card().section(f"This channel had no {what} to stop.")
    else:
        ask.on_change()
        card = Card().section(f"Stopped: this channel's {what}.")
    if ask.reminder_channel and ask.reminder_channel == ask.channel and kind != "digest":
        card.context(
            f"This is APEC_REMINDER_CHANNEL: it still gets {_CHANNEL_KINDS} reminders "
            "from the bot's configuration."
        )
    return card


def _outcome(label: str, entry: Delivery | None, zone: ZoneInfo) -> str:
    if entry is None:
        return f"*{label}:* none"
    line = f"*{label}:* {esc(entry.kind)} due {stamp(entry.due_at, zone)}"
    return line + (f" — `{esc(entry.error)}`" if entry.error else "")


@command(
    "subscriptions", usage="subscriptions", example="subscriptions", aliases=("subs",), mention=True
)
def subscriptions(ask: Ask) -> Card:
    """This channel's subscriptions and settings, its last post and failure, and any pause."""
    if not ask.channel:
        return _needs_channel()
    desk = Desk(ask.store.db)
    zone = channel_zone(desk, ask.channel, ask.tz)
    subs = desk.subscriptions(ask.channel)
    card = Card()
    if subs:
        card.section("\n".join(f"• {describe_subscription(s)}" for s in subs))
        card.context(
            " · ".join(
                f"{s.kind} since {stamp(s.since, zone)}"
                + (f" by <@{s.created_by}>" if _SLACK_USER.fullmatch(s.created_by) else "")
                for s in subs
            )
        )
    else:
        card.section(
            "This channel has no subscriptions: `/apec subscribe reminders` or "
            "`/apec subscribe digest`."
        )
    if ask.reminder_channel and ask.reminder_channel == ask.channel:
        card.section(
            f"This is APEC_REMINDER_CHANNEL: it gets {_CHANNEL_KINDS} reminders (7 days, "
            f"1 day before and on the first day, {ask.tz.key}) with no subscription."
        )
    sent, failed = desk.last_outcomes(ask.channel)
    card.section(_outcome("Last post", sent, zone) + "\n" + _outcome("Last failure", failed, zone))
    pause = active_pause(desk, ask.channel, ask.now)
    card.section(_pause_line(pause, zone) if pause else "Not paused.")
    card.context("`/apec reminders` lists what is queued here.")
    return card


# -- remind ----------------------------------------------------------------------------------


def _whom(ask: Ask, target: Target) -> tuple[str, str]:
    """Where a reminder goes (a channel, or a person's id for a direct message), and the person
    it is for when not the asker; UsageError when that cannot be."""
    if target.kind == "here":
        return ask.channel, ""
    if target.kind == "me":
        if not ask.user:
            raise UsageError(
                "`remind me` needs to know who you are: ask in Slack (on the command line, add "
                "`--user U123`)."
            )
        return ask.user, ""
    if target.kind == "person":
        return target.id, ("" if target.id == ask.user else target.id)
    if ask.member_of(target.id) is False:
        raise UsageError(
            f"I'm not in <#{target.id}>, so I could not post there: invite me first "
            "(`/invite @APEC` in that channel), then ask again."
        )
    return target.id, ""


def _to_whom(ask: Ask, where: str, for_user: str) -> str:
    if for_user:
        return f" for <@{for_user}> (a direct message saying you asked)"
    if where == ask.user and is_user(where):
        return " for you (a direct message)"
    if where != ask.channel:
        return f" in <#{where}>"
    return ""


def _zone_note(ask: Ask, moment: datetime, zone: ZoneInfo) -> str:
    whose = "your time zone" if ask.user_tz is not None else "the desk's time zone"
    return f"That is {wall_text(moment, zone)} in {zone.key}, {whose}."


def _check_due(due: datetime, ask: Ask, zone: ZoneInfo) -> None:
    if due <= ask.now:
        raise UsageError(f"{stamp(due, zone)} has passed: give a time still to come.")
    if due > ask.now + AHEAD:
        raise UsageError(
            f"{stamp(due, zone)} is more than a year ahead: I keep one-offs to a year."
        )


def _footer(card: Card, ask: Ask, desk: Desk, where: str, due: datetime, zone: ZoneInfo) -> Card:
    pause = active_pause(desk, where, ask.now)
    if pause is not None and (pause.until is None or due < pause.until):
        card.context(_pause_line(pause, zone))
    card.context("`/apec reminders` lists them, numbered; `/apec cancel N` cancels one.")
    return card


def _queue_one_off(
    ask: Ask,
    desk: Desk,
    where: tuple[str, str],
    due: datetime,
    zone: ZoneInfo,
    text: str,
    meeting: Meeting | None = None,
    offset: str = "",
    note: str = "",
) -> Card:
    channel, for_user = where
    number = desk.add_one_off(
        channel,
        due,
        zone.key,
        text,
        by=ask.user,
        now=ask.now,
        meeting_id=meeting.id if meeting else "",
        offset_text=offset,
        for_user=for_user,
    )
    ask.on_change()
    card = Card().section(
        f":alarm_clock: One-off #{number} queued for {stamp(due, zone)}"
        f"{_to_whom(ask, channel, for_user)}: “{esc(text)}”"
    )
    card.context(_zone_note(ask, due, zone))
    if note:
        card.context(esc(note))
    return _footer(card, ask, desk, channel, due, zone)


def _remind_meeting(
    ask: Ask, desk: Desk, where: tuple[str, str], before: Before, zone: ZoneInfo
) -> Card:
    meeting, offset = before.meeting, before.offset
    if meeting.status == "cancelled":
        raise UsageError(f"{esc(title(meeting))} is cancelled: there is nothing to remind of.")
    if not meeting.dated or meeting.span.start is None:
        known = "is known only to the month" if meeting.month_only else "has no dates on record"
        dates = "" if when(meeting) == "no dates on record" else f" ({esc(when(meeting))})"
        return (
            Card()
            .section(
                f"*{esc(title(meeting))}* {known}{dates}: I won't make up a "
                "time for a reminder. Ask again once it is dated."
            )
            .context("`/apec remind tomorrow 9am TEXT` sets a reminder at a time you choose.")
        )
    due = reminder_time(meeting.span.start, offset, zone)
    _check_due(due, ask, zone)
    place = f", {meeting.place}" if meeting.place else ""
    text = f"{title(meeting)}: {offset_phrase(offset)} — {when(meeting)}{place}"
    return _queue_one_off(ask, desk, where, due, zone, text, meeting, offset)


def _remind_every(
    ask: Ask, desk: Desk, where: tuple[str, str], every: Every, zone: ZoneInfo, text: str
) -> Card:
    channel, for_user = where
    number = desk.add_recurring(
        channel,
        zone.key,
        every.rule,
        every.start,
        text,
        by=ask.user,
        now=ask.now,
        for_user=for_user,
        meeting_id=every.meeting.id if every.meeting else "",
        until_text=every.until_text,
    )
    ask.on_change()
    reminder = desk.recurring_by_id(number)
    assert reminder is not None
    stop = every.meeting.span.start if every.meeting else None
    coming = _coming(reminder, zone, ask.now, stop, 3)
    rule = describe_rule(every.rule, every.start)
    until = f" {every.until_text}" if every.meeting else ""
    card = Card().section(
        f":repeat: Recurring reminder #{number}{_to_whom(ask, channel, for_user)}: "
        f"{esc(rule)}{esc(until)} ({zone.key}): “{esc(text)}”"
    )
    card.context("Next: " + ", ".join(stamp(moment, zone) for moment in coming))
    if every.until_text:
        last = _last(reminder, zone, ask.now, stop)
        if last is not None:
            card.context(f"The last, {esc(every.until_text)}: {stamp(last, zone)}.")
    card.context(_zone_note(ask, every.first, zone) + " It stays at that time when clocks change.")
    card.context(
        "`/apec pause N`, `/apec resume N` and `/apec cancel N` take its number in "
        "`/apec reminders`."
    )
    pause = active_pause(desk, channel, ask.now)
    if pause is not None:
        card.context(_pause_line(pause, zone))
    return card


def _coming(
    reminder: Recurring, zone: ZoneInfo, now: datetime, stop: date | None, count: int
) -> list[datetime]:
    """The next occurrences the scheduler will post, at most `count`."""
    found: list[datetime] = []
    after = now
    while len(found) < count:
        moment = next_occurrence(reminder, zone, after, stop)
        if moment is None:
            break
        found.append(moment)
        after = moment
    return found


def _last(reminder: Recurring, zone: ZoneInfo, now: datetime, stop: date | None) -> datetime | None:
    """The last occurrence of a reminder that ends (looked for up to two years ahead)."""
    walls = rrulestr(reminder.rule, dtstart=reminder.start).between(
        reminder.start, (now + AHEAD + AHEAD).astimezone(zone).replace(tzinfo=None), inc=True
    )
    kept = [wall for wall in walls if stop is None or wall.date() < stop]
    return localize(kept[-1], zone) if kept else None


def _read(ask: Ask, zone: ZoneInfo) -> Request:
    """The request, read with meetings named exactly; then, when what was read is "NAME N days
    before" and no meeting goes by NAME, with meetings named anywhere in NAME."""
    try:
        return read_request(ask.args, ask.now, zone, meeting=ask.store.meeting)
    except RemindError as error:
        if not error.meeting_name:
            raise UsageError(esc(str(error))) from None
        name = error.meeting_name

    def named(text: str) -> Meeting | None:
        found = ask.store.meetings_in_text(text)
        return found[0] if found else None

    try:
        return read_request(ask.args, ask.now, zone, meeting=named)
    except RemindError as error:
        if error.meeting_name:
            raise _NoMeeting(name) from None
        raise UsageError(esc(str(error))) from None


class _NoMeeting(Exception):
    """ "NAME N days before" with no meeting of that name: answered with close names."""


@command(
    "remind",
    usage="remind [me|@person|#channel] WHEN TEXT | remind … TEXT WHEN | "
    "remind … every monday at 9am TEXT | remind … MEETING N days before",
    example="remind me tomorrow 9am prepare SOM2 talking points",
    share=False,
    writes=True,
    mention=True,
)
def remind(ask: Ask) -> Card:
    """Remind you, a person or a channel: once ("tomorrow 9am TEXT"), again and again ("every monday
    at 9am TEXT"), or before a meeting ("SOM2 3 days before")."""
    zone = ask.user_tz or ask.tz
    try:
        target = read_who(ask.args)[0]
    except RemindError:
        target = None
    if not ask.channel and (target is None or target.kind == "here"):
        return _needs_channel()
    try:
        request = _read(ask, zone)
    except _NoMeeting as missing:
        return not_found_meeting(ask.store, str(missing))
    where = _whom(ask, request.target)
    desk = Desk(ask.store.db)
    asked = request.when
    if isinstance(asked, Before):
        return _remind_meeting(ask, desk, where, asked, zone)
    if isinstance(asked, Every):
        text = request.text
        if not text and asked.meeting is not None:  # "every monday until SOM2"
            place = f", {asked.meeting.place}" if asked.meeting.place else ""
            text = f"{title(asked.meeting)} opens {when(asked.meeting)}{place}"
        return _remind_every(ask, desk, where, asked, zone, text)
    return _queue_one_off(ask, desk, where, asked.due, zone, request.text, note=asked.note)


# -- pausing ---------------------------------------------------------------------------------


def _pause_end(phrase: str, ask: Ask, zone: ZoneInfo) -> tuple[datetime, date | None]:
    """When a pause "until PHRASE" ends, and the last whole day it covers (None for a moment)."""
    now = ask.now.astimezone(zone)
    if _TIME_OF_DAY.search(phrase):
        moment = read_when(phrase, now)
        if moment is not None:
            return moment, None
    period = read_period(phrase, now)
    last = period.end if period is not None else None
    if last is None:
        moment = read_when(phrase, now)
        last = moment.astimezone(zone).date() if moment is not None else None
    if last is None:
        raise UsageError(
            f"I can't read `{esc(phrase[:60])}` as a day: try `until friday`, `until 2026-05-20` "
            "or `until next week`."
        )
    return datetime.combine(last + timedelta(days=1), time(0), zone), last


@command(
    "pause",
    usage="pause [until DATE] | pause N",
    example="pause until friday",
    share=False,
    writes=True,
    mention=True,
)
def pause(ask: Ask) -> Card:
    """Keep this channel quiet until a day is over (or until `resume`), or pause recurring reminder
    N: what falls due meanwhile is skipped."""
    if _NUMBER.fullmatch(ask.args.strip()) and (ask.channel or ask.user):
        return _pause_recurring(ask, paused=True)
    if not ask.channel:
        return _needs_channel()
    desk = Desk(ask.store.db)
    zone = channel_zone(desk, ask.channel, ask.tz)
    phrase = re.sub(r"^(?:until|till|til|through|thru)\s+", "", ask.args.strip(), flags=re.I)
    if not phrase:
        desk.pause(ask.channel, None, by=ask.user, now=ask.now)
        ask.on_change()
        card = Card().section(
            ":double_vertical_bar: Paused until someone runs `/apec resume`: reminders, digests "
            "and one-offs due meanwhile are skipped, not sent later."
        )
        return card
    until, last = _pause_end(phrase, ask, zone)
    if until <= ask.now:
        raise UsageError(f"{stamp(until, zone)} has passed: give a day still to come.")
    if until > ask.now + AHEAD:
        raise UsageError("That is more than a year off: `/apec pause` alone pauses until resumed.")
    desk.pause(ask.channel, until, by=ask.user, now=ask.now)
    ask.on_change()
    through = f" through {DAY_NAMES[last.weekday()]} {day_text(last)}" if last else ""
    card = Card().section(
        f":double_vertical_bar: Paused{through}: posts resume {stamp(until, zone)}. "
        "Reminders, digests and one-offs due before then are skipped, not sent later."
    )
    card.context("`/apec resume` ends the pause sooner.")
    return card


@command(
    "resume",
    usage="resume | resume N",
    example="resume",
    aliases=("unpause",),
    share=False,
    writes=True,
    mention=True,
)
def resume(ask: Ask) -> Card:
    """End this channel's pause, or restart recurring reminder N: what falls due from now on is
    sent."""
    if _NUMBER.fullmatch(ask.args.strip()) and (ask.channel or ask.user):
        return _pause_recurring(ask, paused=False)
    if not ask.channel:
        return _needs_channel()
    desk = Desk(ask.store.db)
    held = active_pause(desk, ask.channel, ask.now)
    if not desk.resume(ask.channel):
        return Card().section("This channel is not paused.")
    ask.on_change()
    if held is None:
        return Card().section("This channel's pause had already ended; nothing is held.")
    return Card().section(":arrow_forward: Resumed: posts due from now on are sent here.")
