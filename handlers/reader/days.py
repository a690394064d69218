"""Answers that a meeting's days give by themselves, once a source has dated it to the day: its
weekday, how long it lasts, how long ago it ended, what is on a given day, and what is left of a
year. A meeting known only to its month gets none of them: the line says so, and its month
follows as what is on record. The citation is the meeting's own: the days are the source's; the
weekday and the count are arithmetic on them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from handlers.meetings import title
from handlers.question import Question, of_year
from handlers.reader.base import (
    Answer,
    Point,
    cited,
    examples,
    meeting_point,
    now_of,
    where_when,
    yes_no,
)
from handlers.reader.time import no_upcoming
from handlers.render import day_text, esc, when
from store.dates import Span
from store.models import Meeting
from store.queries import Store
from store.vocabulary import KIND_LABELS, WEEKDAYS

ENDS = frozenset(
    "end ends ended ending finish finishes finished close closes closed wrap last".split()
)
# Sentences about a day are looked for by the ways sources write it.
_DAY_FORMS = ("{month} {day}", "{day} {month}", "{mon}. {day}", "{mon} {day}")


def _asked_meeting(q: Question, store: Store) -> Meeting | None:
    """The meeting asked about: named, or the one of the kind and year asked."""
    if q.meeting is not None:
        return q.meeting
    if q.kind:
        return of_year(store, q.kind, q.year, q.now)
    return None


def _undated(m: Meeting, what: str, q: Question) -> Answer:
    """The plain line for a meeting not known to the day, with what is on record of it."""
    known = f" it is known only as {esc(when(m))}" if m.placed else " no source gives its dates"
    line = f"No source on record gives the exact dates of *{esc(title(m))}*:{known}, so not {what}."
    return Answer(line, nearby=[meeting_point(m, now_of(q))], more=f"meeting {m.short}")


def _weekday(day: date) -> str:
    return f"{day:%A}"


@examples(
    "what day of the week did SOM2 open?",
    "what weekday did som1 end",
    "is the shenzhen summit on a weekend?",
)
def weekday(q: Question, store: Store) -> Answer | None:
    """The day of the week a meeting opens or ends (or whether it falls on one asked about)."""
    if "weekday" not in q.asks:
        return None
    m = _asked_meeting(q, store)
    if m is None:
        return None
    if not m.dated:
        return _undated(m, "its day of the week", q)
    ends = bool(ENDS & set(q.words)) and not q.has("start", "starts", "open", "opens", "begin")
    line = _checked(q, m, ends, _opens_or_ends(q, m, ends))
    return Answer(line, cite=cited(m.source, m.quote), more=f"meeting {m.short}")


def _opens_or_ends(q: Question, m: Meeting, ends: bool) -> str:
    """ "SOM2 opened on Monday, 18 May 2026, and ran to ...": the weekday it opens (or ends)."""
    assert m.span.start is not None and m.span.end is not None
    now = now_of(q)
    first, last = m.span.start, m.span.end
    day = last if ends else first
    past = now.astimezone(m.zone).date() > day
    verb = ("ended" if past else "ends") if ends else ("opened" if past else "opens")
    line = f"*{esc(title(m))}* {verb} on {_weekday(day)}, {day_text(day)}"
    if first != last and not ends:
        runs = "ran" if now.astimezone(m.zone).date() > last else "runs"
        line += f", and {runs} to {_weekday(last)}, {day_text(last)}"
    if "where" in q.asks and m.place:  # "where's SOM2 and what day does it open?"
        line += f", in {esc(m.place)}"
    return line + "."


def _checked(q: Question, m: Meeting, ends: bool, line: str) -> str:
    """The line as a yes or no where the question asks whether the meeting falls on a weekend
    (each of its days said) or on the weekday asked."""
    assert m.span.start is not None and m.span.end is not None
    first, last = m.span.start, m.span.end
    day = last if ends else first
    asked = [w for w in WEEKDAYS if w in q.words]
    if q.polar and q.has("weekend", "weekends"):
        days = [first + timedelta(n) for n in range((last - first).days + 1)]
        on = [d for d in days if d.weekday() >= 5]
        return yes_no(
            bool(on),
            f"*{esc(title(m))}* is {esc(when(m))}: " + ", ".join(_weekday(d) for d in days) + ".",
        )
    if q.polar and asked:
        return yes_no(_weekday(day).lower() == asked[0], line)
    return line


@examples(
    "how long was SOM1?",
    "how many days did the SOM2 related meetings run",
    "how long is the leaders mtg",
)
def duration(q: Question, store: Store) -> Answer | None:
    """How many days a meeting runs, counted from its dates."""
    if "duration" not in q.asks:
        return None
    m = _asked_meeting(q, store)
    if m is None:
        return None
    if not m.dated:
        return _undated(m, "how long it lasts", q)
    assert m.span.start is not None and m.span.end is not None
    days = (m.span.end - m.span.start).days + 1
    verb = "ran" if now_of(q).astimezone(m.zone).date() > m.span.end else "runs"
    line = f"*{esc(title(m))}* {verb} {days} day{'s' if days > 1 else ''}: {esc(when(m))}."
    return Answer(line, cite=cited(m.source, m.quote), more=f"meeting {m.short}")


@examples("how long ago did SOM1 wrap up?", "how many days since the BMC meeting")
def since(q: Question, store: Store) -> Answer | None:
    """How long ago a meeting ended (or that it has not)."""
    if "since" not in q.asks:
        return None
    m = _asked_meeting(q, store)
    if m is None:
        return None
    if not m.dated:
        return _undated(m, "how long ago it ended", q)
    assert m.span.start is not None and m.span.end is not None
    today = now_of(q).astimezone(m.zone).date()
    opened = q.has(*_OPENED)  # "since it opened": from its first day, else its last
    day = m.span.start if opened else m.span.end
    gone = (today - day).days
    name = f"*{esc(title(m))}*"
    if gone <= 0:
        line = f"{name} has not {'begun' if opened else 'ended'}: it is {esc(when(m))}."
    else:
        ago = "yesterday" if gone == 1 else f"{gone} days ago"
        line = f"{name} {'opened' if opened else 'ended'} {ago}, on {day_text(day)}."
    return Answer(line, cite=cited(m.source, m.quote), more=f"meeting {m.short}")


_OPENED = ("opened", "open", "opening", "began", "begin", "start", "started", "starting", "kicked")


SHORT_PERIOD = 7  # days: a period this short is asked about day by day, parts of meetings included


@examples(
    "anything on feb 9?",
    "what's happening on november eighteenth?",
    "what happened on dec 12 2025?",
)
def on_day(q: Question, store: Store) -> Answer | None:
    """What is on record for a day or a few days: meetings held then (their parts too), a meeting
    known only to that month said as such, and sentences the sources date to that day."""
    p = _few_days(q)
    if p is None or q.meetings or q.people or q.economies:
        return None
    assert p.start is not None and p.end is not None
    label = day_text(p.start) if p.start == p.end else f"{day_text(p.start)} – {day_text(p.end)}"
    found = _dated_within(store, p)
    month = [m for m in store.meetings_between(p.start, p.end) if m.month_only and not m.parent_id]
    said = _sentences_of(store, p) if p.start == p.end else []
    if found:
        answer = _held_on(found, label, now_of(q))
    elif said:
        first, *rest = said
        return Answer(first.text, cite=first, points=rest)
    else:
        answer = Answer(f"No source on record places a meeting on {label}.")
    answer.nearby += [
        Point(f"*{esc(title(m))}* is known only as {esc(when(m))}.", m.source, m.quote)
        for m in month
    ]
    if not found:
        answer.nearby += said
    return answer


def _few_days(q: Question) -> Span | None:
    """The period asked, if it is a day or a few days (fewer than SHORT_PERIOD)."""
    p = q.period
    if p is None or p.start is None or p.end is None or p.precision != "day":
        return None
    return p if (p.end - p.start).days < SHORT_PERIOD else None


def _dated_within(store: Store, p: Span) -> list[Meeting]:
    """Meetings dated to the day within the period, parts included: the one held on the day
    first, what it is part of after (the shortest first)."""
    assert p.start is not None and p.end is not None
    return sorted(
        (m for m in store.meetings_between(p.start, p.end) if m.dated),
        key=lambda m: (m.span.end - m.span.start) if m.span.start and m.span.end else timedelta(0),
    )


def _held_on(found: list[Meeting], label: str, now: datetime) -> Answer:
    """The meetings dated to the days asked, the first cited."""
    line = f"On record for {label}: " + "; ".join(
        f"*{esc(title(m))}*, {where_when(m, now)}" for m in found
    )
    answer = Answer(line + ".", cite=cited(found[0].source, found[0].quote))
    answer.points += [Point("", m.source, m.quote) for m in found[1:]]
    return answer


def _sentences_of(store: Store, p: Span) -> list[Point]:
    """Sentences the sources date to a day ("On December 12, 2025, ... said"), found by the ways
    a day is written, each checked by reading its dates."""
    from store.dates import find_dates

    assert p.start is not None
    day = p.start
    month, mon = f"{day:%B}", f"{day:%b}"
    phrases = [f.format(month=month, mon=mon, day=day.day) for f in _DAY_FORMS]
    out = []
    for s in store.sentences_naming(phrases, limit=20):
        if any(sp.start == day == sp.end for _, sp in find_dates(s.text, s.source.reference_date)):
            out.append(Point(esc(s.text), s.source, s.text))
    return out[:3]


@examples(
    "anything left on the apec 2026 calendar?",
    "what's still to come this year",
    "upcoming APEC events?",
)
def left(q: Question, store: Store) -> Answer | None:
    """What is still ahead on the calendar (this year, or the year asked), soonest first."""
    if "left" not in q.asks and not ("next" in q.asks and q.has("events", "meetings", "calendar")):
        return None
    if q.meetings or q.people or q.economies:
        return None
    now = now_of(q)
    year = q.year or (q.period.start.year if q.period and q.period.start else None)
    ahead = [m for m in store.meetings() if _still_ahead(m, q.kind, year, now)]
    what = KIND_LABELS.get(q.kind or "", "meeting")
    within = f" in {year}" if year else ""
    if not ahead:
        line = f"No source on record names a {what} still ahead{within}."
        return no_upcoming(store, now, q.kind, line)
    items = "; ".join(f"*{esc(title(m))}*, {where_when(m, now)}" for m in ahead)
    line = f"Still ahead on record{within}: {items}."
    return Answer(line, points=[Point("", m.source, m.quote) for m in ahead], more="meetings")


def _still_ahead(m: Meeting, kind: str | None, year: int | None, now: datetime) -> bool:
    """A meeting on the calendar (not a part, not cancelled) of the kind and year asked, if any,
    not over yet."""
    return (
        not m.parent_id
        and m.status != "cancelled"
        and (m.kind == kind if kind else True)
        and (m.year == year if year else True)
        and _ahead(m, now)
    )


def _ahead(m: Meeting, now: datetime) -> bool:
    """Not over yet: a meeting under way counts; one known only to a month, until that month
    ends."""
    bounds = m.bounds()
    return bounds is not None and now < bounds[1]
