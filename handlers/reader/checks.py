"""Checks every answer passes before it is given, whichever row of the table made it.

* A "Yes" stands only on a stated claim: every word the question asks about that no name
  explains ("approve" in "did the BMC approve the budget?") must be in the answer's own words or
  the sentence it cites. Otherwise the first line says no source on record says so, and what the
  row found follows as what is on record, labelled as such.
* A false premise is corrected first: the question puts an economy's summit in another year than
  the one it hosted, a person in a role at a meeting that the sources give to someone else, or a
  meeting under a number it does not carry. The correction is the first line, each side cited;
  the answer to what was asked follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from handlers.meetings import title
from handlers.question import QUESTION_WORDS, Question, of_year
from handlers.reader.base import Answer, Point, cited, echo, meeting_point, now_of
from handlers.reader.words import ROLE_SYNONYMS, SYNONYMS
from handlers.render import day_text, esc, when
from store.models import Meeting
from store.queries import Store, stem
from store.text import fold
from store.vocabulary import GENERIC_MEETING, MONTHS

# Words a yes-or-no question may carry that say nothing to be checked.
_EMPTY = frozenset(
    """right correct true yes no ok okay really actually indeed already still yet ever just
    also apec meeting meetings year years""".split()
)


def grounded(q: Question, found: Answer, read: bool = True) -> Answer:
    """The answer, or, when it says "Yes" to words no part of it states, a plain "no source says
    so" with what it found kept as what is on record.

    Every "Yes" must hold the numbers the question typed ("for APEC 2028", "in 2004"), whichever
    row made it. A yes a row `read` out of a sentence must hold the place asked and every word of
    the topic too; rows that decide a yes from a record's own field (membership, a meeting's
    place) decline a question with words they cannot account for."""
    if not found.line.startswith("Yes"):
        return found
    support = _words(" ".join([found.line, *(p.quote for p in _cited(found))]))
    # the days of the month of a period asked are the meeting row's to check against the
    # meeting's days ("is the summit between 15 and 25 november?"); years are held as every
    # number is, and so is every number of any other row's yes
    days = q.period is not None and q.period.precision == "day" and found.by == "meeting"
    checked = {w for w in _words(q.period.text) if len(w) <= 2} if q.period and days else set()
    missing = [w for w in q.words if w.isdigit() and w not in support | checked]
    if read:
        claimed = [w for w in q.topic if w not in _EMPTY and not w.isdigit() and len(w) > 2]
        missing += [w for w in claimed if not _said(w, support)]
        # the place typed is a claim too ("adopted in jakarta"): held exactly
        missing += [w for w in q.place.split() if w not in _EMPTY and w not in support]
    if not missing:
        return found
    said = found.line.removeprefix("Yes").lstrip(":,. ")
    first = _first_cited(found)
    return Answer(
        f"No source on record says so: {echo(q)}",
        nearby=[Point(said, first.source, first.quote), *found.points, *found.nearby]
        if first is not None
        else found.nearby,
        more=found.more,
    )


def decided(q: Question, found: Answer) -> Answer:
    """A yes-or-no question answered yes, no, or that no source says so: what a row found that
    neither says (a delegation's objectives, for "did Korea push back?") is kept as what is on
    record, under that first line."""
    if not q.polar or found.line.startswith(("Yes", "No", NO_SOURCE)):
        return found
    if " or " in f" {' '.join(q.words)} ":  # "in Korea or China?" asks which: answered by it
        return found
    first = _first_cited(found)
    said = [Point(found.line, first.source, first.quote)] if first is not None else []
    return Answer(
        f"No source on record says so: {echo(q)}",
        nearby=[*said, *found.points, *found.nearby],
        more=found.more,
    )


# Words by which a source reports an outcome: what was agreed, adopted, decided.
_OUTCOME = re.compile(
    r"\b(?:agree|adopt|decid|decision|endors|approv|outcome|conclu|declar|result|commit|resolv"
    r"|sign|accept|reject)\w*",
    re.IGNORECASE,
)


_ABOUT_OUTCOMES = frozenset({"agreed", "discussed", "priorities", "define"})


def outcome_said(q: Question, found: Answer) -> Answer:
    """The answer, or, when the question asks what was agreed or decided and nothing the answer
    cites reports an outcome (only that a topic was discussed, or what a plan is), a first line
    that says no source reports one, with what was found kept as what is on record."""
    if "agreed" not in q.asks or q.polar or found.line.startswith(("No source", NO_SOURCE)):
        return found
    if q.asks - _ABOUT_OUTCOMES:  # "what theme has China adopted": the theme is what is asked
        return found
    support = " ".join(
        [found.line, *(p.text for p in found.points), *(p.quote for p in _cited(found))]
    )
    if _OUTCOME.search(support):
        return found
    first = _first_cited(found)
    said = Point(found.line, first.source, first.quote) if first is not None else None
    return Answer(
        f"No source on record reports an outcome: {echo(q)}",
        nearby=[*([said] if said else []), *found.points, *found.nearby],
        more=found.more,
    )


def _cited(found: Answer) -> list[Point]:
    return [p for p in (found.cite, *found.points) if p is not None]


def _first_cited(found: Answer) -> Point | None:
    return found.cite or next(iter(found.points), None)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", fold(text))}


# Words a claim puts otherwise than the sources, beside SYNONYMS: near enough to stand for them.
_CLAIMED = {
    "around": ("about", "approximately", "roughly", "some"),
    "approximately": ("about", "around"),
    "plans": ("planned", "expected", "will"),
    "plan": ("planned", "expected", "will"),
    "side": ("officials", "delegation"),
}


def _said(word: str, support: set[str]) -> bool:
    """Whether `word` (or a synonym the sources use for it) stands in the support: by stem, as
    the start of a longer word ("feb" in "february"), or as a longer form of one ("japanese",
    where "Japan" is said)."""
    meant = {word, *SYNONYMS.get(word, ()), *ROLE_SYNONYMS.get(word, ()), *_CLAIMED.get(word, ())}
    stems = {stem(w) for w in meant}
    return any(
        stem(w) in stems
        or any(w.startswith(m) for m in meant if len(m) >= 3)
        or (len(w) >= 4 and word.startswith(w))
        for w in support
    )


# -- premises --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Correction:
    """What the question takes for granted that the record says otherwise, cited. `whole`: the
    correction is the whole answer (what was asked about did not happen as asked)."""

    line: str
    cite: Point | None
    points: tuple[Point, ...] = ()
    whole: bool = False


def correct(q: Question, store: Store, found: Answer) -> Answer:
    """The answer with the first premise the record contradicts corrected in its first line; the
    answer to what was asked follows it, with its own citation, unless it was no answer."""
    found = counted(q, found)
    for check in (_host_year, _role_holder, _number):
        fix = check(q, store)
        if fix is None:
            continue
        points = list(fix.points)
        kept = not fix.whole and not found.line.startswith(("No source", NO_SOURCE))
        first = _first_cited(found)
        if kept and first is not None:
            points += [Point(found.line, first.source, first.quote), *found.points]
        unique = list({(p.text, p.source.id if p.source else ""): p for p in points}.values())
        return Answer(
            fix.line,
            cite=fix.cite,
            points=unique,
            nearby=found.nearby if kept else [],
            more=found.more,
        )
    return found


NO_SOURCE = "I have no source"

# A number and the thing it counts ("27 members", "about 300 events"), years apart.
_COUNT = re.compile(r"\b(?!(?:19|20)\d\d\b)(\d{1,4})\s+(?:[a-z'-]+\s+){0,1}?([a-z]{3,})")


def counted(q: Question, found: Answer) -> Answer:
    """A yes-or-no question claiming a number of something ("apec has 27 members right") that
    the answer's first line counts too: "Yes" where the line gives that number, "No" where it
    gives another, the line itself after it (a "Yes" still stands only on stated words)."""
    if not q.polar or found.line.startswith(("Yes", "No", NO_SOURCE)):
        return found
    claims = _counts(q.text)
    stated = _counts(found.line)
    if not claims or not stated:
        return found
    same = [n == m for n, thing in claims for m, said in stated if _same_thing(thing, said)]
    if not same:
        return found
    said = replace(found, line=f"{'Yes' if all(same) else 'No'}: {found.line}")
    return grounded(q, said) if all(same) else said


def _counts(text: str) -> list[tuple[int, str]]:
    """Each number of `text` with what it counts; not a day of a month (dates are the periods'
    to check: "1–10 February" holds the 1st)."""
    return [
        (int(n), stem(thing))
        for n, thing in _COUNT.findall(fold(text))
        if not thing.startswith(_MONTH_STARTS)
    ]


_MONTH_STARTS = tuple(month[:3] for month in MONTHS)


def _same_thing(asked: str, said: str) -> bool:
    """ "member" and "member economies"; "feb" and "february"."""
    return asked == said or said.startswith(asked) or asked.startswith(said)


_SUMMIT_WORDS = frozenset("summit summits aelm host hosts hosted hosting leaders".split())


def _host_year(q: Question, store: Store) -> Correction | None:
    """An economy's summit or hosting put in a year it did not host ("the Korea APEC summit" this
    year, "when did China host APEC 2025")."""
    if not _about_hosting(q):
        return None
    now = now_of(q)
    year = q.year or now.year
    _, economy = q.economies[0]
    summits = _hosted_summits(store)
    asked = next((m for m in summits if m.year == year), None)
    theirs = [m for m in summits if m.host_id == economy.id]
    if asked is None or asked.host_id == economy.id or not theirs and q.year is None:
        return None  # (a year unsaid and no summit of theirs: "when did the US host?" asks no year)
    asked_verb = "was hosted" if year < now.year else "is hosted"
    points: tuple[Point, ...]
    if theirs:
        other = max(theirs, key=lambda m: m.year or 0)
        hosted = "hosted" if (other.year or 0) < now.year else "hosts"
        line = f"*{esc(economy.name)}* {hosted} APEC {other.year}, not {year}: "
        points = (meeting_point(asked, now), meeting_point(other, now))
    else:  # "why is the US hosting APEC 2026?": one host a year, and the record names it
        line = f"*{esc(economy.name)}* is not the host of APEC {year}: "
        points = (meeting_point(asked, now),)
    line += f"APEC {year} {asked_verb} by *{esc(asked.host_name)}*."
    if q.polar or not set(q.words) & set(QUESTION_WORDS):  # "summit in korea this year?"
        line = f"No: {line}"
    return Correction(line, cited(asked.source, asked.quote), points)


def _about_hosting(q: Question) -> bool:
    """An economy named with its summit or its hosting, not how often it hosted."""
    summit = set(q.words) & _SUMMIT_WORDS or q.kind == "summit" or "host" in q.asks
    counting = "count" in q.asks or q.has("times", "often", "ever")
    return bool(q.economies and summit and not counting)


def _hosted_summits(store: Store) -> list[Meeting]:
    """The Leaders' Meetings on record with their host and year."""
    return [
        m
        for m in store.meetings()
        if m.kind == "summit" and not m.parent_id and m.host_id and m.year is not None
    ]


# Roles one holds at a meeting (leading a delegation is the delegation row's to answer).
_ROLE_VERBS = {
    "chair": ("chair", "chairs", "chaired", "chairing", "preside", "presides", "presided"),
}


def _role_holder(q: Question, store: Store) -> Correction | None:
    """A person put in a role at a meeting (chaired it, led a delegation to it) that the sources
    give to someone else, or to no one."""
    if not q.people or not q.meetings or q.words[:1] in (("who",), ("whos",)):
        return None
    role = next((r for r, verbs in _ROLE_VERBS.items() if q.has(*verbs)), None)
    if role is None:
        return None
    person, m = q.people[0], q.meetings[0]
    verbs = ("presid", "chair")
    holders = [
        (p, r)
        for p in store.people()
        for r in p.roles
        if r.meeting_id in {m.id, m.parent_id} and any(v in fold(r.role) for v in verbs)
    ]
    if any(p.id == person.id and r.meeting_id == m.id for p, r in holders):
        return None
    verb = "chaired"
    others = [(p, r) for p, r in holders if r.meeting_id == m.id and p.id != person.id]
    line = f"No: no source on record says *{esc(person.name)}* {verb} *{esc(title(m))}*"
    if others:
        p, r = others[0]
        line += f"; the sources say *{esc(p.name)}* {esc(r.role)}."
        return Correction(line, cited(r.source, r.quote), whole=True)
    # what the sources do say the person did there
    did = tuple(
        Point(f"*{esc(person.name)}*: {esc(r.role)}", r.source, r.quote)
        for r in person.roles
        if r.meeting_id in {m.id, m.parent_id}
    )
    return Correction(line + ".", None, did)


_ORDINAL = re.compile(r"\b(\d{1,3})(?:st|nd|rd|th)\b", re.IGNORECASE)


def _number(q: Question, store: Store) -> Correction | None:
    """A meeting asked for under a number it does not carry ("the 34th leaders meeting in
    Shenzhen" when the record says the 33rd). A number is the meeting's only when it stands
    before a word of its name: "on the 18th" is a day of the month."""
    if _ORDINAL.search(q.raw) is None:
        return None
    candidates = list(q.meetings) or (
        [m] if q.kind and (m := of_year(store, q.kind, q.year, q.now)) else []
    )
    for m in candidates:
        held = _ORDINAL.search(m.name)
        asked = _numbering(q.raw, m)
        if held is not None and asked is not None and held[1] != asked[1]:
            line = (
                f"*{esc(title(m))}* is the {held[0]}, not the {esc(asked[0])}: "
                f"{esc(when(m))}{', ' + esc(m.place) if m.place else ''}."
            )
            return Correction(line, cited(m.source, m.quote))
    return None


def _numbering(text: str, m: Meeting) -> re.Match[str] | None:
    """The first ordinal of `text` written before a word of `m`'s name ("34th AELM", "the 32nd
    Leaders' Meeting"), if any."""
    named = set(re.findall(r"[a-z0-9]+", fold(f"{m.name} {m.short}"))) | GENERIC_MEETING
    for found in _ORDINAL.finditer(text):
        after = re.findall(r"[a-z0-9]+", fold(text[found.end() : found.end() + 40]))
        if after[:1] and after[0] in named:
            return found
    return None


def not_yet(q: Question, store: Store) -> Answer | None:
    """A question about a meeting or person that no source published by its day names: said so,
    and nothing more (what a later source says is not on record yet)."""
    for kind in ("person", "meeting"):
        # "the summit" names a kind of meeting, the year's (read as such), not one not on record
        later = [(t, i) for t, i in store.named_later(kind, q.raw) if not _generic(t)]
        if later:
            typed = later[0][0]
            day = day_text(now_of(q).date())
            return Answer(f"No source on record names *{esc(typed)}* as of {day}.")
    return None


def _generic(typed: str) -> bool:
    return set(re.findall(r"[a-z0-9]+", fold(typed).replace("'", ""))) <= GENERIC_MEETING
