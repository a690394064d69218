"""Answers about meetings: hosts, dates, places, status, parts, and the calendar."""

from __future__ import annotations

import re
from dataclasses import replace

from rapidfuzz import fuzz

from handlers.meetings import period_label, title
from handlers.question import Question, of_year
from handlers.reader.base import (
    Answer,
    Point,
    cited,
    examples,
    meeting_point,
    now_of,
    parent_point,
    tense,
    where_when,
    yes_no,
)
from handlers.render import esc, status_word, when
from store.models import Meeting
from store.queries import Store
from store.text import fold
from store.vocabulary import CAPITALS, KIND_LABELS


@examples(
    "who hosted APEC in 2025?", "who is hosting this year", "Is the ROK hosting APEC this year?"
)
def host(q: Question, store: Store) -> Answer | None:
    """The economy hosting APEC in a year: the host of that year's Leaders' Meeting."""
    if not _asks_host(q):
        return None
    claims, asks_which = _claims(q), _asks_which(q)
    if q.economies and not claims and not asks_which:
        return None
    if q.meetings and q.year is None:
        q = replace(q, year=q.meetings[0].year)
    now = now_of(q)
    year = q.year or (now.year - 1 if q.has("previous", "last", "former") else now.year)
    summit = of_year(store, "summit", year, None)
    if summit is None or not summit.host_name:
        return Answer(f"No source on record names the host of APEC {year}.")
    verb = "hosted" if year < now.year else "hosts"
    line = f"*{esc(summit.host_name)}* {verb} APEC {year}."
    if claims and q.economies and not asks_which:
        line = yes_no(q.economies[0][1].id == summit.host_id, line)
    return Answer(line, cite=_host_cite(store, summit, year), points=[meeting_point(summit, now)])


# What a question about hosting may not ask and still be answered by the host.
_NOT_HOSTING = frozenset({"where", "venue", "priorities", "discussed", "agreed", "when"})


def _asks_host(q: Question) -> bool:
    """Who hosts APEC asked: not where or when, not how often, not of a meeting but the summit
    (unless yes or no)."""
    hosting = "host" in q.asks or "chair" in q.asks and q.has("apec") and not q.meetings
    if not hosting or q.asks & _NOT_HOSTING or q.has("city", "cities"):
        return False
    all_summits = all(m.kind == "summit" for m in q.meetings)
    if q.meetings and not (q.polar or all_summits):
        return False
    return not ("count" in q.asks or _counting(q))


def _counting(q: Question) -> bool:
    """ "how many times", or a number to check: the facts say it or not."""
    return q.has("times", "twice", "once", "often") or any(
        w.isdigit() and len(w) < 4 for w in q.words
    )


def _claims(q: Question) -> bool:
    """Put as a claim to check: yes or no, or with no question word."""
    return bool(
        q.polar or not set(q.words) & {"when", "where", "who", "how", "why", "which", "what"}
    )


def _asks_which(q: Question) -> bool:
    return q.has("which", "who", "whos") or q.words[:1] == ("what",)


def _host_cite(store: Store, summit: Meeting, year: int) -> Point:
    """The fact that names the year's host, else the summit's own record."""
    facts = [f for f in store.facts() if "host" in f.id and str(year) in f.id]
    return cited(facts[0].source, facts[0].quote) if facts else cited(summit.source, summit.quote)


# What a question about a meeting may ask and still be answered by its dates and place.
_MEETS = frozenset(
    "meet meets met meeting convene convenes convened gather gathers number edition called".split()
)
_MEETING_ASKS = frozenset({"when", "where", "status", "day", "define", "next", "venue", "host"})
_STATUS = re.compile(
    r"\b(?:held|happen\w*|take place|took place|taken place|underway|under way|on now|ongoing"
    r"|over|finished|started|begun|cancel\w*|confirmed|postponed|still on"
    r"|(?:go|goes|went|gone|going) ahead)\b"
)


@examples("wen is the sumit", "where is SOM3?", "is the summit in korea this year?", "SOM2?")
def meeting(q: Question, store: Store) -> Answer | None:
    """A meeting's dates, place and status as the sources give them, or that they give none."""
    m = q.meeting or (of_year(store, q.kind, q.year, q.now) if q.kind and q.year else None)
    if m is None or set(q.topic) - _MEETS or q.asks - _MEETING_ASKS or q.people:
        return None
    check = _checks(q, store, m)
    if check is not None:
        return check
    if "venue" in q.asks and (q.place or fold(m.city) in q.words or not q.asks & {"when", "day"}):
        return _no_venue(q, m)
    if "where" in q.asks and not m.city:
        return _no_city(m)
    if q.asks & {"when", "day"} and not m.placed or "day" in q.asks and not m.dated:
        return _no_dates(q, store, m)
    answer = Answer(
        f"*{esc(title(m))}*: {where_when(m, now_of(q))}.",
        cite=cited(m.source, m.quote),
        more=f"meeting {m.short}",
    )
    answer.points += _parts(store, m)
    return answer


def _parts(store: Store, m: Meeting) -> list[Point]:
    parts = store.parts(m.id)
    if not parts:
        return []
    names = ", ".join(f"*{esc(p.short)}* ({esc(p.name)})" for p in parts)
    return [Point(f"Held with it: {names}.", parts[0].source, "")]


def _no_city(m: Meeting) -> Answer:
    host = f"; it is hosted by *{esc(m.host_name)}*" if m.host_name else ""
    return Answer(
        f"No source on record names the city of *{esc(title(m))}*{host}.",
        cite=cited(m.source, m.quote),
        more=f"meeting {m.short}",
    )


def _no_dates(q: Question, store: Store, m: Meeting) -> Answer:
    exact = "exact dates" if m.placed else "dates"
    answer = Answer(
        f"No source on record gives the {exact} of *{esc(title(m))}*"
        + (f"; it is known only as {esc(when(m))}." if m.placed else "."),
        more=f"meeting {m.short}",
    )
    answer.nearby.append(meeting_point(m, now_of(q)))
    answer.nearby += parent_point(store, m, now_of(q))
    return answer


def _no_venue(q: Question, m: Meeting) -> Answer:
    city = f"; it is in {esc(m.place)}" if m.city else ""
    answer = Answer(
        f"No source on record names the venue of *{esc(title(m))}*{city}.",
        more=f"meeting {m.short}",
    )
    answer.nearby.append(meeting_point(m, now_of(q)))
    return answer


def _checks(q: Question, store: Store, m: Meeting) -> Answer | None:
    """A yes or no where the question puts the meeting somewhere, at some time, in some state."""
    low = " ".join(q.words)
    wh = set(q.words) & {"when", "where", "what", "which", "who", "how"}
    asks_what = q.asks & {"when", "where", "day"}  # "date of the first BMC mtg this year?"
    placed = q.place or q.period or q.economies or _STATUS.search(low)
    if not q.polar and (wh or asks_what or not placed):
        return None
    if q.polar and q.period is None and set(q.words) & _ORDER_WORDS - {"first", "last"}:
        return None  # "is SOM1 before SOM1?": an order with nothing to order it by, no "yes"
    if q.economies or q.non_members or q.place:
        return _is_it_in(q, store, m)
    if q.polar and (q.has("there") or q.period is not None and q.period.precision == "year"):
        return _exists(q, store, m)
    if q.period is not None:
        return _is_it_during(q, m)
    if _STATUS.search(low):
        return _status(q, m, low)
    return _exists(q, store, m) if q.polar else None


def _is_it_in(q: Question, store: Store, m: Meeting) -> Answer:
    now = now_of(q)
    verb = tense(m, now, "was", "is", "is")
    if q.economies:
        typed, economy = q.economies[0]
        yes, place = m.host_id == economy.id, economy.id
    else:
        asked = q.place or (q.non_members[0][0] if q.non_members else "")
        if not m.city:
            return Answer(
                f"No source on record names the city of *{esc(title(m))}*.",
                cite=cited(m.source, m.quote),
                points=[meeting_point(m, now)],
            )
        choices = asked.split(" or ")  # "in shanghai or dalian?": the one it is in
        if len(choices) > 1 and any(_placed_in(c, m) for c in choices):
            return Answer(
                f"*{esc(title(m))}* {verb} in {esc(m.place)} ({esc(when(m))}).",
                cite=cited(m.source, m.quote),
                more=f"meeting {m.short}",
            )
        yes, place = _placed_in(asked, m), ""
        if not yes and not q.non_members and not _elsewhere(store, asked):
            return Answer(  # a place no record names: it may hold the city; say where it is
                f"No source on record places *{esc(title(m))}* in {esc(asked)}: it {verb} in "
                f"{esc(m.place)} ({esc(when(m))}).",
                cite=cited(m.source, m.quote),
                more=f"meeting {m.short}",
            )
    where = esc(m.place) if m.place else "a place no source names"
    said = f"*{esc(title(m))}* {verb} in {where} ({esc(when(m))})."
    answer = Answer(
        said if _either(q) else yes_no(yes, said),
        cite=cited(m.source, m.quote),
        more=f"meeting {m.short}",
    )
    if not yes and place:
        for other in store.meetings():
            if other.host_id == place and other.kind == m.kind and not other.parent_id:
                answer.nearby.append(
                    Point(
                        f"*{esc(other.host_name)}* hosted *{esc(title(other))}* "
                        f"({esc(when(other))}).",
                        other.source,
                        other.quote,
                    )
                )
    return answer


# What a place is called besides its name ("Guangdong province"): not part of the name to find.
_PLACE_KINDS = frozenset("province city region district prefecture municipality state".split())


def _place_name(asked: str) -> str:
    return " ".join(w for w in fold(asked).split() if w not in _PLACE_KINDS)


def _placed_in(asked: str, m: Meeting) -> bool:
    """Whether the record puts `m` in the place asked: its city, or a place its source writes
    beside the city ("Shenzhen, Guangdong": the province is where it is too)."""
    name = _place_name(asked)
    if not name:
        return False
    if fuzz.ratio(name, fold(m.city)) >= 85:
        return True
    beside = rf"\b{re.escape(fold(m.city))}\s*,\s*{re.escape(name)}\b"
    return any(re.search(beside, fold(text)) for text in (m.place, m.quote))


def _elsewhere(store: Store, asked: str) -> bool:
    """Whether the place asked is one the records know as a city of its own (another meeting's,
    or a capital): a place that cannot hold the meeting's city, so "No" stands on the record."""
    name = _place_name(asked)
    known = {fold(m.city) for m in store.meetings() if m.city} | {fold(c) for c in CAPITALS}
    return bool(name) and any(fuzz.ratio(name, city) >= 85 for city in known)


def _is_it_during(q: Question, m: Meeting) -> Answer:
    assert q.period is not None and q.period.start is not None and q.period.end is not None
    if not m.placed:
        return Answer(
            f"No source on record gives the dates of *{esc(title(m))}*.",
            points=[meeting_point(m, now_of(q))],
        )
    inside = (
        m.span.start is not None
        and q.period.start <= m.span.start
        and (m.span.end or m.span.start) <= q.period.end
    )
    overlaps = m.span.overlaps(q.period.start, q.period.end)
    if q.period.precision == "day" and q.period.start != q.period.end and m.span.start:
        # a run of days asked: yes where it holds the meeting ("between 15 and 25 november") or
        # every day of it is a meeting day ("on 1-2 February" of 1-10 February); a run only
        # partly its days ("nov 19-20" of 18-19 November) is not its dates
        days_of_it = m.span.start <= q.period.start and q.period.end <= (m.span.end or m.span.start)
        overlaps = inside or days_of_it
    if overlaps and not inside and m.month_only:
        return Answer(
            f"No source on record gives the exact dates of *{esc(title(m))}*: "
            f"it is known only as {esc(when(m))}.",
            cite=cited(m.source, m.quote),
        )
    line = yes_no(
        overlaps,
        f"*{esc(title(m))}* is {esc(when(m))}"
        + ("" if overlaps else f", not {esc(period_label(q.period))}")
        + ".",
    )
    return Answer(line, cite=cited(m.source, m.quote), more=f"meeting {m.short}")


def _status(q: Question, m: Meeting, low: str) -> Answer:
    now = now_of(q)
    state = tense(m, now, "over", "under way", "ahead")
    place = f" in {esc(m.place)}" if m.place else ""
    cite = cited(m.source, m.quote)
    if state == "under way" and m.month_only:  # within its month: begun or not, none can say
        return Answer(
            f"No source on record says whether *{esc(title(m))}* has begun: it is known only as "
            f"{esc(when(m))}{place}.",
            cite=cite,
        )
    if re.search(r"cancel|postpon", low):
        return Answer(
            yes_no(
                m.status == "cancelled",
                f"*{esc(title(m))}* is {status_word(m, now)} ({esc(when(m))}).",
            ),
            cite=cite,
        )
    if "confirmed" in low:
        firm = m.status in ("held", "scheduled") and m.dated
        return Answer(yes_no(firm, f"*{esc(title(m))}*: {where_when(m, now)}."), cite=cite)
    if re.search(r"underway|under way|on now|ongoing|still on", low):
        return Answer(
            yes_no(state == "under way", f"*{esc(title(m))}* is {state}: {esc(when(m))}{place}."),
            cite=cite,
        )
    if state == "over" and m.status == "scheduled":
        return Answer(
            f"No source on record reports *{esc(title(m))}* held; "
            f"it was scheduled for {esc(when(m))}{place}.",
            cite=cite,
        )
    if state == "over":
        how = (
            " (as reported; not confirmed by an official release)" if m.status == "reported" else ""
        )
        return Answer(
            yes_no(True, f"*{esc(title(m))}* was held{how}: {esc(when(m))}{place}."), cite=cite
        )
    return Answer(
        yes_no(
            False,
            f"*{esc(title(m))}* is {state if state != 'ahead' else 'still ahead'}: "
            f"{esc(when(m))}{place}.",
        ),
        cite=cite,
    )


def _exists(q: Question, store: Store, m: Meeting) -> Answer | None:
    year = q.year or now_of(q).year
    if m.year is not None and m.year != year:
        return Answer(
            f"No source on record names such a meeting in {year}.",
            nearby=[meeting_point(m, now_of(q))],
        )
    if m.status == "cancelled":
        return Answer(
            yes_no(False, f"*{esc(title(m))}* is cancelled."), cite=cited(m.source, m.quote)
        )
    answer = Answer(
        yes_no(True, f"*{esc(title(m))}*: {where_when(m, now_of(q))}."),
        cite=cited(m.source, m.quote),
        more=f"meeting {m.short}",
    )
    answer.points += parent_point(store, m, now_of(q))
    return answer


_ALONGSIDE = frozenset(
    "alongside side events event else parts part related together margins sidelines fringes".split()
)


@examples(
    "summit side events",
    "what is held alongside the Leaders' Meeting?",
    "will foreign and trade ministers meet alongside AELM?",
)
def parts(q: Question, store: Store) -> Answer | None:
    """What is held alongside or as part of a meeting: its parts on record."""
    if not _asks_alongside(q, store) or q.delegation or q.has("who") or q.people:
        return None
    whole = next((m for m in q.meetings if store.parts(m.id)), None)
    part = next((m for m in q.meetings if m.parent_id), None)
    if whole is None and part is None:
        return None
    if part is not None and (q.polar or whole is None):
        return _part_of(q, store, part)
    assert whole is not None
    return _held_alongside(store, whole)


def _asks_alongside(q: Question, store: Store) -> bool:
    """A meeting named, with a word for what goes with it that is not a word of its own names,
    and nothing else asked."""
    if not q.meetings or set(q.topic) - _ALONGSIDE - _MEETS:
        return False
    named = {
        w
        for m in q.meetings
        for n in store.meeting_names(m.id)
        for w in re.findall(r"[a-z0-9]+", fold(n))
    }
    return bool((set(q.words) & _ALONGSIDE) - named)


def _part_of(q: Question, store: Store, part: Meeting) -> Answer:
    """What a meeting is held alongside or as part of."""
    parent = next(p for p in store.meetings() if p.id == part.parent_id)
    own = "" if not part.placed else f", {esc(when(part))}"
    line = (
        f"*{esc(title(part))}*{own} is held alongside or as part of *{esc(title(parent))}* "
        f"({esc(when(parent))})."
    )
    return Answer(
        yes_no(True, line) if q.polar else line,
        cite=cited(part.source, part.quote),
        more=f"meeting {parent.short}",
    )


def _held_alongside(store: Store, whole: Meeting) -> Answer:
    """The parts of a meeting on record."""
    found = store.parts(whole.id)
    items = "; ".join(f"*{esc(title(p))}* ({esc(when(p))})" for p in found)
    answer = Answer(
        f"Held alongside or as part of *{esc(title(whole))}*: {items}.",
        more=f"meeting {whole.short}",
    )
    answer.points += [Point("", p.source, p.quote) for p in found]
    return answer


@examples("list the 2026 SOMs", "SOM schedule 2026", "ministerial calendar")
def kind_list(q: Question, store: Store) -> Answer | None:
    """The meetings of one kind in a year (this year unless another is named)."""
    asks_list = "count" in q.asks or q.has("list", "schedule", "calendar", "all", "plan", "planned")
    if (
        not q.kind
        or not asks_list
        or q.meetings
        and not q.has("list", "all", "calendar", "schedule")
    ):
        return None
    now = now_of(q)
    year = q.year or now.year
    found = [m for m in store.meetings() if m.kind == q.kind and m.year == year and not m.parent_id]
    what = KIND_LABELS.get(q.kind, "meeting")
    if not found:
        return Answer(f"No {what} for {year} is on record.", more="meetings")
    items = "; ".join(
        f"*{esc(m.short)}* ({esc(when(m))}{', ' + esc(m.city) if m.city else ''})" for m in found
    )
    line = f"{len(found)} {what}{'s' if len(found) > 1 else ''} on record for {year}: {items}."
    return Answer(
        line, points=[Point("", m.source, m.quote) for m in found], more=f"meetings {year}"
    )


# What asks for the calendar of a period: "meetings in May", "anything in August?"
_CALENDAR_WORDS = (
    "meetings",
    "meeting",
    "calendar",
    "schedule",
    "on",
    "events",
    "anything",
    "happening",
)


@examples("meetings in May", "what's on next month", "schedule for august")
def period(q: Question, store: Store) -> Answer | None:
    """The meetings on record in a period."""
    if q.period is None or q.meetings or not q.has(*_CALENDAR_WORDS):
        return None
    if q.polar or set(q.topic) - {"events", "event", "calendar", "schedule", "on", "happening"}:
        return None
    p = q.period
    if p.start is None or p.end is None:
        return None
    found = [m for m in store.meetings_between(p.start, p.end) if not m.parent_id]
    label = esc(period_label(p))
    if not found:
        return Answer(f"No source on record places a meeting in {label}.", more="meetings")
    items = "; ".join(
        f"*{esc(title(m))}* ({esc(when(m))}{', ' + esc(m.city) if m.city else ''})" for m in found
    )
    line = f"{len(found)} meeting{'s' if len(found) > 1 else ''} on record for {label}: {items}."
    return Answer(line, points=[Point("", m.source) for m in found], more=f"meetings {p.text}")


def _either(q: Question) -> bool:
    """ "in Korea or China?": a choice between places, answered by the one, not by yes or no."""
    return len(q.economies) + len(q.non_members) >= 2 and " or " in f" {' '.join(q.words)} "


_ORDER_WORDS = frozenset(
    """first earlier earliest sooner soonest before later latest last after comes precede
    precedes""".split()
)


@examples("which comes first, SOM3 or the leaders meeting?", "is SOM2 before SOM3?")
def order(q: Question, store: Store) -> Answer | None:
    """Which of two meetings comes first: said only where their days (or months) on record
    settle it; each meeting's dates cited."""
    if len(q.meetings) < 2 or not set(q.words) & _ORDER_WORDS or set(q.topic) - _ORDER_WORDS:
        return None  # "was SOM1 the first forum on the road to the summit?" asks no order
    a, b = q.meetings[0], q.meetings[1]
    now = now_of(q)
    points = [meeting_point(a, now), meeting_point(b, now)]
    unplaced = [m for m in (a, b) if not m.placed]
    if unplaced:
        return Answer(
            f"No source on record gives the dates of *{esc(title(unplaced[0]))}*, so not which "
            f"comes first.",
            nearby=points,
        )
    first, then = (a, b) if _before(a, b) else (b, a) if _before(b, a) else (None, None)
    if first is None or then is None:
        return Answer(
            f"No source on record settles which comes first: *{esc(title(a))}* is "
            f"{esc(when(a))} and *{esc(title(b))}* is {esc(when(b))}.",
            points=points,
        )
    line = (
        f"*{esc(title(first))}* comes first ({esc(when(first))}), then *{esc(title(then))}* "
        f"({esc(when(then))})."
    )
    if q.polar:  # "is SOM2 before SOM3?": yes when it is the first asked about
        asked_first = a if not q.has("after", "later") else b
        line = yes_no(asked_first.id == first.id, line)
    return Answer(line, points=points, more=f"meeting {first.short}")


def _before(a: Meeting, b: Meeting) -> bool:
    """Whether the record puts all of `a` before any of `b`."""
    assert a.span.end is not None and b.span.start is not None
    return a.span.end < b.span.start
