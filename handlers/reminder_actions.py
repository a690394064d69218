"""What a reminder post's buttons do (Mark as done, Snooze, List my reminders), and a person's
list of reminders, which the Home tab shows too.

A button carries its post's delivery key, nothing else: what the reminder is, and who may act on
it, is read from the store (`refuse_unless_theirs`: the one who asked, the one reminded, or an
admin). Each button acts once however often it is pressed: "done" is recorded under the key
(`Desk.mark_done`), a snooze is a one-off whose origin is the key and the choice
(`Desk.add_one_off(origin=...)`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from handlers.registry import Ask, guarded
from handlers.render import Button, Card, date_token, esc
from store.desk import Desk, OneOff, Recurring, from_iso, is_user
from store.remind import RRULE_DAYS
from store.schedule import Post, next_occurrence
from store.vocabulary import DAY_NAMES

DONE_ACTION = "reminder_done"
LIST_ACTION = "reminder_list"
# A snooze's button: its label, and when the new one-off falls due from the press.
SNOOZES: dict[str, tuple[str, Callable[[datetime], datetime]]] = {
    "reminder_snooze_20m": ("Snooze 20 min", lambda now: now + timedelta(minutes=20)),
    "reminder_snooze_1h": ("Snooze 1 hour", lambda now: now + timedelta(hours=1)),
    # The next day at the hour a day with no time of day falls at (remind_spec: 09:00).
    "reminder_snooze_tomorrow": (
        "Snooze until tomorrow",
        lambda now: datetime.combine(now.date() + timedelta(days=1), time(9), now.tzinfo),
    ),
}
SNOOZE_ACTION = re.compile("^(?:" + "|".join(SNOOZES) + ")$")
# The commands that read or show a time for the one asking: their Ask carries the asker's own
# zone (one users.info an hour per person). Others are answered without asking Slack.
ASKER_ZONE = frozenset({"remind", "reminders", "cancel", "pause", "resume"})
# The commands that read whom they are for from Slack's mentions (`<@U…>`, `<#C…>`).
READS_WHO = frozenset({"remind"})
SHOWN = 20  # reminders of each kind a list shows
_KEY = re.compile(r"(one-off):(\d{1,12})|(recurring):(\d{1,12}):(\d{4}-\d\d-\d\dT\d\d:\d\d)")


def reminder_buttons(post: Post) -> list[Button]:
    """The row under a one-off or recurring reminder post; none under other posts."""
    if post.kind not in ("one-off", "recurring"):
        return []
    snoozes = [Button(label, action, post.key) for action, (label, _) in SNOOZES.items()]
    return [
        Button("Mark as done", DONE_ACTION, post.key),
        *snoozes,
        Button("List my reminders", LIST_ACTION, "list"),
    ]


@dataclass(frozen=True)
class Reminder:
    """What a post's key stands for: enough to say who may act on it, and to snooze it."""

    key: str
    target: str  # a channel, or a person (a direct message)
    tz: str
    text: str
    created_by: str
    for_user: str

    @property
    def reminded(self) -> tuple[str, ...]:
        """The people it reminds by name: its person, and whom its direct message goes to."""
        return tuple(u for u in (self.for_user, self.target if is_user(self.target) else "") if u)


def reminder_of(desk: Desk, key: str) -> Reminder | None:
    """The reminder a post's key belongs to; None when there is none (or the key is not one)."""
    match = _KEY.fullmatch(key)
    if match is None:
        return None
    if match[1]:
        one = _one_off(desk, int(match[2]))
        if one is None:
            return None
        return Reminder(key, one.channel, one.tz, one.text, one.created_by, one.for_user)
    rec = desk.recurring_by_id(int(match[4]))
    if rec is None:
        return None
    return Reminder(key, rec.target, rec.tz, rec.text, rec.created_by, rec.for_user)


def _one_off(desk: Desk, number: int) -> OneOff | None:
    return next((one for one in desk.one_offs() if one.id == number), None)


def may_act_on(ask: Ask, created_by: str, reminded: tuple[str, ...]) -> bool:
    """Whether the one asking may change a reminder: who asked for it, whom it reminds, or an
    admin (asked last: it may cost Slack a users.info)."""
    return (bool(ask.user) and ask.user in (created_by, *reminded)) or ask.can_edit()


def refuse_unless_theirs(ask: Ask, created_by: str, reminded: tuple[str, ...]) -> Card | None:
    """The one check for acting on a reminder (mark done, snooze, cancel, pause): None if the
    one asking may; else a reply saying who can."""
    if may_act_on(ask, created_by, reminded):
        return None
    who = [f"<@{u}>" for u in dict.fromkeys((created_by, *reminded)) if is_user(u)]
    names = ", ".join(who) + " or " if who else "whoever set it, whoever it reminds, or "
    return Card().section(f"Sorry: only {names}an admin can change this reminder.")


# -- the buttons -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pressed:
    """What a press did: a line the post shows in place of its buttons, and a note for the
    presser alone (either may be None)."""

    mark: str | None = None
    note: Card | None = None


GONE = "That reminder is no longer on record: there is nothing to change."


def press(ask: Ask, action_id: str, key: str) -> Pressed:
    """Mark as done, or snooze, the reminder of post `key`; a failing store answers plainly."""
    done: list[Pressed] = []

    def act() -> Card:
        done.append(_act(ask, action_id, key))
        return Card()

    card = guarded(ask, act)
    return Pressed(note=card) if card.transient or not done else done[0]


def _act(ask: Ask, action_id: str, key: str) -> Pressed:
    desk = Desk(ask.store.db)
    reminder = reminder_of(desk, key)
    if reminder is None:
        return Pressed(note=Card().section(GONE))
    refusal = refuse_unless_theirs(ask, reminder.created_by, reminder.reminded)
    if refusal is not None:
        return Pressed(note=refusal)
    zone = ask.user_tz or ask.tz
    if action_id == DONE_ACTION:
        return _mark_done(ask, desk, reminder, zone)
    if action_id in SNOOZES:
        return _snooze(ask, desk, reminder, action_id, zone)
    return Pressed(note=Card().section("I don't know that button."))


def _done_by(desk: Desk, key: str, zone: ZoneInfo) -> str | None:
    """ "by <@U1> <date token>" when the post was marked done; None when it was not."""
    found = desk.done_by(key)
    if found is None:
        return None
    by, at = found
    who = f"<@{by}>" if is_user(by) else esc(by or "someone")
    return f"by {who} {stamp(from_iso(at), zone)}"


def _mark_done(ask: Ask, desk: Desk, reminder: Reminder, zone: ZoneInfo) -> Pressed:
    first = desk.mark_done(reminder.key, ask.user, ask.now)
    if first:
        # Done is done: its snoozes still to come are not posted (a sent one cannot be cancelled).
        for one in desk.one_offs():
            if one.origin.startswith(reminder.key + "|") and one.due_at > ask.now:
                desk.cancel_one_off(one.channel, one.id)
        ask.on_change()
    by = _done_by(desk, reminder.key, zone)
    note = None if first else Card().section(f"This was already marked done {by}.")
    return Pressed(mark=f":white_check_mark: Marked done {by}.", note=note)


def _snooze(ask: Ask, desk: Desk, reminder: Reminder, choice: str, zone: ZoneInfo) -> Pressed:
    by = _done_by(desk, reminder.key, zone)
    if by is not None:
        note = Card().section(f"This was marked done {by}: nothing to snooze.")
        return Pressed(mark=f":white_check_mark: Marked done {by}.", note=note)
    due = SNOOZES[choice][1](ask.now.astimezone(zone))
    number = desk.add_one_off(
        reminder.target,
        due,
        zone.key,
        reminder.text,
        by=reminder.created_by,
        now=ask.now,
        for_user=reminder.for_user,
        origin=f"{reminder.key}|{choice}",
    )
    ask.on_change()
    made = _one_off(desk, number)  # pressed again: the one the first press made, as it made it
    due = made.due_at if made is not None else due
    who = f"<@{ask.user}>" if is_user(ask.user) else "you"
    return Pressed(mark=f":zzz: Snoozed by {who} until {stamp(due, zone)} (one-off #{number}).")


# -- a person's reminders --------------------------------------------------------------------


def stamp(moment: datetime, zone: ZoneInfo) -> str:
    """A time as Slack shows it in each reader's zone; the fallback names it in `zone`."""
    local = moment.astimezone(zone)
    fallback = f"{local:%a} {local.day} {local:%b %Y %H:%M} ({zone.key})"
    return date_token(moment, "{date_short_pretty} at {time}", fallback)


_DAYS = dict(zip(RRULE_DAYS, DAY_NAMES, strict=True))  # "MO": "Monday"
_NTH = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
_UNITS = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def describe_rule(rule: str, start: datetime) -> str:
    """A stored RRULE in words, from its first occurrence's wall time: "every Monday at 09:00",
    "every 2 weeks on Friday at 09:00", "every month on the 15th at 09:00"."""
    parts = dict(p.partition("=")[::2] for p in rule.split(";") if p)
    head, on = _every_and_on(parts, start)
    return f"{head}{on} at {start:%H:%M}{_rule_end(parts)}"


def _every_and_on(parts: dict[str, str], start: datetime) -> tuple[str, str]:
    """ "every 2 weeks" and " on Friday"; or "every Monday" and nothing, when it says it all."""
    freq, every = parts.get("FREQ", ""), int(parts.get("INTERVAL", "1") or 1)
    unit = _UNITS.get(freq, "time")
    head = f"every {every} {unit}s" if every > 1 else f"every {unit}"
    days = [d for d in parts.get("BYDAY", "").split(",") if d]
    plain = [_DAYS[d] for d in days if d in _DAYS]
    if freq == "WEEKLY" and sorted(days) == sorted(RRULE_DAYS[:5]):
        return ("every weekday", "") if every == 1 else (head, " on weekdays")
    if freq in ("DAILY", "WEEKLY") and plain:
        joined = " and ".join([", ".join(plain[:-1]), plain[-1]] if len(plain) > 1 else plain)
        return (f"every {joined}", "") if every == 1 else (head, f" on {joined}")
    return head, _on_day(parts, freq, days, start)


def _on_day(parts: dict[str, str], freq: str, days: list[str], start: datetime) -> str:
    """The day of a month or a year: " on the first Monday", " on the 15th", " on 18 November"."""
    if freq in ("MONTHLY", "YEARLY") and days:
        nth = re.fullmatch(r"([+-]?\d)([A-Z]{2})", days[0])
        which = f"{_NTH.get(int(nth[1]), nth[1])} {_DAYS.get(nth[2], nth[2])}" if nth else days[0]
        return f" on the {which}"
    if freq == "MONTHLY":
        return f" on the {_ordinal(int(parts.get('BYMONTHDAY', str(start.day)).split(',')[0]))}"
    if freq == "YEARLY":
        return f" on {start.day} {start:%B}"
    return ""


def _rule_end(parts: dict[str, str]) -> str:
    """ ", until 20 November 2026", ", 5 times", or nothing."""
    if parts.get("UNTIL"):
        until = parts["UNTIL"]
        return f", until {int(until[6:8])} {date(int(until[:4]), int(until[4:6]), 1):%B %Y}"
    if parts.get("COUNT"):
        return f", {parts['COUNT']} times"
    return ""


def _where(target: str, created_by: str, user: str) -> str:
    if not is_user(target):
        return f"in <#{target}>" if re.fullmatch(r"[CG][A-Z0-9]+", target) else ""
    if target == user:
        return "for you" if created_by in (user, "") else f"for you, set by <@{created_by}>"
    return f"for <@{target}>"


def one_off_line(one: OneOff, user: str, zone: ZoneInfo) -> str:
    """ "• Mon 9 Nov at 09:00 — “call Seoul” in #apec-desk · one-off #12"."""
    where = _where(one.channel, one.created_by, user)
    text = one.text if len(one.text) <= 100 else one.text[:99] + "…"
    return f"• {stamp(one.due_at, zone)} — “{esc(text)}” {where} · one-off #{one.id}"


def recurring_line(rec: Recurring, user: str, now: datetime, stop: date | None) -> str:
    """ "• every Monday at 09:00 — “weekly note” for you · next … · recurring #3"; `stop` is
    the first day of the meeting it ends before, if any."""
    where = _where(rec.target, rec.created_by, user)
    text = rec.text if len(rec.text) <= 100 else rec.text[:99] + "…"
    rule = describe_rule(rec.rule, rec.start) + (f" ({esc(rec.tz)})")
    upcoming = next_occurrence(rec, ZoneInfo(rec.tz), now, stop)
    if rec.paused:
        state = "_paused_"
    elif upcoming is None:
        state = "ended"
    else:
        state = f"next {stamp(upcoming, ZoneInfo(rec.tz))}"
    until = f" {esc(rec.until_text)}" if rec.until_text and "until" not in rule else ""
    return f"• {esc(rule)}{until} — “{esc(text)}” {where} · {state} · recurring #{rec.id}"


def reminder_lists(ask: Ask) -> tuple[list[str], list[str]]:
    """The lines of the reminders for the one asking, and of those they set for others (a
    channel, or another person); one-offs still to come first, then recurring ones."""
    zone = ask.user_tz or ask.tz
    one_offs, recurring = Desk(ask.store.db).reminders_for(ask.user, due_after=ask.now)
    mine: list[str] = []
    theirs: list[str] = []
    for one in one_offs:
        (mine if ask.user in (one.channel, one.for_user) else theirs).append(
            one_off_line(one, ask.user, zone)
        )
    # "until SOM2" ends before the meeting's first day, as the scheduler reads it.
    meetings = ask.store.meetings() if any(rec.meeting_id for rec in recurring) else []
    first_days = {m.id: m.span.start for m in meetings}
    for rec in recurring:
        stop = first_days.get(rec.meeting_id) if rec.meeting_id else None
        (mine if ask.user in (rec.target, rec.for_user) else theirs).append(
            recurring_line(rec, ask.user, ask.now, stop)
        )
    return mine, theirs


def _cut(lines: list[str]) -> list[str]:
    more = len(lines) - SHOWN
    return lines[:SHOWN] + ([f"… and {more} more."] if more > 0 else [])


def add_reminders(card: Card, ask: Ask) -> Card:
    """The one asking's reminders, as sections of `card` (the Home tab's and the button's)."""
    mine, theirs = reminder_lists(ask)
    if mine:
        card.listing(f"*Reminders for you* ({len(mine)})", _cut(mine))
    if theirs:
        card.listing(f"*Reminders you set for others* ({len(theirs)})", _cut(theirs))
    if not mine and not theirs:
        card.section("*Reminders:* none to come for you or set by you.")
        card.context("`/apec remind me tomorrow at 9am call Seoul` sets one.")
    return card


def list_mine(ask: Ask) -> Card:
    """ "List my reminders": the presser's reminders, to them alone."""
    return guarded(ask, lambda: add_reminders(Card(), ask))
