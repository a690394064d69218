"""Answers about time: the next meeting, the days to one, the hours no source gives."""

from __future__ import annotations

import re
from datetime import datetime

from handlers.meetings import days_until, in_days, title
from handlers.question import Question
from handlers.reader.base import Answer, Point, cited, examples, meeting_point, now_of, where_when
from handlers.render import esc, status_word, when
from store.models import Meeting
from store.queries import Store
from store.vocabulary import KIND_LABELS


@examples("how many days until the summit?", "countdown", "how long until SOM3")
def countdown(q: Question, store: Store) -> Answer | None:
    """Days to a meeting (or to the next SOM and Leaders' Summit); none for a month-only date."""
    if "countdown" not in q.asks:
        return None
    now = now_of(q)
    targets = list(q.meetings[:1]) or [
        m for k in ([q.kind] if q.kind else ["som", "summit"]) if (m := store.next_meeting(now, k))
    ]
    if not targets:
        kinds = KIND_LABELS.get(q.kind or "", "meeting")
        return no_upcoming(
            store, now, q.kind, f"No upcoming {kinds} is on record: nothing to count down to."
        )
    answer = Answer(days_to(targets[0], now), cite=cited(targets[0].source, targets[0].quote))
    answer.points += [Point(days_to(m, now), m.source, m.quote) for m in targets[1:]]
    answer.more = "countdown"
    return answer


def days_to(m: Meeting, now: datetime) -> str:
    name = f"*{esc(title(m))}*"
    if not m.dated and m.within is not None and m.within.start is not None:
        # a part with no days of its own: held alongside what it is part of, whose days are known
        return (
            f"No source on record gives the own dates of {name}: it is held alongside a meeting "
            f"of {esc(m.within.describe())}, so there is nothing to count down to."
        )
    if not m.dated or m.span.start is None:
        return (
            f"No source on record gives the exact dates of {name}: it is in {esc(when(m))}, "
            "so there is nothing to count down to."
        )
    days = days_until(m, now)
    if days < 0:
        return f"{name} was {esc(when(m))}: it has begun or is over ({status_word(m, now)})."
    place = f", {esc(m.place)}" if m.place else ""
    return f"{name} opens {in_days(days)}: {esc(when(m))}{place}."


@examples("next SOM?", "next meeting?", "when is the next summit", "what's coming up")
def next_meeting(q: Question, store: Store) -> Answer | None:
    """The next meeting on record (of the kind asked), or plainly that none is."""
    if "next" not in q.asks or q.meetings and not q.kind or q.year and q.year > now_of(q).year:
        return None
    now = now_of(q)
    what = KIND_LABELS.get(q.kind or "", "meeting")
    under_way = [m for m in store.ongoing(now) if (m.kind == q.kind if q.kind else not m.parent_id)]
    found = store.next_meeting(after=now, kind=q.kind)
    undated = None if found is not None else _undated_ahead(store, now, q.kind)
    if undated is not None:  # a meeting of this year or a later one that no source has dated
        answer = Answer(
            f"The next {what} on record is *{esc(title(undated))}*, {where_when(undated, now)}; "
            "no source on record gives its dates.",
            cite=cited(undated.source, undated.quote),
        )
    elif found is None:
        day = f"{now.date().day} {now.date():%B %Y}"
        line = f"No upcoming {what} is on record: no source on record names one after {day}."
        answer = no_upcoming(store, now, q.kind, line)
    else:
        days = f": it opens {in_days(days_until(found, now))}" if found.dated else ""
        answer = Answer(
            f"The next {what} on record is *{esc(title(found))}*, {where_when(found, now)}{days}.",
            cite=cited(found.source, found.quote),
        )
    for m in under_way:
        answer.points.insert(
            0, Point(f"Under way now: *{esc(title(m))}*, {where_when(m, now)}.", m.source, m.quote)
        )
    answer.more = f"next-meeting {q.kind or ''}".strip()
    return answer


def _undated_ahead(store: Store, now: datetime, kind: str | None) -> Meeting | None:
    """A meeting (of the kind) of this year or later, not yet held and placed on no day or
    month ("later this year"): the next on record when nothing dated is ahead."""
    found = [
        m
        for m in store.meetings()
        if not m.parent_id
        and m.span.precision == "year"  # "later this year": not "from May", nor no date at all
        and m.status in ("scheduled", "tbc", "reported")
        and m.year is not None
        and m.year >= now.year
        and (m.kind == kind if kind else True)
    ]
    return min(found, key=lambda m: m.year or 0, default=None)


def no_upcoming(store: Store, now: datetime, kind: str | None, line: str) -> Answer:
    answer = Answer(line)
    last = store.last_meeting(before=now, kind=kind)
    if last is not None:
        answer.nearby.append(
            Point(
                f"The last was *{esc(title(last))}*, {where_when(last, now)}.",
                last.source,
                last.quote,
            )
        )
    return answer


_TIME_OF_DAY = re.compile(
    r"\b(?:what|which) time\b|\btime of day\b|\bwhat hour\b|\bat what time\b|\bo ?clock\b"
    r"|\b(?:start|starting|opening|kick ?off|closing|end|ending|finish|finishing) times?\b"
)


@examples("what time does the summit start?", "what time is the BMC meeting", "SOM2 opening time?")
def time_of_day(q: Question, store: Store) -> Answer | None:
    """No source gives a meeting's hours: say so, with its days."""
    if not _TIME_OF_DAY.search(" ".join(q.words)):
        return None
    m = q.meeting or (store.next_meeting(now_of(q), q.kind) if q.kind else None)
    what = f" for *{esc(title(m))}*" if m else ""
    answer = Answer(f"No source on record gives a time of day{what}: the sources give days only.")
    if m is not None:
        answer.nearby.append(meeting_point(m, now_of(q)))
        answer.more = f"meeting {m.short}"
    return answer
