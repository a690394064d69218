"""Answers about people: who they are, where the sources place them, who did what at a meeting."""

from __future__ import annotations

import re
from datetime import datetime

from handlers.meetings import title
from handlers.question import Question
from handlers.reader.base import (
    Answer,
    Point,
    cited,
    echo,
    examples,
    meeting_point,
    now_of,
    tense,
    yes_no,
)
from handlers.reader.facts import date_of, fact_candidates
from handlers.reader.words import CHAIR_WORDS, CHAIRED, PRESENT, overlap, says
from handlers.render import esc
from store.dates import find_dates
from store.models import Fact, Meeting, Person
from store.queries import STOPWORDS, Store, stem
from store.text import fold


@examples("who is Casey Mace?", "who is Lee?", "Who is Korea's Coordinator for Economic Diplomacy?")
def who_is(q: Question, store: Store) -> Answer | None:
    """Who someone is: their title and what the sources say they did."""
    titled = title_asked(q)
    if titled and q.economies and not q.people:
        return Answer(f"No source on record names the {esc(q.economies[0][1].name)} {esc(titled)}.")
    if "title" in q.asks and q.people:
        return describe_person(q, store)
    if (
        "who" not in q.asks
        or q.polar
        or q.asks & {"lead", "chair", "attend", "host"}
        and not q.people
    ):
        return None
    if q.people:
        return describe_person(q, store)
    if q.others:
        return Answer(f"No source on record names {esc(q.others[0])}.")
    return None


_TITLES = (
    "senior official",
    "president",
    "prime minister",
    "foreign minister",
    "trade minister",
    "minister",
    "spokesperson",
    "ambassador",
)


def title_asked(q: Question) -> str:
    """The title a question asks the holder of ("China's senior official", "who is Japan's
    trade minister"), if it asks for a person by title."""
    if not (q.has("who", "name", "whos") or "who" in q.asks):
        return ""
    joined = f" {' '.join(q.words)} "
    return next((t for t in _TITLES if f" {t} " in joined or f" {t}s " in joined), "")


def describe_person(q: Question, store: Store) -> Answer:
    if len(q.people) > 1 and len({p.name.split()[0] for p in q.people}) == 1:
        names = "; ".join(f"*{esc(p.name)}* ({esc(p.title)})" for p in q.people)
        return Answer(
            f"{len(q.people)} people on record go by that name: {names}.",
            points=[Point("", p.source, p.quote) for p in q.people],
        )
    telling = telling_words(q)
    p = max(q.people, key=lambda x: max((overlap(r.role, telling) for r in x.roles), default=0))
    best = max(p.roles, key=lambda r: overlap(r.role, telling), default=None)
    # a role answers when it says more of what was asked than the title does ("who is Korea's
    # Coordinator for Economic Diplomacy" asks the title, not the Economic Committee)
    if best is not None and overlap(best.role, telling) > overlap(p.title, telling):
        line = f"*{esc(p.name)}* {esc(best.role)}."
        return Answer(line, cite=cited(best.source, best.quote), more=f"who {p.name}")
    economy = store.economy(p.economy_id)
    of = f" ({esc(economy.name)})" if economy else ""
    described = ", ".join(esc(x) for x in (p.title, p.organization) if x)
    line = (
        f"*{esc(p.name)}*{of}: {described}."
        if described
        else f"No source on record gives a title or employer for *{esc(p.name)}*."
    )
    answer = Answer(line, cite=cited(p.source, p.quote), more=f"who {p.name}")
    roles = sorted(p.roles, key=lambda r: -overlap(r.role, q.topic))
    answer.points += [
        Point(f"{esc(r.role[:1].upper() + r.role[1:])}.", r.source, r.quote) for r in roles[:3]
    ]
    return answer


def telling_words(q: Question) -> tuple[str, ...]:
    """The question's words that say something, its names and the plainest words aside."""
    names = {w for p in q.people for w in re.findall(r"[a-z]+", fold(p.name))}
    names |= set(q.place.split()) | {
        w for m in q.meetings for w in re.findall(r"[a-z0-9]+", fold(f"{m.short} {m.city}"))
    }
    plain = (
        (STOPWORDS - {"before", "after", "during"})
        | names
        | {"who", "is", "s", "person", "about", "tell"}
    )
    return tuple(w for w in q.words if w not in plain and len(w) > 2)


@examples(
    "is ruth perry on the US team?", "will trump attend the shenzhen summit?", "who attended SOM1"
)
def attendance(q: Question, store: Store) -> Answer | None:
    """Whether someone was at a meeting or in a delegation; who the sources place at a meeting."""
    if not _asks_attendance(q):
        return None
    if q.others:
        return _unknown_attendee(q, q.others[0])
    if not q.people:
        return _who_was_at(q, store) if q.meetings else None
    person = q.people[0]
    places = placed(store, person, now_of(q))
    asked = [p for p in places if _matches(p, q)]
    if asked:
        _, text, point = asked[0]
        return Answer(f"Yes: {text}.", cite=point, more=f"who {person.name}")
    return _not_placed(q, person, places)


def _asks_attendance(q: Question) -> bool:
    """Attending asked, or a person put at a meeting or in a delegation by a yes-or-no question;
    not who led or chaired, and no topic but for someone not on record."""
    polar_place = q.polar and q.people and (q.delegation or q.economies or q.meetings)
    if "attend" not in q.asks and not polar_place or q.asks & {"lead", "chair"}:
        return False
    return not (q.topic and not q.others)


def _not_placed(q: Question, person: Person, places: list[tuple[Meeting, str, Point]]) -> Answer:
    """No source places the person where asked: where the sources do place them follows."""
    answer = Answer(
        f"No source on record places *{esc(person.name)}* {_target(q)}.", more=f"who {person.name}"
    )
    answer.nearby += [Point(f"{text}.", point.source, point.quote) for _, text, point in places]
    answer.nearby += [
        Point(f"*{esc(person.name)}* {esc(r.role)}.", r.source, r.quote)
        for r in person.roles
        if not PRESENT.search(r.role) and r.meeting_id in {m.id for m in q.meetings}
    ]
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


def placed(store: Store, p: Person, now: datetime) -> list[tuple[Meeting, str, Point]]:
    """Where the sources place a person: delegations led or joined, and roles at meetings."""
    out = []
    for d in store.delegations():
        if d.head and d.head.id == p.id:
            verb = tense(d.meeting, now, "led", "leads", "is to lead")
            out.append(
                (
                    d.meeting,
                    f"*{esc(p.name)}* {verb} the {esc(d.economy.name)} delegation to "
                    f"{esc(title(d.meeting))}",
                    Point("", d.source, d.quote),
                )
            )
        for m in d.members:
            if m.person.id == p.id:
                was = tense(d.meeting, now, "was", "is", "is to be")
                out.append(
                    (
                        d.meeting,
                        f"*{esc(p.name)}* {was} a member of the {esc(d.economy.name)} "
                        f"delegation to {esc(title(d.meeting))}",
                        Point("", m.source, m.quote),
                    )
                )
    meetings = {m.id: m for m in store.meetings()}
    for role in p.roles:
        if role.meeting_id in meetings and PRESENT.search(role.role):
            out.append(
                (
                    meetings[role.meeting_id],
                    f"*{esc(p.name)}* {esc(role.role)}",
                    Point("", role.source, role.quote),
                )
            )
    return out


def _unknown_attendee(q: Question, who: str) -> Answer:
    now = now_of(q)
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
    found = [
        (text, point)
        for p in store.people()
        for meeting, text, point in placed(store, p, now_of(q))
        if meeting.id in ids
    ]
    if "count" in q.asks or not found:
        verb = tense(m, now_of(q), "attended", "attend", "will attend")
        what = "how many attended" if "count" in q.asks else f"who {verb}"
        answer = Answer(
            f"No source on record says {what} *{esc(title(m))}*.", more=f"meeting {m.short}"
        )
        answer.nearby += [Point(f"{t}.", p.source, p.quote) for t, p in found] or [
            meeting_point(m, now_of(q))
        ]
        return answer
    answer = Answer(
        f"At *{esc(title(m))}*, the sources name: " + "; ".join(t for t, _ in found) + ".",
        more=f"meeting {m.short}",
    )
    answer.points += [Point("", p.source, p.quote) for _, p in found]
    return answer


# Verbs of what people did that the roles word otherwise ("met" the Japanese: consultations).
@examples(
    "who chaired the SOM1 plenary?",
    "who presided over the BMC meeting?",
    "Did Park Jong-han preside over the BMC meeting?",
)
def doers(q: Question, store: Store) -> Answer | None:
    """Who did something at a meeting (chaired, presided, announced...), from roles and facts."""
    verbs = [stem(w) for w in q.topic] + (list(CHAIR_WORDS) if "chair" in q.asks else [])
    if not q.meetings or not verbs or not _asks_who(q):
        return None
    if q.asks & {"when", "lead", "attend"} and "chair" not in q.asks:
        return None
    m = q.meetings[0]
    done = _done_at(q, store, m, verbs)
    if done:
        return _doer_answer(q, done, m)
    if "chair" not in q.asks:
        return None
    return _no_chair(store, m)


def _asks_who(q: Question) -> bool:
    """Who asked, or a yes or no about a person or an economy."""
    return bool(
        q.words[:1] in (("who",), ("which",))
        or q.has("who")
        or q.polar
        and (q.people or q.economies)
    )


def _done_at(q: Question, store: Store, m: Meeting, verbs: list[str]) -> list[tuple[Point, str]]:
    """What the roles and facts say was done at the meeting: the facts first where an economy is
    asked for ("which economy chairs"), the roles first otherwise."""
    found = roles_doing(store, [m, *store.parts(m.id)] if "chair" not in q.asks else [m], verbs)
    facts = [
        (Point(esc(f.answer), f.source, f.quote), "")
        for f in store.facts()
        if says(f.answer, verbs) and fact_names(f, m)
    ]
    present = (
        q.has("chairs", "chairing", "economy", "country", "member") or q.economies and not q.people
    )
    return (facts + found) if present else (found + facts)


def _no_chair(store: Store, m: Meeting) -> Answer:
    """No chair on record: the chairs of its parts, and who chairs the year, follow."""
    answer = Answer(
        f"No source on record names who chaired *{esc(title(m))}*.", more=f"meeting {m.short}"
    )
    for part in store.parts(m.id):
        answer.nearby += [p for p, _ in roles_doing(store, [part], list(CHAIR_WORDS))]
    answer.nearby += [
        Point(esc(f.answer), f.source, f.quote)
        for f in store.facts()
        if "chairs the year" in fold(f.answer)
    ]
    return answer


def _doer_answer(q: Question, done: list[tuple[Point, str]], m: Meeting) -> Answer:
    (first, doer), rest = done[0], [p for p, _ in done[1:]]
    line = first.text
    if q.polar:
        people = all(fold(p.name) in fold(line) for p in q.people)
        economies = all(
            e.id == doer or any(fold(n) in fold(line) for n in (e.name, typed))
            for typed, e in q.economies
        )
        if not (people and economies) and not CHAIRED.search(line):
            return Answer(f"No source on record says so: {echo(q)}", nearby=[first, *rest])
        line = yes_no(people and economies, line)
    return Answer(line, cite=first, points=rest, more=f"meeting {m.short}")


# Roles only one holds at a time: someone else named in one means "no".
def roles_doing(store: Store, meetings: list[Meeting], verbs: list[str]) -> list[tuple[Point, str]]:
    """(what each did, their economy) for the roles at these meetings that do one of the verbs."""
    ids = {m.id for m in meetings}
    return [
        (Point(f"*{esc(p.name)}* ({esc(p.title)}) {esc(r.role)}.", r.source, r.quote), p.economy_id)
        for p in store.people()
        for r in p.roles
        if r.meeting_id in ids and says(r.role, verbs)
    ]


def fact_names(f: Fact, m: Meeting) -> bool:
    names = {fold(m.short)} | {fold(w) for w in re.findall(r"\(([A-Z]{2,})\)", m.name)}
    names |= {fold(n) for n in re.findall(r"\d+\w* APEC Economic Leaders' Meeting", m.name)}
    return any(fold(k) in names for k in f.keywords) or any(
        n in fold(f.answer) for n in names if len(n) > 4
    )


@examples("ruth perry", "tell me about Park Jong-han")
def person(q: Question, store: Store) -> Answer | None:
    """Anything else about someone named: who they are and what the sources say they did."""
    if (
        not q.people
        or q.topic
        and not any(overlap(r.role, q.topic) for p in q.people for r in p.roles)
    ):
        return None
    if "when" in q.asks and not any(
        find_dates(r.role, date_of(q))
        for p in q.people
        for r in p.roles
        if overlap(r.role, q.topic)
    ):
        return None
    if q.topic and fact_candidates(store, q):
        return None
    return describe_person(q, store)
