"""What a question is asking, as an ordered table of small functions (the shape of store/dates.py).

Each intent reads a parsed `Question` and returns an `Answer`, or None when the question is not its
kind; the first that answers wins. An answer's first line answers what was asked: a yes-or-no
question gets "Yes" or "No" where the records decide it. When the records hold nothing for the
asked part of something they do know (the day of a month-only meeting, who chaired, what was
agreed), that line says so plainly, and what is near it on record follows under "On record:",
never under a heading that reads like the answer. An intent declines a question that carries
words it cannot account for ("the weather in Shenzhen"), rather than answer a neighbouring one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache

from rapidfuzz import fuzz

from handlers.meetings import KIND_WORDS, days_until, in_days, period_label, title
from handlers.question import Question, of_year
from handlers.render import esc, status_word, when
from store.dates import find_dates
from store.models import Delegation, Fact, Meeting, Person, Sentence, Source
from store.queries import STOPWORDS, Store, content_words, stem
from store.text import fold


@dataclass(frozen=True)
class Point:
    """One cited statement: mrkdwn (already escaped), its source and the words quoted."""

    text: str
    source: Source
    quote: str = ""


@dataclass
class Answer:
    """A line that answers; more of the answer, each cited; what is near it on record; and the
    command that shows the whole card."""

    line: str
    cite: Point | None = None  # the line's own source (its text unused)
    points: list[Point] = field(default_factory=list)
    nearby: list[Point] = field(default_factory=list)
    more: str = ""


Intent = Callable[[Question, Store], "Answer | None"]


def examples(*asked: str) -> Callable[[Intent], Intent]:
    """Questions this intent answers: its documentation, and a test that it is the one chosen."""

    def attach(fn: Intent) -> Intent:
        fn.examples = asked  # type: ignore[attr-defined]
        return fn

    return attach


def _cite(source: Source, quote: str = "") -> Point:
    return Point("", source, quote)


def _now(q: Question) -> datetime:
    assert q.now is not None
    return q.now


def _yes(yes: bool, rest: str) -> str:
    return f"{'Yes' if yes else 'No'}: {rest}"


def echo(q: Question) -> str:
    """The question as asked, quoted (for a first line that says the records lack it)."""
    return f"“{esc(q.raw.strip()[:200])}”"


def tense(m: Meeting, now: datetime, past: str, present: str, future: str) -> str:
    """The verb for a meeting as of now: over, under way, or ahead (or undated and not held)."""
    bounds = m.bounds()
    if bounds is None:
        return past if m.status == "held" else future
    start, end = bounds
    return past if now >= end else present if now >= start else future


def where_when(m: Meeting, now: datetime) -> str:
    """ "1–10 February 2026, Guangzhou, People's Republic of China (held)"."""
    place = f", {esc(m.place)}" if m.place else ""
    return f"{esc(when(m))}{place} ({status_word(m, now)})"


def meeting_point(m: Meeting, now: datetime) -> Point:
    return Point(f"*{esc(title(m))}*: {where_when(m, now)}.", m.source, m.quote)


def _parent_point(store: Store, m: Meeting, now: datetime) -> list[Point]:
    parent = next((p for p in store.meetings() if p.id == m.parent_id), None)
    if parent is None:
        return []
    return [Point(f"It is held alongside or as part of *{esc(title(parent))}*: {where_when(parent, now)}.", parent.source, parent.quote)]  # fmt: skip


# -- time ----------------------------------------------------------------------------------------


@examples("how many days until the summit?", "countdown", "how long until SOM3")
def countdown(q: Question, store: Store) -> Answer | None:
    """Days to a meeting (or to the next SOM and Leaders' Summit); none for a month-only date."""
    if "countdown" not in q.asks:
        return None
    now = _now(q)
    targets = list(q.meetings[:1]) or [
        m for k in ([q.kind] if q.kind else ["som", "summit"]) if (m := store.next_meeting(now, k))
    ]
    if not targets:
        kinds = KIND_WORDS.get(q.kind or "", "meeting")
        return _no_upcoming(store, now, q.kind, f"No upcoming {kinds} is on record: nothing to count down to.")  # fmt: skip
    answer = Answer(_days_to(targets[0], now), cite=_cite(targets[0].source, targets[0].quote))
    answer.points += [Point(_days_to(m, now), m.source, m.quote) for m in targets[1:]]
    answer.more = "countdown"
    return answer


def _days_to(m: Meeting, now: datetime) -> str:
    name = f"*{esc(title(m))}*"
    if not m.dated or m.span.start is None:
        return f"No source on record gives the exact dates of {name}: it is in {esc(when(m))}, so there is nothing to count down to."  # fmt: skip
    days = days_until(m, now)
    if days < 0:
        return f"{name} was {esc(when(m))}: it has begun or is over ({status_word(m, now)})."
    place = f", {esc(m.place)}" if m.place else ""
    return f"{name} opens {in_days(days)}: {esc(when(m))}{place}."


@examples("next SOM?", "next meeting?", "when is the next summit", "what's coming up")
def next_meeting(q: Question, store: Store) -> Answer | None:
    """The next meeting on record (of the kind asked), or plainly that none is."""
    if "next" not in q.asks or q.meetings and not q.kind or q.year and q.year > _now(q).year:
        return None
    now = _now(q)
    what = KIND_WORDS.get(q.kind or "", "meeting")
    under_way = [m for m in store.ongoing(now) if (m.kind == q.kind if q.kind else not m.parent_id)]
    found = store.next_meeting(after=now, kind=q.kind)
    if found is None:
        answer = _no_upcoming(store, now, q.kind, f"No upcoming {what} is on record.")
    else:
        days = f": it opens {in_days(days_until(found, now))}" if found.dated else ""
        answer = Answer(
            f"The next {what} on record is *{esc(title(found))}*, {where_when(found, now)}{days}.",
            cite=_cite(found.source, found.quote),
        )
    for m in under_way:
        answer.points.insert(0, Point(f"Under way now: *{esc(title(m))}*, {where_when(m, now)}.", m.source, m.quote))  # fmt: skip
    answer.more = f"next-meeting {q.kind or ''}".strip()
    return answer


def _no_upcoming(store: Store, now: datetime, kind: str | None, line: str) -> Answer:
    answer = Answer(line)
    last = store.last_meeting(before=now, kind=kind)
    if last is not None:
        answer.nearby.append(
            Point(
                f"The last was *{esc(title(last))}*, {where_when(last, now)}.",
                last.source,
                last.quote,
            )  # fmt: skip
        )
    return answer


_TIME_OF_DAY = re.compile(r"\b(?:what|which) time\b|\btime of day\b|\bwhat hour\b|\bat what time\b")


@examples("what time does the summit start?", "what time is the BMC meeting")
def time_of_day(q: Question, store: Store) -> Answer | None:
    """No source gives a meeting's hours: say so, with its days."""
    if not _TIME_OF_DAY.search(" ".join(q.words)):
        return None
    m = q.meeting or (store.next_meeting(_now(q), q.kind) if q.kind else None)
    what = f" for *{esc(title(m))}*" if m else ""
    answer = Answer(f"No source on record gives a time of day{what}: the sources give days only.")
    if m is not None:
        answer.nearby.append(meeting_point(m, _now(q)))
        answer.more = f"meeting {m.short}"
    return answer


# -- members -------------------------------------------------------------------------------------

_UNKNOWN_ECONOMY = re.compile(
    r"^(?:is|are|was)\s+(?P<name>.+?)\s+(?:a|an)?\s*(?:apec\s+)?(?:member|in apec|part of apec)"
)


@examples("usa member of apec?", "is Taiwan in APEC", "is India a member", "how many members?")
def membership(q: Question, store: Store) -> Answer | None:
    """Whether an economy is a member, under APEC's official name; how many members there are."""
    bare = q.polar and (q.economies or q.non_members) and not q.asks and not q.meetings and not q.topic  # fmt: skip
    named = "name" in q.asks and q.economies and not q.people and not _title_asked(q)
    if not ("member" in q.asks or bare or named) or q.delegation or q.people or q.meetings:
        return None
    if q.non_members and q.economies and q.text.lower().find(q.non_members[0][0].lower()) < q.text.lower().find(q.economies[0][0].lower()):  # fmt: skip
        q = replace(q, economies=())  # the first named is the one asked about
    if q.economies:
        typed, economy = q.economies[0]
        note = "" if fold(typed) == fold(economy.name) else f" (you asked about {esc(typed)})"
        if "name" in q.asks:
            return Answer(f"The official APEC name{note.replace(' (you asked about', ' of').rstrip(')')} is *{esc(economy.name)}*.", cite=_cite(economy.source, economy.quote), more="members")  # fmt: skip
        line = f"Yes: *{esc(economy.name)}*{note} is an APEC member economy."
        if "when" in q.asks:
            return Answer(f"No source on record gives when *{esc(economy.name)}* joined APEC.", nearby=[Point(line[5:], economy.source, economy.quote)])  # fmt: skip
        return Answer(line, cite=_cite(economy.source, economy.quote), more="members")
    members = store.members()
    listing = _cite(members[0].source) if members else None
    if q.non_members:
        typed, name = q.non_members[0]
        line = f"No: *{esc(name)}* is not an APEC member economy; it is not among the {len(members)} members on record."  # fmt: skip
        return Answer(line, cite=listing, more="members")
    if q.topic:
        return None  # "how many original members": not what the list says
    if "count" in q.asks or q.has("which", "list", "members", "economies"):
        names = ", ".join(esc(e.name) for e in members)
        return Answer(f"APEC has *{len(members)} member economies*: {names}.", cite=listing)
    unknown = _UNKNOWN_ECONOMY.match(" ".join(q.words))
    if unknown:
        return Answer(f"No source on record names an economy called `{esc(unknown['name'][:60])}`; the {len(members)} members are listed by `/apec members`.")  # fmt: skip
    return None


@examples("how many events this year?", "how many times has the US hosted APEC?", "how many SOMs in 2026")  # fmt: skip
def counts(q: Question, store: Store) -> Answer | None:
    """A number the sources state ("three times", "about 300 events"), or that they state none."""
    if "count" not in q.asks or "member" in q.asks and not q.topic or "countdown" in q.asks:
        return None
    if q.delegation or q.meetings and not q.kind:
        return None
    counted = _counted(q)
    found = [f for f in fact_candidates(store, q) if _states_count(f.answer, counted, q.kind)]
    if not found and counted:
        found = [f for f in store.facts() if counted in _fact_terms(f) and _states_count(f.answer, counted, None)][:1]  # fmt: skip
    return fact_answer(q, store, found) if found else None


def _counted(q: Question) -> str:
    """What "how many" counts: the first telling word after it ("how many APEC events": event)."""
    joined = " ".join(q.words)
    found = re.search(r"\bhow many ((?:\w+ ?){1,3})", joined)
    if found is None:
        return ""
    words = [w for w in found[1].split() if w not in STOPWORDS]
    return stem(words[0]) if words else ""


def _states_count(answer: str, counted: str, kind: str | None) -> bool:
    """Whether a statement gives a number of the thing counted ("about 300 events", "three
    times", "Three Senior Officials' Meetings")."""
    things = [counted] if counted else []
    things += list(KIND_TOPIC.get(kind or "", ()))
    if not things:
        return bool(_NUMBER.search(answer))
    low = fold(answer)
    return any(re.search(rf"(?:{_NUMBER.pattern})(?:\W+\w+){{0,3}}?\W+{re.escape(t)}", low) for t in things)  # fmt: skip


_NUMBER = re.compile(r"\b(?!(?:19|20)\d\d\b)\d+\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|hundred|dozen)\b", re.IGNORECASE)  # fmt: skip
KIND_TOPIC = {"som": ("senior officials", "som"), "summit": ("summit",), "ministerial": ("ministerial",)}  # fmt: skip


# -- people --------------------------------------------------------------------------------------


@examples("who is Casey Mace?", "who is Lee?", "Who is Korea's Coordinator for Economic Diplomacy?")
def who_is(q: Question, store: Store) -> Answer | None:
    """Who someone is: their title and what the sources say they did."""
    titled = _title_asked(q)
    if titled and q.economies and not q.people:
        return Answer(f"No source on record names the {esc(q.economies[0][1].name)} {esc(titled)}.")
    if "title" in q.asks and q.people:
        return _person(q, store)
    if "who" not in q.asks or q.polar or q.asks & {"lead", "chair", "attend", "host"} and not q.people:  # fmt: skip
        return None
    if q.people:
        return _person(q, store)
    if q.others:
        return Answer(f"No source on record names {esc(q.others[0])}.")
    return None


_TITLES = ("senior official", "president", "prime minister", "foreign minister", "trade minister", "minister", "spokesperson", "ambassador")  # fmt: skip


def _title_asked(q: Question) -> str:
    """The title a question asks the holder of ("China's senior official", "who is Japan's
    trade minister"), if it asks for a person by title."""
    if not (q.has("who", "name", "whos") or "who" in q.asks):
        return ""
    joined = f" {' '.join(q.words)} "
    return next((t for t in _TITLES if f" {t} " in joined or f" {t}s " in joined), "")


def _person(q: Question, store: Store) -> Answer:
    if len(q.people) > 1 and len({p.name.split()[0] for p in q.people}) == 1:
        names = "; ".join(f"*{esc(p.name)}* ({esc(p.title)})" for p in q.people)
        return Answer(f"{len(q.people)} people on record go by that name: {names}.", points=[Point("", p.source, p.quote) for p in q.people])  # fmt: skip
    telling = _telling(q)
    p = max(q.people, key=lambda x: max((_overlap(r.role, telling) for r in x.roles), default=0))
    best = max(p.roles, key=lambda r: _overlap(r.role, telling), default=None)
    # a role answers when it says more of what was asked than the title does ("who is Korea's
    # Coordinator for Economic Diplomacy" asks the title, not the Economic Committee)
    if best is not None and _overlap(best.role, telling) > _overlap(p.title, telling):
        line = f"*{esc(p.name)}* {esc(best.role)}."
        return Answer(line, cite=_cite(best.source, best.quote), more=f"who {p.name}")
    economy = store.economy(p.economy_id)
    of = f" ({esc(economy.name)})" if economy else ""
    described = ", ".join(esc(x) for x in (p.title, p.organization) if x)
    line = f"*{esc(p.name)}*{of}: {described}." if described else f"No source on record gives a title or employer for *{esc(p.name)}*."  # fmt: skip
    answer = Answer(line, cite=_cite(p.source, p.quote), more=f"who {p.name}")
    roles = sorted(p.roles, key=lambda r: -_overlap(r.role, q.topic))
    answer.points += [Point(f"{esc(r.role[:1].upper() + r.role[1:])}.", r.source, r.quote) for r in roles[:3]]  # fmt: skip
    return answer


def _telling(q: Question) -> tuple[str, ...]:
    """The question's words that say something, its names and the plainest words aside."""
    names = {w for p in q.people for w in re.findall(r"[a-z]+", fold(p.name))}
    names |= set(q.place.split()) | {w for m in q.meetings for w in re.findall(r"[a-z0-9]+", fold(f"{m.short} {m.city}"))}  # fmt: skip
    plain = (STOPWORDS - {"before", "after", "during"}) | names | {"who", "is", "s", "person", "about", "tell"}  # fmt: skip
    return tuple(w for w in q.words if w not in plain and len(w) > 2)


def _overlap(text: str, words: tuple[str, ...]) -> int:
    have = {stem(w) for w in re.findall(r"[a-z0-9]+", fold(text))}
    return sum(
        1
        for w in words
        if stem(w) in have
        and stem(w) not in _NOUNS
        or any(stem(s) in have for s in SYNONYMS.get(w, ()))
    )


# A few words the sources put otherwise ("meet" is "consultations" in the Korean release).
SYNONYMS = {
    "significance": ("purpose", "why", "matter", "first"),
    "importance": ("purpose", "why", "matter"),
    "meet": ("consult", "consultation", "bilateral", "met"),
    "force": ("impose",),
    "ring": ("phone", "call", "spoke"),
    "meeting": ("consult", "consultation"),
    "talk": ("discuss", "conversation", "consult"),
    "side": ("alongside",),
    "events": ("alongside", "event"),
    "event": ("alongside",),
    "announce": ("announced", "said"),
    "invite": ("invitation", "invited"),
    "achieve": ("aim", "objective"),
    "trip": ("visit",),
    "part": ("member",),
}


@examples("who leads the US delegation?", "who will lead the US delegation to SOM3?", "what does the US delegation want at SOM1")  # fmt: skip
def delegation(q: Question, store: Store) -> Answer | None:
    """Who led an economy's delegation, who was in it, what it sought: for the meeting asked."""
    has_one = bool(q.economies) and bool(store.delegations(economy_id=q.economies[0][1].id))
    asks_it = q.delegation or (
        q.economies
        and ("lead" in q.asks or (q.meetings or has_one) and q.asks & {"priorities", "attend"})
    )
    if not asks_it or q.asks & {"agreed", "discussed", "chair"} or q.others:
        return None
    which_meetings = q.has("which") and q.has("meetings", "committee", "committees", "sessions")
    if q.topic and "priorities" not in q.asks and not which_meetings:
        return None
    if q.people and not q.asks & {"lead"}:
        return None
    if not q.economies:
        return _all_delegations(q, store)
    economy = q.economy
    assert economy is not None
    found = store.delegations(economy_id=economy.id)
    asked = [m for m in q.meetings if m.kind != "committee"] or list(q.meetings)
    if asked:
        found = [d for d in found if d.meeting.id in {m.id for m in asked}]
    if not found:
        return _no_delegation(q, store, economy.name, economy.id, asked)
    answer = _delegation_answer(q, found[-1])
    answer.more = f"delegation {economy.id} {found[-1].meeting.short}"
    return answer


def _delegation_answer(q: Question, d: Delegation) -> Answer:
    now = _now(q)
    name = f"the {esc(d.economy.name)} delegation to {esc(title(d.meeting))}"
    if "count" in q.asks:
        return _delegation_size(q, d, name)
    if "priorities" in q.asks and d.objectives:
        return _objectives(q, d, name)
    if q.has("which") and q.has("meetings", "committee", "committees", "sessions"):
        return _meetings_joined(q, d, name)
    verb = tense(d.meeting, now, "led", "leads", "is to lead")
    head = f"*{esc(d.head.name)}*" + (f" ({esc(d.head.title)})" if d.head and d.head.title else "")
    line = f"{head} {verb} {name}" if d.head else f"No source on record names the head of {name}"
    if q.polar and q.people and d.head:
        line = _yes(d.head.id == q.people[0].id, line)
    elif q.polar and "lead" not in q.asks:
        line = _yes(True, line)
    if (
        "lead" not in q.asks
        and q.has("members", "member", "other", "else", "who")
        and not d.members
    ):
        return Answer(f"No source on record names other members of {name}.", nearby=[Point(f"{line}.", d.source, d.quote)])  # fmt: skip
    if d.members and "lead" not in q.asks:
        others = ", ".join(f"*{esc(m.person.name)}*" for m in d.members)
        line += f"; it {tense(d.meeting, now, 'included', 'includes', 'includes')} {others}"
    return Answer(f"{line}.", cite=_cite(d.source, d.quote))


def _meetings_joined(q: Question, d: Delegation, name: str) -> Answer:
    """The meetings the delegation's people took part in, as the roles on record say."""
    people = ([d.head] if d.head else []) + [m.person for m in d.members]
    roles = [r for p in people if p for r in p.roles if r.meeting_id and _PRESENT.search(r.role)]
    if not roles:
        return Answer(f"No source on record names the meetings {name} took part in.")
    said = "; ".join(esc(r.role) for r in roles)
    answer = Answer(
        f"Of {name}, the sources say: {said}.", cite=_cite(roles[0].source, roles[0].quote)
    )
    answer.points += [Point("", r.source, r.quote) for r in roles[1:]]
    return answer


def _objectives(q: Question, d: Delegation, name: str) -> Answer:
    if q.polar and q.topic:
        hits = [o for o in d.objectives if _overlap(o.text, q.topic) >= max(1, len(q.topic) - 1)]
        if hits:
            return Answer(_yes(True, f"{name} set out to {esc(hits[0].text[:1].lower() + hits[0].text[1:])}."), cite=_cite(hits[0].source, hits[0].quote))  # fmt: skip
    aims = "; ".join(esc(o.text[:1].lower() + o.text[1:]) for o in d.objectives)
    answer = Answer(f"The stated objectives of {name}: {aims}.", cite=_cite(d.source))
    answer.points += [Point("", o.source) for o in d.objectives]
    return answer


def _delegation_size(q: Question, d: Delegation, name: str) -> Answer:
    answer = Answer(f"No source on record gives the size of {name}.", more=f"delegation {d.economy.id}")  # fmt: skip
    people = [d.head] if d.head else []
    people += [m.person for m in d.members]
    if people:
        names = ", ".join(f"*{esc(p.name)}*" for p in people if p)
        answer.nearby.append(Point(f"The sources name {names} in it.", d.source, d.quote))
    return answer


def _no_delegation(q: Question, store: Store, name: str, economy_id: str, asked: list[Meeting]) -> Answer:  # fmt: skip
    what = {"lead": "names the head of", "priorities": "states the objectives of", "count": "gives the size of"}  # fmt: skip
    verb = next((v for k, v in what.items() if k in q.asks), "lists")
    to = f" to {esc(title(asked[0]))}" if asked else ""
    answer = Answer(f"No source on record {verb} the {esc(name)} delegation{to}.", more=f"delegation {economy_id}")  # fmt: skip
    for d in store.delegations(economy_id=economy_id):
        head = f", led by *{esc(d.head.name)}*" if d.head else ""
        answer.nearby.append(Point(f"The {esc(name)} delegation to {esc(title(d.meeting))}{head}.", d.source, d.quote))  # fmt: skip
    if not answer.nearby:
        for d in store.delegations():
            answer.nearby.append(Point(f"A delegation on record: {esc(d.economy.name)} to {esc(d.meeting.short)}.", d.source, d.quote))  # fmt: skip
    return answer


def _all_delegations(q: Question, store: Store) -> Answer | None:
    found = store.delegations()
    if q.meetings:
        found = [d for d in found if d.meeting.id in {m.id for m in q.meetings}]
    to = f" to {esc(title(q.meetings[0]))}" if q.meetings else ""
    if not found:
        return Answer(f"No source on record names a delegation{to}.")
    if "count" in q.asks:
        answer = Answer(f"No source on record gives how many delegations or delegates attended{to}; the sources name {len(found)} delegation{'s' if len(found) > 1 else ''}.")  # fmt: skip
        answer.nearby += [Point(f"The {esc(d.economy.name)} delegation to {esc(d.meeting.short)}.", d.source, d.quote) for d in found]  # fmt: skip
        return answer
    heads = [f"*{esc(d.head.name)}* the {esc(d.economy.name)} delegation to {esc(d.meeting.short)}" for d in found if d.head]  # fmt: skip
    line = "Delegations on record, with their heads: " + "; ".join(heads) + "."
    answer = Answer(line if heads else "No source on record names the heads of these delegations.")
    answer.points += [Point("", d.source, d.quote) for d in found]
    answer.more = "delegations"
    return answer


# Roles that put someone at a meeting (being invited to one does not).
_PRESENT = re.compile(r"\b(?:led|leads|presided|took part|participated|attended|member of|held bilateral|chaired|spoke at)\b")  # fmt: skip


@examples("is ruth perry on the US team?", "will trump attend the shenzhen summit?", "who attended SOM1")  # fmt: skip
def attendance(q: Question, store: Store) -> Answer | None:
    """Whether someone was at a meeting or in a delegation; who the sources place at a meeting."""
    polar_place = q.polar and q.people and (q.delegation or q.economies or q.meetings)
    if "attend" not in q.asks and not polar_place or q.asks & {"lead", "chair"}:
        return None
    if q.topic and not q.others:
        return None
    if q.others:
        return _unknown_attendee(q, q.others[0])
    if not q.people:
        return _who_was_at(q, store) if q.meetings else None
    person = q.people[0]
    places = _placed(store, person, _now(q))
    asked = [p for p in places if _matches(p, q)]
    if asked:
        _, text, point = asked[0]
        return Answer(f"Yes: {text}.", cite=point, more=f"who {person.name}")
    target = _target(q)
    answer = Answer(f"No source on record places *{esc(person.name)}* {target}.", more=f"who {person.name}")  # fmt: skip
    answer.nearby += [Point(f"{text}.", point.source, point.quote) for _, text, point in places]
    answer.nearby += [Point(f"*{esc(person.name)}* {esc(r.role)}.", r.source, r.quote) for r in person.roles if not _PRESENT.search(r.role) and r.meeting_id in {m.id for m in q.meetings}]  # fmt: skip
    return answer


def _target(q: Question) -> str:
    if q.meetings:
        return f"at *{esc(title(q.meetings[0]))}*"
    if q.economies:
        return f"in the {esc(q.economies[0][1].name)} delegation"
    return "at a meeting"


def _matches(place: tuple[Meeting, str, Point], q: Question) -> bool:
    meeting, text, _ = place
    if q.meetings:
        asked = {m.id for m in q.meetings}
        if meeting.id not in asked and meeting.parent_id not in asked:
            return False
    return not q.economies or esc(q.economies[0][1].name) in text


def _placed(store: Store, p: Person, now: datetime) -> list[tuple[Meeting, str, Point]]:
    """Where the sources place a person: delegations led or joined, and roles at meetings."""
    out = []
    for d in store.delegations():
        if d.head and d.head.id == p.id:
            verb = tense(d.meeting, now, "led", "leads", "is to lead")
            out.append((d.meeting, f"*{esc(p.name)}* {verb} the {esc(d.economy.name)} delegation to {esc(title(d.meeting))}", Point("", d.source, d.quote)))  # fmt: skip
        for m in d.members:
            if m.person.id == p.id:
                was = tense(d.meeting, now, "was", "is", "is to be")
                out.append((d.meeting, f"*{esc(p.name)}* {was} a member of the {esc(d.economy.name)} delegation to {esc(title(d.meeting))}", Point("", m.source, m.quote)))  # fmt: skip
    meetings = {m.id: m for m in store.meetings()}
    for role in p.roles:
        if role.meeting_id in meetings and _PRESENT.search(role.role):
            out.append((meetings[role.meeting_id], f"*{esc(p.name)}* {esc(role.role)}", Point("", role.source, role.quote)))  # fmt: skip
    return out


def _unknown_attendee(q: Question, who: str) -> Answer:
    now = _now(q)
    if q.meetings:
        m = q.meetings[0]
        verb = tense(m, now, "attended", "attends", "will attend")
        answer = Answer(f"No source on record says whether {esc(who)} {verb} *{esc(title(m))}*.")
        answer.nearby.append(meeting_point(m, now))
        answer.more = f"meeting {m.short}"
        return answer
    return Answer(f"No source on record names {esc(who)}.")


def _who_was_at(q: Question, store: Store) -> Answer:
    m = q.meetings[0]
    ids = {m.id} | {p.id for p in store.parts(m.id)}
    found = [(text, point) for p in store.people() for meeting, text, point in _placed(store, p, _now(q)) if meeting.id in ids]  # fmt: skip
    if "count" in q.asks or not found:
        verb = tense(m, _now(q), "attended", "attend", "will attend")
        what = "how many attended" if "count" in q.asks else f"who {verb}"
        answer = Answer(f"No source on record says {what} *{esc(title(m))}*.", more=f"meeting {m.short}")  # fmt: skip
        answer.nearby += [Point(f"{t}.", p.source, p.quote) for t, p in found] or [meeting_point(m, _now(q))]  # fmt: skip
        return answer
    answer = Answer(f"At *{esc(title(m))}*, the sources name: " + "; ".join(t for t, _ in found) + ".", more=f"meeting {m.short}")  # fmt: skip
    answer.points += [Point("", p.source, p.quote) for _, p in found]
    return answer


# Verbs of what people did that the roles word otherwise ("met" the Japanese: consultations).
ROLE_SYNONYMS = {"met": ("consult", "consultation", "bilateral")}
_CHAIR_WORDS = ("presid", "chair")
_NOUNS = frozenset(
    {"meet"}
)  # "meet" is "meeting" stemmed: a role at a meeting is not a meeting held


@examples("who chaired the SOM1 plenary?", "who presided over the BMC meeting?", "Did Park Jong-han preside over the BMC meeting?")  # fmt: skip
def doers(q: Question, store: Store) -> Answer | None:
    """Who did something at a meeting (chaired, presided, announced...), from roles and facts."""
    verbs = [stem(w) for w in q.topic] + (list(_CHAIR_WORDS) if "chair" in q.asks else [])
    who = q.words[:1] in (("who",), ("which",)) or q.has("who") or q.polar and (q.people or q.economies)  # fmt: skip
    if not q.meetings or not verbs or not who or q.asks & {"when", "lead", "attend"} and "chair" not in q.asks:  # fmt: skip
        return None
    m = q.meetings[0]
    found = _roles_doing(store, [m, *store.parts(m.id)] if "chair" not in q.asks else [m], verbs)
    facts = [(Point(esc(f.answer), f.source, f.quote), "") for f in store.facts() if _says(f.answer, verbs) and _fact_names(f, m)]  # fmt: skip
    present = q.has("chairs", "chairing", "economy", "country", "member") or q.economies and not q.people  # fmt: skip
    done = (facts + found) if present else (found + facts)
    if done:
        return _doer_answer(q, done, m)
    if "chair" not in q.asks:
        return None
    answer = Answer(f"No source on record names who chaired *{esc(title(m))}*.", more=f"meeting {m.short}")  # fmt: skip
    for part in store.parts(m.id):
        answer.nearby += [p for p, _ in _roles_doing(store, [part], list(_CHAIR_WORDS))]
    answer.nearby += [Point(esc(f.answer), f.source, f.quote) for f in store.facts() if "chairs the year" in fold(f.answer)]  # fmt: skip
    return answer


def _doer_answer(q: Question, done: list[tuple[Point, str]], m: Meeting) -> Answer:
    (first, doer), rest = done[0], [p for p, _ in done[1:]]
    line = first.text
    if q.polar:
        people = all(fold(p.name) in fold(line) for p in q.people)
        economies = all(e.id == doer or any(fold(n) in fold(line) for n in (e.name, typed)) for typed, e in q.economies)  # fmt: skip
        if not (people and economies) and not _CHAIRED.search(line):
            return Answer(f"No source on record says so: {echo(q)}", nearby=[first, *rest])
        line = _yes(people and economies, line)
    return Answer(line, cite=first, points=rest, more=f"meeting {m.short}")


# Roles only one holds at a time: someone else named in one means "no".
_CHAIRED = re.compile(r"\b(?:presid\w*|chair\w*|led|leads)\b", re.IGNORECASE)


def _says(text: str, verbs: list[str]) -> bool:
    have = {stem(w) for w in content_words(text)}
    said = {**SYNONYMS, **ROLE_SYNONYMS}
    meant = {v for v in verbs if v not in _NOUNS} | {stem(s) for v in verbs for s in said.get(v, ())}  # fmt: skip
    return any(v in have or len(v) >= 5 and any(h.startswith(v) for h in have) for v in meant)


def _roles_doing(store: Store, meetings: list[Meeting], verbs: list[str]) -> list[tuple[Point, str]]:  # fmt: skip
    """(what each did, their economy) for the roles at these meetings that do one of the verbs."""
    ids = {m.id for m in meetings}
    return [
        (Point(f"*{esc(p.name)}* ({esc(p.title)}) {esc(r.role)}.", r.source, r.quote), p.economy_id)
        for p in store.people()
        for r in p.roles
        if r.meeting_id in ids and _says(r.role, verbs)
    ]


def _fact_names(f: Fact, m: Meeting) -> bool:
    names = {fold(m.short)} | {fold(w) for w in re.findall(r"\(([A-Z]{2,})\)", m.name)}
    names |= {fold(n) for n in re.findall(r"\d+\w* APEC Economic Leaders' Meeting", m.name)}
    return any(fold(k) in names for k in f.keywords) or any(n in fold(f.answer) for n in names if len(n) > 4)  # fmt: skip


# -- what was said -------------------------------------------------------------------------------

SAID = {  # word stems that say something was said, agreed or sought
    "discussed": "discuss talk conversation dialogue call raise raised highlight emphasi emphasized stress invit congratulat assur reaffirm request align agreed cover underscor introduc announc outlin unveil",  # noqa: E501
    "agreed": "agreed adopted endorsed approved declared decided concluded reaffirmed",
    "priorities": "priorit theme objective aims focus deliverable plans agenda seek goal press push",
    "any": "",
}
_HEDGE = re.compile(r"\b(?:should|if|would|could|may|might|expect\w*|hopes?|plans? to|invited to|invitation to|asked to)\b", re.IGNORECASE)  # fmt: skip


@examples("what did Lee and Xi discuss?", "what was agreed at SOM2?", "what are china's priorities for apec 2026")  # fmt: skip
def statements(q: Question, store: Store) -> Answer | None:
    """Everything the sources say was discussed, agreed or prioritised, sentence by sentence."""
    asked = next((a for a in ("agreed", "discussed", "priorities") if a in q.asks), None)
    if "theme" in q.asks:
        return None  # the theme is a fact on record
    if asked is None and q.polar and q.people and q.topic:
        asked = "any"
    form = q.words[:1] in (("what",), ("whats",), ("which",)) or q.polar or not set(q.words) & {"when", "where", "who", "how", "why", "which"}  # fmt: skip
    form = form and "when" not in q.asks
    if asked in ("priorities", "discussed") and not q.polar and not (q.meetings or q.people or q.economies) and q.has("host"):  # fmt: skip
        q = _with_host(q, store)
    if asked is None or not form or not (q.meetings or q.people or q.economies):
        return None
    if q.polar and any(w.isdigit() and len(w) < 4 for w in q.words):
        return None  # a number to check: the facts say it or not
    found = _gather(store, q, asked)
    if q.polar:
        return _said_so(q, found)
    if not found:
        verb = {"agreed": "was agreed at", "discussed": "was discussed by", "priorities": "the priorities of"}[asked]  # fmt: skip
        line = f"No source on record says what {verb} {_subject(q)}." if asked != "priorities" else f"No source on record states {verb} {_subject(q)}."  # fmt: skip
        answer = Answer(line)
        answer.nearby += [meeting_point(m, _now(q)) for m in q.meetings[:1]]
        return answer
    first, *rest = found
    return Answer(first.text, cite=first, points=rest)


def _with_host(q: Question, store: Store) -> Question:
    """ "the host": this year's (or the year asked) host economy."""
    summit = of_year(store, "summit", q.year or _now(q).year, None)
    economy = store.economy(summit.host_id) if summit else None
    return replace(q, economies=((economy.name, economy),)) if economy else q


def _said_so(q: Question, found: list[Point]) -> Answer:
    """A yes only where a sentence says it outright: the question's first verb not hedged
    ("should Xi accept..." says nothing of whether he did), unless the question hedges too."""
    needed = [w for w in q.topic if w not in ("phone", "call")]
    for p in found:
        if needed and _overlap(p.quote, tuple(needed)) >= len(needed) and _verdict(p.quote, tuple(needed[:1]), q) is True:  # fmt: skip
            return Answer(_yes(True, p.text), cite=p, points=[x for x in found if x is not p][:3])
    answer = Answer(f"No source on record says so: {echo(q)}")
    answer.nearby += found[:4]
    return answer


def _subject(q: Question) -> str:
    if q.meetings:
        return f"*{esc(title(q.meetings[0]))}*"
    parts = [esc(p.name) for p in q.people] + [esc(e.name) for _, e in q.economies]
    return " and ".join(parts) or "it"


def _subject_names(q: Question, store: Store | None = None) -> list[str]:
    names = []
    for m in q.meetings:
        names += [m.short, m.name]
    for p in q.people:
        family = p.name.split()[0] if p.economy_id in ("KR", "CN", "JP") else p.name.split()[-1]
        names += [p.name, family, f"President {family}"]
    theirs = {p.economy_id for p in q.people}
    for typed, e in q.economies:
        if e.id in theirs:
            continue
        names += [e.name, typed]
        if store is not None:
            names += [n for n, i in store.names("economy").items() if i == e.id and len(n) > 3]
    return [n for n in dict.fromkeys(names) if n]


def _gather(store: Store, q: Question, asked: str) -> list[Point]:
    """Sentences that name the subject and say what was asked, near-repeats dropped; a sentence
    that goes on from one taken ("They will cover...") comes with it."""
    names = _subject_names(q, store)
    said = re.compile(rf"\b(?:{'|'.join(SAID[asked].split())})\w*" if SAID[asked] else "", re.IGNORECASE)  # fmt: skip
    mentions = _any_of(_subject_names(replace(q, meetings=()), store) or names)
    of_meeting = _any_of(_subject_names(replace(q, people=(), economies=()))) if q.meetings else None  # fmt: skip
    together = [_any_of(group) for group in _economies_of_people(q, store)]
    theirs = {p.source.id for p in q.people} | {r.source.id for p in q.people for r in p.roles}
    sources = _sources_about(store, q.meetings[0]) if q.meetings else None
    others = {p.name for p in store.people()} - {p.name for p in q.people}
    found: list[Sentence] = []
    taken: tuple[int, int] = (-1, -1)
    for s in store.sentences_naming(names + [n for g in _economies_of_people(q, store) for n in g]):
        if (s.passage_id, s.seq - 1) == taken and _GOES_ON.match(s.text):
            found.append(s)
            taken = (s.passage_id, s.seq)
            continue
        if q.year and s.source.reference_date.year not in (q.year, q.year - 1) and str(q.year) not in s.text:  # fmt: skip
            continue
        if sources is not None and s.source.id not in sources and not (of_meeting and of_meeting.search(s.text)):  # fmt: skip
            continue
        named = mentions.search(s.text) or (together and s.source.id in theirs and all(t.search(s.text) for t in together))  # fmt: skip
        if not (named and said.search(s.text)) or _other_person(s, others) or _headline(s):
            continue
        if asked == "agreed" and _HEDGE.search(s.text):
            continue
        if not any(_same(s.text, f.text) for f in found):
            found.append(s)
            taken = (s.passage_id, s.seq)
    found = found[:MAX_POINTS]
    best = max(found, key=lambda s: _score(s.text, q), default=None)
    ordered = [best] + [s for s in found if s is not best] if best else []
    return [Point(esc(s.text), s.source, s.text) for s in ordered]


_GOES_ON = re.compile(r"^(?:They|These|This|It|The latter|Such|Both)\b")


MAX_POINTS = 10


def _sources_about(store: Store, m: Meeting) -> set[str]:
    """The sources that report a meeting: its own record's, and those of delegations and roles at it."""
    ids = {m.source.id}
    ids |= {d.source.id for d in store.delegations(meeting_id=m.id)}
    ids |= {r.source.id for p in store.people() for r in p.roles if r.meeting_id == m.id}
    return ids


def _any_of(names: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(rf"\b{re.escape(n)}\b" for n in names), re.IGNORECASE)


def _economies_of_people(q: Question, store: Store) -> list[list[str]]:
    """For two people or more of different economies: each economy's names ("China and South
    Korea emphasized..." is what Lee and Xi said together)."""
    ids = list(dict.fromkeys(p.economy_id for p in q.people if p.economy_id))
    if len(ids) < 2:
        return []
    names = store.names("economy")
    return [[n for n, i in names.items() if i == e and len(n) > 3] for e in ids]


def _other_person(s: Sentence, others: set[str]) -> bool:
    return any(name in s.text for name in others)


def _headline(s: Sentence) -> bool:
    return fold(s.text).startswith(fold(s.source.title)[:60])


def _same(a: str, b: str) -> bool:
    """Two sentences saying the same thing in other words (a summary and the body it sums up)."""
    one, two = {stem(w) for w in content_words(a)}, {stem(w) for w in content_words(b)}
    return fuzz.token_set_ratio(a, b) >= 85 or len(one & two) >= 0.6 * min(len(one), len(two))


def _score(text: str, q: Question) -> float:
    have = {stem(w) for w in content_words(text)}
    both = 2 if q.people and all(p.name.split()[0] in text for p in q.people) else 0
    return len(have & {stem(w) for w in q.words}) + both


# -- hosts and meetings --------------------------------------------------------------------------


@examples("who hosted APEC in 2025?", "who is hosting this year", "Is the ROK hosting APEC this year?")  # fmt: skip
def host(q: Question, store: Store) -> Answer | None:
    """The economy hosting APEC in a year: the host of that year's Leaders' Meeting."""
    hosting = "host" in q.asks or "chair" in q.asks and q.has("apec") and not q.meetings
    hosting = hosting and not q.asks & {
        "where",
        "venue",
        "priorities",
        "discussed",
        "agreed",
        "when",
    }
    hosting = hosting and not q.has("city", "cities")
    summit = all(m.kind == "summit" for m in q.meetings)
    counting = q.has("times", "twice", "once", "often") or any(w.isdigit() and len(w) < 4 for w in q.words)  # fmt: skip
    if not hosting or q.meetings and not (q.polar or summit) or "count" in q.asks or counting:
        return None
    claims = q.polar or not set(q.words) & {"when", "where", "who", "how", "why", "which", "what"}
    asks_which = q.has("which", "who", "whos") or q.words[:1] == ("what",)
    if q.economies and not claims and not asks_which:
        return None
    if q.meetings and q.year is None:
        q = replace(q, year=q.meetings[0].year)
    now = _now(q)
    year = q.year or (now.year - 1 if q.has("previous", "last", "former") else now.year)
    summit = of_year(store, "summit", year, None)
    if summit is None or not summit.host_name:
        return Answer(f"No source on record names the host of APEC {year}.")
    verb = "hosted" if year < now.year else "hosts"
    facts = [f for f in store.facts() if "host" in f.id and str(year) in f.id]
    cite = _cite(facts[0].source, facts[0].quote) if facts else _cite(summit.source, summit.quote)
    line = f"*{esc(summit.host_name)}* {verb} APEC {year}."
    if claims and q.economies and not asks_which:
        line = _yes(q.economies[0][1].id == summit.host_id, line)
    return Answer(line, cite=cite, points=[meeting_point(summit, now)])


# What a question about a meeting may ask and still be answered by its dates and place.
_MEETS = frozenset("meet meets met meeting convene convenes convened gather gathers number edition called".split())  # fmt: skip
_MEETING_ASKS = frozenset({"when", "where", "status", "day", "define", "next", "venue", "host"})
_STATUS = re.compile(r"\b(?:held|happen\w*|take place|took place|taken place|underway|under way|on now|ongoing|over|finished|started|begun|cancel\w*|confirmed|postponed|still on|(?:go|goes|went|gone|going) ahead)\b")  # fmt: skip


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
        host = f"; it is hosted by *{esc(m.host_name)}*" if m.host_name else ""
        return Answer(f"No source on record names the city of *{esc(title(m))}*{host}.", cite=_cite(m.source, m.quote), more=f"meeting {m.short}")  # fmt: skip
    if q.asks & {"when", "day"} and not m.placed or "day" in q.asks and not m.dated:
        return _no_dates(q, store, m)
    answer = Answer(f"*{esc(title(m))}*: {where_when(m, _now(q))}.", cite=_cite(m.source, m.quote), more=f"meeting {m.short}")  # fmt: skip
    answer.points += _parts(store, m)
    return answer


def _parts(store: Store, m: Meeting) -> list[Point]:
    parts = store.parts(m.id)
    if not parts:
        return []
    names = ", ".join(f"*{esc(p.short)}* ({esc(p.name)})" for p in parts)
    return [Point(f"Held with it: {names}.", parts[0].source, "")]


def _no_dates(q: Question, store: Store, m: Meeting) -> Answer:
    exact = "exact dates" if m.placed else "dates"
    answer = Answer(f"No source on record gives the {exact} of *{esc(title(m))}*" + (f"; it is known only as {esc(when(m))}." if m.placed else "."), more=f"meeting {m.short}")  # fmt: skip
    answer.nearby.append(meeting_point(m, _now(q)))
    answer.nearby += _parent_point(store, m, _now(q))
    return answer


def _no_venue(q: Question, m: Meeting) -> Answer:
    city = f"; it is in {esc(m.place)}" if m.city else ""
    answer = Answer(f"No source on record names the venue of *{esc(title(m))}*{city}.", more=f"meeting {m.short}")  # fmt: skip
    answer.nearby.append(meeting_point(m, _now(q)))
    return answer


def _checks(q: Question, store: Store, m: Meeting) -> Answer | None:
    """A yes or no where the question puts the meeting somewhere, at some time, in some state."""
    low = " ".join(q.words)
    wh = set(q.words) & {"when", "where", "what", "which", "who", "how"}
    if not q.polar and (wh or not (q.place or q.period or q.economies or _STATUS.search(low))):
        return None
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
    now = _now(q)
    verb = tense(m, now, "was", "is", "is")
    if q.economies:
        typed, economy = q.economies[0]
        yes, place = m.host_id == economy.id, economy.id
    else:
        asked = q.place or (q.non_members[0][0] if q.non_members else "")
        yes, place = bool(m.city) and fuzz.ratio(fold(asked), fold(m.city)) >= 85, ""
        if not m.city:
            return Answer(f"No source on record names the city of *{esc(title(m))}*.", cite=_cite(m.source, m.quote), points=[meeting_point(m, now)])  # fmt: skip
    where = esc(m.place) if m.place else "a place no source names"
    answer = Answer(_yes(yes, f"*{esc(title(m))}* {verb} in {where} ({esc(when(m))}).") , cite=_cite(m.source, m.quote), more=f"meeting {m.short}")  # fmt: skip
    if not yes and place:
        for other in store.meetings():
            if other.host_id == place and other.kind == m.kind and not other.parent_id:
                answer.nearby.append(Point(f"*{esc(other.host_name)}* hosted *{esc(title(other))}* ({esc(when(other))}).", other.source, other.quote))  # fmt: skip
    return answer


def _is_it_during(q: Question, m: Meeting) -> Answer:
    assert q.period is not None and q.period.start is not None and q.period.end is not None
    if not m.placed:
        return Answer(f"No source on record gives the dates of *{esc(title(m))}*.", points=[meeting_point(m, _now(q))])  # fmt: skip
    inside = m.span.start is not None and q.period.start <= m.span.start and (m.span.end or m.span.start) <= q.period.end  # fmt: skip
    overlaps = m.span.overlaps(q.period.start, q.period.end)
    if overlaps and not inside and m.month_only:
        return Answer(f"No source on record gives the exact dates of *{esc(title(m))}*: it is known only as {esc(when(m))}.", cite=_cite(m.source, m.quote))  # fmt: skip
    line = _yes(overlaps, f"*{esc(title(m))}* is {esc(when(m))}" + ("" if overlaps else f", not {esc(period_label(q.period))}") + ".")  # fmt: skip
    return Answer(line, cite=_cite(m.source, m.quote), more=f"meeting {m.short}")


def _status(q: Question, m: Meeting, low: str) -> Answer:
    now = _now(q)
    state = tense(m, now, "over", "under way", "ahead")
    place = f" in {esc(m.place)}" if m.place else ""
    cite = _cite(m.source, m.quote)
    if re.search(r"cancel|postpon", low):
        return Answer(_yes(m.status == "cancelled", f"*{esc(title(m))}* is {status_word(m, now)} ({esc(when(m))})."), cite=cite)  # fmt: skip
    if "confirmed" in low:
        firm = m.status in ("held", "scheduled") and m.dated
        return Answer(_yes(firm, f"*{esc(title(m))}*: {where_when(m, now)}."), cite=cite)
    if re.search(r"underway|under way|on now|ongoing|still on", low):
        return Answer(_yes(state == "under way", f"*{esc(title(m))}* is {state}: {esc(when(m))}{place}."), cite=cite)  # fmt: skip
    if state == "over" and m.status == "scheduled":
        return Answer(f"No source on record reports *{esc(title(m))}* held; it was scheduled for {esc(when(m))}{place}.", cite=cite)  # fmt: skip
    if state == "over":
        how = " (as reported; not confirmed by an official release)" if m.status == "reported" else ""  # fmt: skip
        return Answer(_yes(True, f"*{esc(title(m))}* was held{how}: {esc(when(m))}{place}."), cite=cite)  # fmt: skip
    return Answer(_yes(False, f"*{esc(title(m))}* is {state if state != 'ahead' else 'still ahead'}: {esc(when(m))}{place}."), cite=cite)  # fmt: skip


def _exists(q: Question, store: Store, m: Meeting) -> Answer | None:
    year = q.year or _now(q).year
    if m.year is not None and m.year != year:
        return Answer(f"No source on record names such a meeting in {year}.", nearby=[meeting_point(m, _now(q))])  # fmt: skip
    if m.status == "cancelled":
        return Answer(
            _yes(False, f"*{esc(title(m))}* is cancelled."), cite=_cite(m.source, m.quote)
        )
    answer = Answer(_yes(True, f"*{esc(title(m))}*: {where_when(m, _now(q))}."), cite=_cite(m.source, m.quote), more=f"meeting {m.short}")  # fmt: skip
    answer.points += _parent_point(store, m, _now(q))
    return answer


_ALONGSIDE = frozenset("alongside side events event else parts part related together margins sidelines fringes".split())  # fmt: skip


@examples("summit side events", "what is held alongside the Leaders' Meeting?", "will foreign and trade ministers meet alongside AELM?")  # fmt: skip
def parts(q: Question, store: Store) -> Answer | None:
    """What is held alongside or as part of a meeting: its parts on record."""
    named = {w for m in q.meetings for n in store.meeting_names(m.id) for w in re.findall(r"[a-z0-9]+", fold(n))}  # fmt: skip
    if not q.meetings or not (set(q.words) & _ALONGSIDE) - named or set(q.topic) - _ALONGSIDE - _MEETS:  # fmt: skip
        return None
    if q.delegation or q.has("who") or q.people:
        return None
    whole = next((m for m in q.meetings if store.parts(m.id)), None)
    part = next((m for m in q.meetings if m.parent_id), None)
    if whole is None and part is None:
        return None
    if part is not None and (q.polar or whole is None):
        parent = next(p for p in store.meetings() if p.id == part.parent_id)
        own = "" if not part.placed else f", {esc(when(part))}"
        line = f"*{esc(title(part))}*{own} is held alongside or as part of *{esc(title(parent))}* ({esc(when(parent))})."  # fmt: skip
        return Answer(_yes(True, line) if q.polar else line, cite=_cite(part.source, part.quote), more=f"meeting {parent.short}")  # fmt: skip
    assert whole is not None
    found = store.parts(whole.id)
    items = "; ".join(f"*{esc(title(p))}* ({esc(when(p))})" for p in found)
    answer = Answer(f"Held alongside or as part of *{esc(title(whole))}*: {items}.", more=f"meeting {whole.short}")  # fmt: skip
    answer.points += [Point("", p.source, p.quote) for p in found]
    return answer


@examples("list the 2026 SOMs", "SOM schedule 2026", "ministerial calendar")
def kind_list(q: Question, store: Store) -> Answer | None:
    """The meetings of one kind in a year (this year unless another is named)."""
    asks_list = "count" in q.asks or q.has("list", "schedule", "calendar", "all", "plan", "planned")
    if not q.kind or not asks_list or q.meetings and not q.has("list", "all", "calendar", "schedule"):  # fmt: skip
        return None
    now = _now(q)
    year = q.year or now.year
    found = [m for m in store.meetings() if m.kind == q.kind and m.year == year and not m.parent_id]
    what = KIND_WORDS.get(q.kind, "meeting")
    if not found:
        return Answer(f"No {what} for {year} is on record.", more="meetings")
    items = "; ".join(f"*{esc(m.short)}* ({esc(when(m))}{', ' + esc(m.city) if m.city else ''})" for m in found)  # fmt: skip
    line = f"{len(found)} {what}{'s' if len(found) > 1 else ''} on record for {year}: {items}."
    return Answer(line, points=[Point("", m.source, m.quote) for m in found], more=f"meetings {year}")  # fmt: skip


@examples("meetings in May", "what's on next month", "schedule for august")
def period(q: Question, store: Store) -> Answer | None:
    """The meetings on record in a period."""
    if q.period is None or q.meetings or not q.has("meetings", "meeting", "calendar", "schedule", "on", "events"):  # fmt: skip
        return None
    if q.polar or set(q.topic) - {"events", "event", "calendar", "schedule", "on"}:
        return None
    p = q.period
    if p.start is None or p.end is None:
        return None
    found = [m for m in store.meetings_between(p.start, p.end) if not m.parent_id]
    label = esc(period_label(p))
    if not found:
        return Answer(f"No meetings on record for {label}.", more="meetings")
    items = "; ".join(f"*{esc(title(m))}* ({esc(when(m))})" for m in found)
    line = f"{len(found)} meeting{'s' if len(found) > 1 else ''} on record for {label}: {items}."
    return Answer(line, points=[Point("", m.source) for m in found], more=f"meetings {p.text}")


@examples("ruth perry", "tell me about Park Jong-han")
def person(q: Question, store: Store) -> Answer | None:
    """Anything else about someone named: who they are and what the sources say they did."""
    if not q.people or q.topic and not any(_overlap(r.role, q.topic) for p in q.people for r in p.roles):  # fmt: skip
        return None
    if "when" in q.asks and not any(find_dates(r.role, date_of(q)) for p in q.people for r in p.roles if _overlap(r.role, q.topic)):  # fmt: skip
        return None
    if q.topic and fact_candidates(store, q):
        return None
    return _person(q, store)


# -- facts ---------------------------------------------------------------------------------------


@examples("What is the theme of APEC 2026?", "what are the bogor goals", "how does APEC make decisions", "Who announced the dates of the 2026 Leaders' Meeting?")  # fmt: skip
def facts(q: Question, store: Store) -> Answer | None:
    """A fact on record whose keywords the question holds, for the year and economy asked."""
    defined = definition(store, q)
    found = [defined] if defined else fact_candidates(store, q)
    if not found:
        return None
    return fact_answer(q, store, found)


def fact_answer(q: Question, store: Store, found: list[Fact]) -> Answer:
    """The first fact as the answer (yes or no where it says so outright), or why it is not one."""
    misfit = _misfit(q, store, found[0])
    if misfit:
        return Answer(misfit, nearby=[Point(esc(f.answer), f.source, f.quote) for f in found[:1]])
    first, *rest = found
    line = esc(first.answer)
    verdict = _verdict(first.answer, q.topic, q) if q.polar else None
    if q.polar and verdict is None and q.topic:
        return Answer(f"No source on record says so: {echo(q)}", nearby=[Point(esc(f.answer), f.source, f.quote) for f in found])  # fmt: skip
    if verdict is not None:
        line = _yes(verdict, line)
    return Answer(line, cite=_cite(first.source, first.quote), points=[Point(esc(f.answer), f.source, f.quote) for f in rest])  # fmt: skip


_NEGATION = re.compile(
    r"\b(?:not|no|non|never|cannot|can't|without)\b[\w\s,-]{0,30}$", re.IGNORECASE
)


def _verdict(text: str, topic: tuple[str, ...], q: Question | None = None) -> bool | None:
    """Yes where a statement holds every word asked about; no where one of them is negated
    ("does not produce legally binding treaties"); else, or where it is hedged ("should he
    accept") and the question is not, it does not say."""
    words = [w for w in topic if not w.isdigit()]
    if not words:
        return None
    low = fold(text)
    found = []
    for w in words:
        meant = "|".join(re.escape(stem(x)) for x in (w, *SYNONYMS.get(w, ())))
        at = re.search(rf"\b(?:{meant})\w*", low)
        if at is not None:
            found.append(at)
    hedged = q is not None and _HEDGE.search(" ".join(q.words))
    if not found or not hedged and any(_HEDGE.search(low[max(0, at.start() - 40) : at.start()]) for at in found):  # fmt: skip
        return None
    if any(_NEGATION.search(low[: at.start()]) for at in found):
        return False
    numbers = {n for n in re.findall(r"\d+", " ".join(q.words)) if not re.fullmatch(r"(?:19|20)\d\d", n)} if q is not None else set()  # fmt: skip
    if numbers and not numbers <= set(re.findall(r"\d+", low)):
        return None
    enough = len(found) == len(words) or bool(numbers) and 2 * len(found) >= len(words)
    return True if enough else None


def _misfit(q: Question, store: Store, f: Fact) -> str:
    """Why a fact that matches the words does not answer this question, if it does not."""
    years = {int(y) for y in re.findall(r"\b(?:19|20)\d\d\b", f"{f.id} {f.topic}")}
    if q.year and years and q.year not in years:
        return f"No source on record answers that for {q.year}."
    named = {i for _, i in store.named_in_text("economy", f"{f.topic} {f.answer}")}
    asked = {e.id for _, e in q.economies}
    if asked and named and not asked & named:
        return f"No source on record answers that for {esc(q.economies[0][1].name)}."
    about = {i for _, i in store.named_in_text("meeting", f.topic)}
    meetings = {m.id for m in q.meetings} | {m.parent_id for m in q.meetings}
    if q.meetings and about and not about & meetings:
        return f"No source on record answers that for *{esc(title(q.meetings[0]))}*."
    if "amount" in q.asks and not _AMOUNT.search(f.answer):
        return "No source on record gives that figure."
    if q.asks & {"when"} and not q.meetings and not find_dates(f.answer, date_of(q)) and not _prose_year(f.answer):  # fmt: skip
        if _DURATION.search(f.answer):
            return f"No source on record gives a date for that; on record: {esc(f.answer)}"
        return "No source on record gives a date for that."
    return ""


def _prose_year(text: str) -> bool:
    """A year said as a date ("at their 1994 meeting"), not as part of a name ("Vision 2040")."""
    for found in re.finditer(r"(\S+)\s+((?:19|20)\d\d)\b", text):
        if not found[1][:1].isupper():
            return True
    return False


_DURATION = re.compile(r"\b\d+ (?:years?|months?|weeks?|days?)\b")
_AMOUNT = re.compile(r"(?:\$|US\$|USD|€|£|¥)\s?\d|\d[\d,.]*\s?(?:million|billion|thousand|dollars|yuan|won|percent|%)", re.IGNORECASE)  # fmt: skip


def date_of(q: Question):  # noqa: ANN201 - a date
    return _now(q).date()


def fact_candidates(store: Store, q: Question) -> list[Fact]:
    """Facts whose keywords the question holds (worked out once a question and store version)."""
    return list(_candidates(store, store.version(), q))


@lru_cache(maxsize=64)
def _candidates(store: Store, version: object, q: Question) -> tuple[Fact, ...]:
    """Facts whose keywords the question holds, weighted by how rare each word is among the facts;
    one that names the economy asked about counts that as a word held."""
    words = [w for w in q.words if w not in STOPWORDS or w in ("how", "what", "who")]
    asked = [stem(w) for w in q.words]
    meant = {stem(w) for w in words} | {stem(s) for w in words for s in SYNONYMS.get(w, ())}
    weights = _fact_weights(store)
    economies = {e.id for _, e in q.economies}
    entity = {stem(w) for w in _entity_words(q)}
    scored = []
    for fact in store.facts():
        terms = _fact_terms(fact)
        shared = (meant & terms) - _WEAK
        phrases = [k for k in fact.keywords if _stems_in(_stems(k), asked)]
        named = economies & {i for _, i in store.named_in_text("economy", fact.topic)}
        if not phrases and len(shared) + len(named) < 2:
            continue
        content = shared - entity
        telling = [k for k in phrases if len(k.split()) > 1 and set(_stems(k)) - entity]
        if q.topic and not {stem(w) for w in q.topic} & terms and not telling and not content:
            continue
        score = sum(weights.get(t, 0.0) for t in shared) + sum(len(k.split()) for k in phrases)
        score += 5 * len({k for k in fact.keywords if k in q.asks})  # "theme" asked: the theme
        scored.append((score + len(named), fact))
    scored.sort(key=lambda sf: -sf[0])
    if not scored:
        return ()
    return tuple(f for s, f in scored if s >= scored[0][0] - 0.01)[:2]


def _entity_words(q: Question) -> set[str]:
    """The words of the question that name things (meetings, places, economies, people)."""
    texts = [m.short + " " + m.name + " " + m.city for m in q.meetings]
    texts += [p.name for p in q.people] + [f"{t} {e.name}" for t, e in q.economies] + [q.place]
    return {w for t in texts for w in re.findall(r"[a-z0-9]+", fold(t).replace("'", ""))}


def definition(store: Store, q: Question) -> Fact | None:
    """The fact that says what a thing is ("What APEC is"), for "what is X", "X?" and "what does
    X do": X's words are all of the question's telling words."""
    asked = {stem(w) for w in q.words if w not in STOPWORDS and w not in _DEFINE_WORDS}
    asked = asked or ({"apec"} if "apec" in q.words else set())
    if not asked or not (q.asks & {"define"} or len(q.words) <= 2 or q.has("happens", "purpose", "do")):  # fmt: skip
        return None
    for fact in store.facts():
        thing = re.match(r"^What (?:an? )?(.+?) is$", fact.topic)
        if thing is None:
            continue
        said = {stem(w) for w in re.findall(r"[a-z0-9]+", fold(thing[1]).replace("'", ""))}
        if asked <= said or asked <= said | {stem(w) for k in fact.keywords for w in re.findall(r"[a-z0-9]+", fold(k))} and len(asked) <= 2:  # fmt: skip
            return fact
    return None


_DEFINE_WORDS = frozenset("what whats is are does do happens happen purpose mean means stand for".split())  # fmt: skip


_WEAK = frozenset(stem(w) for w in "apec 2026 2025 china korea us summit meeting som year".split())


def _stems(text: str) -> list[str]:
    return [stem(w) for w in re.findall(r"[a-z0-9]+", fold(text).replace("'", ""))]


def _stems_in(needle: list[str], hay: list[str]) -> bool:
    n = len(needle)
    return n > 0 and any(hay[i : i + n] == needle for i in range(len(hay) - n + 1))


def _fact_terms(f: Fact) -> set[str]:
    words = [w for text in (*f.keywords, f.topic) for w in re.findall(r"[a-z0-9]+", fold(text).replace("'", ""))]  # fmt: skip
    return {stem(w) for w in words if w not in STOPWORDS}


def _fact_weights(store: Store) -> dict[str, float]:
    all_facts = store.facts()
    df: dict[str, int] = {}
    for f in all_facts:
        for t in _fact_terms(f):
            df[t] = df.get(t, 0) + 1
    n = len(all_facts) or 1
    return {t: math.log(1 + n / d) for t, d in df.items()}


INTENTS: tuple[Intent, ...] = (
    countdown,
    next_meeting,
    time_of_day,
    membership,
    counts,
    who_is,
    delegation,
    attendance,
    doers,
    statements,
    host,
    parts,
    kind_list,
    meeting,
    period,
    person,
    facts,
)
