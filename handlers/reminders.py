"""A channel's schedule: subscriptions, one-off reminders, what is queued, cancelling, pausing.

These commands write the desk's tables (store/desk.py); the scheduler (bot/scheduler.py) reads
them through store.schedule.plan. Every change calls `ask.on_change()` so it re-plans at once.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from handlers.meetings import KINDS, not_found_meeting, title
from handlers.render import Card, date_token, day_text, esc, when
from handlers.router import Ask, UsageError, command
from store.dates import (
    NUMBER_WORDS,
    DateError,
    TimePhrase,
    find_time_phrase,
    read_period,
    read_when,
)
from store.desk import DEFAULT_KINDS, DEFAULT_OFFSETS, Delivery, Desk, Pause, Subscription
from store.models import Meeting
from store.schedule import (
    REMINDER_CHANNEL_KINDS,
    REMINDER_HOUR,
    WEEKDAYS,
    Post,
    describe_offset,
    parse_offset,
    plan,
    reminder_time,
)

WINDOW = timedelta(days=30)  # what `/apec reminders` shows, and what `cancel N` numbers
AHEAD = timedelta(days=366)  # a one-off or a pause further off than a year is a typo
MAX_OFFSET = timedelta(days=365)
MAX_OFFSETS = 10
KIND_NAMES = {"som": "SOM", "summit": "Leaders' Summit", "ministerial": "ministerial meeting"}
MEETING_KINDS = {**KINDS, "summits": "summit"}
DAY_NAMES = {name: n for n, name in enumerate(WEEKDAYS)}
DAY_NAMES.update({name[:3]: n for n, name in enumerate(WEEKDAYS)})
DAY_NAMES.update({f"{name}s": n for n, name in enumerate(WEEKDAYS)})  # "mondays"
DAY_NAMES.update({"tues": 1, "thur": 3, "thurs": 3})

_OFFSET_SHAPE = re.compile(r"(\d+)([a-z]*)")
_CLOCK = re.compile(r"(\d{1,2})(?::(\d{2}))?(am|pm|a\.m\.|p\.m\.)?")
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{1,20}")
# "SOM3 3 days before", "summit 2 hours before", "SOM2 7d", "SOM1 on the first day"
_BEFORE = re.compile(
    rf"(?P<name>.+?)\s+(?:(?P<n>\d{{1,4}}|{'|'.join(NUMBER_WORDS)})\s*"
    r"(?P<u>days?|d|hours?|hrs?|h|minutes?|mins?|m|weeks?|w)(?:\s+before)?"
    r"|(?P<zero>on\s+the\s+(?:first\s+)?day|same\s+day))",
    re.IGNORECASE,
)
# A phrase that names a time of day, or counts from now: its time stands; other days get 09:00.
_TIME_OF_DAY = re.compile(
    r"\d:\d{2}|\d\s*(?:am|pm|a\.m\.|p\.m\.)|\b(?:noon|midnight|now)\b|^in\s", re.IGNORECASE
)
# Before a reminder's text: "remind me to ...", "remind me that ..."; the time may come first.
_ME = re.compile(r"me(?:\s+|\Z)", re.IGNORECASE)
_LEAD_WORD = re.compile(r"\A(?:to|that)(?:\s+|\Z)", re.IGNORECASE)


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
    day = WEEKDAYS[local.weekday()][:3].title()
    return f"{day} {local.day} {local:%b %Y %H:%M}"


def local_text(moment: datetime, zone: ZoneInfo) -> str:
    """ "Tue 17 Nov 2026 09:00 (Asia/Seoul)": the fallback a date token stands for."""
    return f"{wall_text(moment, zone)} ({zone.key})"


def stamp(moment: datetime, zone: ZoneInfo) -> str:
    """A moment as a Slack date token, in each reader's zone, with the channel's time as fallback."""
    return date_token(moment, "{date_short_pretty} {time}", local_text(moment, zone))


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


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
        kinds = _and([KIND_NAMES.get(k, k) for k in sub.kinds])
        offsets = _and([offset_phrase(o) for o in sub.offsets])
        return (
            f"*Reminders* before every {esc(kinds)} on record: {offsets}; "
            f"at {REMINDER_HOUR:%H:%M} {esc(sub.tz)} unless a time is given."
        )
    cadence = "daily" if sub.cadence == "daily" else f"weekly on {WEEKDAYS[sub.weekday].title()}"
    return f"*Digest* {cadence} at {esc(sub.at_time)} {esc(sub.tz)}: the next 30 days' meetings."


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
    """This channel's posts in the next 30 days not yet sent, cancelled or skipped, in time order."""
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


@command("reminders", usage="reminders", example="reminders", aliases=("queue", "queued"))
def reminders(ask: Ask) -> Card:
    """What this channel will be sent in the next 30 days, numbered for `cancel`."""
    if not ask.channel:
        return _needs_channel()
    desk = Desk(ask.store.db)
    zone = channel_zone(desk, ask.channel, ask.tz)
    posts = queued(ask, desk)
    pause = active_pause(desk, ask.channel, ask.now)
    card = Card()
    if pause is not None:
        card.section(_pause_line(pause, zone))
    if posts:
        lines = [_post_line(n, p, pause) for n, p in enumerate(posts, 1)]
        _sections(card, f"*Queued for this channel, next 30 days* ({len(posts)})", lines)
        card.context("`/apec cancel N` cancels one; `/apec subscriptions` shows the settings.")
    else:
        card.section("Nothing is queued for this channel in the next 30 days.")
        if not desk.subscriptions(ask.channel):
            card.context(
                "`/apec subscribe reminders` for reminders before meetings, "
                "`/apec remind tomorrow 9am TEXT` for a one-off."
            )
    start = ask.now.astimezone(zone).date()
    _month_only_note(card, month_only(ask, followed_kinds(ask, desk), start, start + WINDOW))
    return card


@command(
    "cancel",
    usage="cancel N",
    example="cancel 2",
    share=False,
    writes=True,
)
def cancel(ask: Ask) -> Card:
    """Cancel post N of `/apec reminders`: a one-off, or one post of a subscription."""
    if not ask.channel:
        return _needs_channel()
    match = re.fullmatch(r"#?(\d{1,6})", ask.args.strip())
    if match is None:
        what = f"`{esc(ask.args[:40])}` is not" if ask.args else "Give"
        raise UsageError(f"{what} the number of a post, as `/apec reminders` shows it.")
    desk = Desk(ask.store.db)
    posts = queued(ask, desk)
    number = int(match[1])
    if not posts:
        return Card().section("Nothing is queued for this channel in the next 30 days.")
    if not 1 <= number <= len(posts):
        raise UsageError(
            f"There is no #{number}: `/apec reminders` lists {len(posts)} "
            f"post{'' if len(posts) == 1 else 's'} queued here, numbered 1 to {len(posts)}."
        )
    post = posts[number - 1]
    zone = ZoneInfo(post.tz)
    if post.kind == "one-off":
        done = desk.cancel_one_off(ask.channel, post.one_off_id)
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
    card = Card().section(f"Cancelled #{number}, due {stamp(post.due, zone)}: {what}.")
    if post.kind != "one-off":
        card.context("Only this post: the subscription stands (`/apec unsubscribe` ends it).")
    card.context("The numbers have moved up: check `/apec reminders` before cancelling another.")
    return card


# -- subscriptions ---------------------------------------------------------------------------


def _reminder_settings(words: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    offsets: list[str] = []
    kinds: list[str] = []
    for word in words:
        low = word.lower().strip(",")
        if low in ("and", "before", "every", "for", "of"):
            continue
        if low in MEETING_KINDS:
            kinds.append(MEETING_KINDS[low])
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
        elif low in DAY_NAMES:
            weekday = DAY_NAMES[low]
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
        sub = desk.subscribe_digest(ask.channel, zone_name, cadence, weekday, at_time,
                                    by=ask.user, now=ask.now, default_tz=ask.tz.key)  # fmt: skip
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
            "This is APEC_REMINDER_CHANNEL: it still gets SOM and Leaders' Summit reminders "
            "from the bot's configuration."
        )
    return card


def _outcome(label: str, entry: Delivery | None, zone: ZoneInfo) -> str:
    if entry is None:
        return f"*{label}:* none"
    line = f"*{label}:* {esc(entry.kind)} due {stamp(entry.due_at, zone)}"
    return line + (f" — `{esc(entry.error)}`" if entry.error else "")


@command("subscriptions", usage="subscriptions", example="subscriptions", aliases=("subs",))
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
            "This is APEC_REMINDER_CHANNEL: it gets SOM and Leaders' Summit reminders (7 days, "
            f"1 day before and on the first day, {ask.tz.key}) with no subscription."
        )
    sent, failed = desk.last_outcomes(ask.channel)
    card.section(_outcome("Last post", sent, zone) + "\n" + _outcome("Last failure", failed, zone))
    pause = active_pause(desk, ask.channel, ask.now)
    card.section(_pause_line(pause, zone) if pause else "Not paused.")
    card.context("`/apec reminders` lists what is queued here.")
    return card


# -- one-offs --------------------------------------------------------------------------------


def _meeting_offset(match: re.Match[str]) -> str:
    if match["zero"]:
        return "0d"
    count = NUMBER_WORDS.get(match["n"].lower()) or int(match["n"])
    unit = match["u"].lower()[0]
    if unit == "w":
        count, unit = count * 7, "d"
    offset = read_offset(f"{count}{unit}")
    assert offset is not None
    return offset


def _find_when(body: str, now: datetime) -> tuple[TimePhrase, str] | None:
    """The time phrase at the start of the words, else at their end; and the text, as written."""
    try:
        found = find_time_phrase(body, now, "start")
        if found is not None:
            text = body[found.end :]
        else:
            found = find_time_phrase(body, now, "end")
            text = body[: found.start] if found is not None else ""
    except DateError as error:
        raise UsageError(f"I can't use that date: {esc(str(error)[:80])}.") from None
    if found is None:
        return None
    return found, _LEAD_WORD.sub("", text.strip(), count=1)


def _ambiguous(said: str, at: int, found: TimePhrase) -> UsageError:
    """ "Is that 9am or 9pm?", with the command written out again with the likelier one."""
    assert found.bare_hour is not None
    start, end = (at + n for n in found.bare_hour)
    hour = int(said[start:end])
    half = "am" if 7 <= hour <= 11 else "pm"  # office hours
    fixed = f"remind {said[:start]}{hour}{half}{said[end:]}"
    if len(fixed) > 120:
        fixed = f"{found.text[: found.bare_hour[0] - found.start]}{hour}{half}"
    return UsageError(f"Is that {hour}am or {hour}pm? Try `{esc(fixed)}`.")


def _check_due(due: datetime, ask: Ask, zone: ZoneInfo) -> None:
    if due <= ask.now:
        raise UsageError(f"{stamp(due, zone)} has passed: give a time still to come.")
    if due > ask.now + AHEAD:
        raise UsageError(
            f"{stamp(due, zone)} is more than a year ahead: I keep one-offs to a year."
        )


def _queue_one_off(
    ask: Ask,
    desk: Desk,
    due: datetime,
    zone: ZoneInfo,
    text: str,
    meeting: Meeting | None = None,
    offset: str = "",
    note: str = "",
) -> Card:
    number = desk.add_one_off(
        ask.channel,
        due,
        zone.key,
        text,
        by=ask.user,
        now=ask.now,
        meeting_id=meeting.id if meeting else "",
        offset_text=offset,
    )
    ask.on_change()
    card = Card().section(
        f":alarm_clock: One-off #{number} queued for {stamp(due, zone)}: “{esc(text)}”"
    )
    card.context(f"That is {wall_text(due, zone)} in {zone.key}, this channel's time zone.")
    if note:
        card.context(note)
    pause = active_pause(desk, ask.channel, ask.now)
    if pause is not None and (pause.until is None or due < pause.until):
        card.context(_pause_line(pause, zone))
    card.context("`/apec reminders` lists what is queued; `/apec cancel N` cancels.")
    return card


def _remind_meeting(ask: Ask, desk: Desk, meeting: Meeting, offset: str, zone: ZoneInfo) -> Card:
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
    return _queue_one_off(ask, desk, due, zone, text, meeting, offset)


def _remind_at(ask: Ask, desk: Desk, zone: ZoneInfo, found: TimePhrase, text: str) -> Card:
    """Queue a one-off at the time a phrase names, or say why not."""
    if not re.search(r"\w", text):
        raise UsageError(
            "What should the reminder say? Put it before or after the time: "
            "`remind tomorrow 9am call Seoul` or `remind call Seoul in 2 hours`."
        )
    now = ask.now.astimezone(zone)
    try:
        due = found.moment(now, REMINDER_HOUR)
    except (OverflowError, ValueError):
        raise UsageError(f"`{esc(found.text[:60])}` is off the calendar.") from None
    note = ""
    if not found.has_time_of_day:
        note = f"No time of day given: {REMINDER_HOUR:%H:%M}, as for meeting reminders."
    elif found.rule == "time" and due.date() != now.date():
        # Slack's /remind reads "at 3pm" as the next 3pm, and so do we; but say so.
        note = f"`{esc(found.text)}` has passed today, so this is tomorrow's."
    _check_due(due, ask, zone)
    return _queue_one_off(ask, desk, due, zone, text, note=note)


@command(
    "remind",
    usage="remind WHEN TEXT | remind TEXT WHEN | remind MEETING N days before",
    example="remind tomorrow 9am prepare SOM2 talking points",
    share=False,
    writes=True,
)
def remind(ask: Ask) -> Card:
    """A one-off post here: at a time ("tomorrow 9am TEXT", "TEXT in 2 hours") or before a meeting ("SOM2 3 days before")."""
    if not ask.channel:
        return _needs_channel()
    me = _ME.match(ask.args)
    at = me.end() if me else 0
    body = ask.args[at:]
    if not body:
        raise UsageError("When, and of what?")
    desk = Desk(ask.store.db)
    zone = channel_zone(desk, ask.channel, ask.tz)
    before = _BEFORE.fullmatch(body) if len(body) <= 200 else None
    if before is not None:
        meeting = ask.store.meeting(before["name"])
        if meeting is not None:
            return _remind_meeting(ask, desk, meeting, _meeting_offset(before), zone)
    found = _find_when(body, ask.now.astimezone(zone))
    if found is not None:
        phrase, text = found
        if phrase.bare_hour is not None and re.search(r"\w", text):
            raise _ambiguous(ask.args, at, phrase)
        return _remind_at(ask, desk, zone, phrase, text)
    if before is not None:
        named = ask.store.meetings_in_text(before["name"])
        if named:
            return _remind_meeting(ask, desk, named[0], _meeting_offset(before), zone)
        return not_found_meeting(ask.store, before["name"])
    raise UsageError(
        f"I can't read a time at the start or the end of `{esc(body[:60])}`: try "
        "`tomorrow 9am TEXT`, `TEXT in 2 hours`, `next friday 15:00 TEXT`, or a meeting: "
        "`SOM2 3 days before`."
    )


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
    usage="pause [until DATE]",
    example="pause until friday",
    share=False,
    writes=True,
)
def pause(ask: Ask) -> Card:
    """Keep this channel quiet until a day is over (or until `resume`): posts due meanwhile are skipped."""
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
    through = f" through {WEEKDAYS[last.weekday()].title()} {day_text(last)}" if last else ""
    card = Card().section(
        f":double_vertical_bar: Paused{through}: posts resume {stamp(until, zone)}. "
        "Reminders, digests and one-offs due before then are skipped, not sent later."
    )
    card.context("`/apec resume` ends the pause sooner.")
    return card


@command("resume", usage="resume", example="resume", aliases=("unpause",), share=False, writes=True)
def resume(ask: Ask) -> Card:
    """End this channel's pause: posts due from now on are sent."""
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
