"""Briefing notes: `/apec brief MEETING [for ECONOMY]`, the desk's note for a meeting, every
line cited.

A brief is a plain data structure (`Brief`: sections of cited `Line`s) assembled from the store as
of `now`; it is rendered three ways: a short Slack card (`summary_card`), Markdown (`to_markdown`:
the CLI, a Slack canvas or a Markdown file) and Word (handlers/brief_docx.py). It opens with "Key
points" (what, when and where, who leads our delegation, what is not on record). Each line names the
record it states (its source and quote, which that source's text holds); the only lines with no
source say what no source gives ("not on record"): citing a source for an absence would be wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from zoneinfo import ZoneInfo

from handlers.calendar import internal
from handlers.meetings import find_meeting, in_days, not_found_meeting, title
from handlers.members import member_reply
from handlers.people import find_economy
from handlers.registry import Ask, UsageError, command
from handlers.render import MAX_QUOTE, Card, Document, day_text, esc, status_word, when
from store.models import Delegation, Economy, Fact, Meeting, Person, Sentence, Source
from store.queries import Store
from store.text import FOLD_TABLE, fold, one_line, stands_in

RECENT = 8  # sources in "recent sources"
RELATED_KINDS = {"som": ("som", "summit"), "summit": ("summit", "som")}
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_FOR = re.compile(r"^(?P<meeting>.+?)\s+for\s+(?P<economy>.+)$", re.IGNORECASE)
_CHAIR = re.compile(r"\b(?:presid\w*|chair\w*)\b", re.IGNORECASE)
_QUOTED = re.compile(r"“([^”]+)”|\"([^\"]+)\"")
# A sentence ends after a word's last letter, not an initial's ("The U.S. State Department").
_SENTENCES = re.compile(r"(?:(?<=[a-z0-9][.!?])|(?<=[.!?][\"”']))\s+(?=[A-Z\"“(])")
LISTED_QUOTE = 600  # a quote in a document's Sources: a whole sentence, unlike a Slack line's
MIN_OVERLAP = 20  # two quotes of one source overlapping by this much are one stretch of its text


@dataclass(frozen=True)
class Line:
    """One line of a brief: what it says and the record it says it from (source and quote).
    Only a "not on record" line has no source: it says what no source gives."""

    text: str
    source: Source | None = None
    quote: str = ""
    label: str = ""
    key: str = ""  # the item a "not on record" line is about: agenda, outcomes, dates...


@dataclass(frozen=True)
class Section:
    """A heading and its lines; `note` is the brief's own word about it (nothing on record...)."""

    key: str
    title: str
    lines: tuple[Line, ...]
    note: str = ""
    grouped: bool = False  # lines of one label together: the label once, the rest beneath it


@dataclass(frozen=True)
class Brief:
    """A briefing note for one meeting, as of `now`, for one economy (or none chosen)."""

    meeting: Meeting
    economy: Economy | None
    now: datetime
    tz: ZoneInfo
    countdown: str
    sections: tuple[Section, ...]

    @property
    def heading(self) -> str:
        return f"Brief: {title(self.meeting)}"

    @property
    def as_of(self) -> str:
        """The day the brief is written, in the desk's zone: no time of day."""
        return day_text(self.now.astimezone(self.tz).date())

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    @cached_property
    def sources(self) -> tuple[Source, ...]:
        """Every source cited, in the order first cited: the numbers of the citation markers."""
        found = {ln.source.id: ln.source for s in self.sections for ln in s.lines if ln.source}
        return tuple(found.values())

    def number(self, source: Source) -> int:
        """The citation marker of a source: its place in `sources`, from 1."""
        return next(n for n, s in enumerate(self.sources, 1) if s.id == source.id)

    def quotes(self, source: Source) -> list[str]:
        """The distinct stretches of one source the brief cites, in order: a quote held in
        another is left out, and quotes that overlap are joined (see `distinct_quotes`)."""
        found = [
            ln.quote
            for s in self.sections
            for ln in s.lines
            if ln.source and ln.source.id == source.id and ln.quote
        ]
        return distinct_quotes(found)

    def listed_quotes(self, source: Source) -> list[str]:
        """The quotes as a document's Sources list them: each cut, where long, at a sentence's
        or a word's end, with "…"."""
        return [cut_words(q, LISTED_QUOTE) for q in self.quotes(source)]


def _norm(text: str) -> str:
    """Text as compared, character for character (plain quotes and dashes, lower case)."""
    return text.translate(FOLD_TABLE).lower()


class _Normed(dict[str, str]):
    """Each text as compared (`_norm`), worked out once per `distinct_quotes`: the merging
    compares every pair again after each join."""

    def __missing__(self, text: str) -> str:
        self[text] = normed = _norm(text)
        return normed


def distinct_quotes(quotes: list[str]) -> list[str]:
    """Quotes of one source, once each: one held in another is dropped, and two that overlap
    by MIN_OVERLAP characters (the end of one the start of the other) become one."""
    out: list[str] = []
    normed = _Normed()
    for quote in dict.fromkeys(" ".join(q.split()) for q in quotes if q.strip()):
        out = _merged([*out, quote], normed)
    return out


def _merged(quotes: list[str], normed: _Normed) -> list[str]:
    changed = True
    while changed:
        changed = False
        for i, a in enumerate(quotes):
            for j, b in enumerate(quotes):
                if i == j:
                    continue
                joined = _join(a, b, normed)
                if joined is not None:
                    quotes = [q for k, q in enumerate(quotes) if k not in (i, j)]
                    quotes.insert(min(i, j), joined)
                    changed = True
                    break
            if changed:
                break
    return quotes


def _join(a: str, b: str, normed: _Normed) -> str | None:
    """`a` and `b` as one stretch of text when one holds the other or `a` runs on into `b`."""
    na, nb = normed[a], normed[b]
    if nb in na:
        return a
    if na in nb:
        return b
    # The longest overlap first (at most one short of the shorter): where in `na` the start of
    # `nb` is found, leftmost first, from where it would overlap by that much.
    head, at = nb[:MIN_OVERLAP], len(na) - min(len(na), len(nb)) + 1
    while 0 <= (at := na.find(head, at)) <= len(na) - MIN_OVERLAP:
        if nb.startswith(na[at:]):
            return a + b[len(na) - at :]
        at += 1
    return None


def cut_words(text: str, limit: int) -> str:
    """At most `limit` characters: whole sentences where one ends past the middle, else whole
    words; "…" says it was cut. Never mid-word."""
    one = " ".join(text.split())
    if len(one) <= limit:
        return one
    room = one[: limit - 1]
    ends = [m.end() for m in re.finditer(r"[.!?][”\"')]?(?=\s)", room)]
    if ends and ends[-1] > limit // 2:
        return room[: ends[-1]] + " …"
    at = room.rfind(" ")
    if at <= 0:
        at = len(room)
    return room[:at].rstrip(" ,;:–—-") + "…"


# -- what was asked --------------------------------------------------------------------------------


def request(
    store: Store, args: str, now: datetime, default_economy: str = "", tz: ZoneInfo | None = None
) -> Brief | Card:
    """The brief `args` asks for ("SOM1", "SOM1 for Korea"), or the card saying why not: no
    such meeting, no such economy. With no "for", the desk's own economy (APEC_DESK_ECONOMY)."""
    text = " ".join(args.split())
    if not text:
        raise UsageError("Which meeting?")
    store = store.at(now.date())  # what was published by the day it is written
    meeting, economy_name = find_meeting(store, text), ""
    split = _FOR.match(text)
    if split and (found := find_meeting(store, split["meeting"])) is not None:
        meeting, economy_name = found, split["economy"]
    if meeting is None:
        return not_found_meeting(store, split["meeting"] if split else text)
    economy = None
    if economy_name or default_economy:
        economy = find_economy(store, economy_name or default_economy)
        if economy is None:
            return member_reply(store, economy_name or default_economy)
    return build_brief(store, meeting, now, economy, tz or ZoneInfo("UTC"))


# -- assembling ------------------------------------------------------------------------------------


def build_brief(
    store: Store,
    m: Meeting,
    now: datetime,
    economy: Economy | None = None,
    tz: ZoneInfo | None = None,
) -> Brief:
    """The brief for meeting `m` as of `now`, from the store's records published by then (`m`
    too, as then on record)."""
    store = store.at(now.date())
    m = next((x for x in store.meetings() if x.id == m.id), m)
    ids = {m.id} | {p.id for p in store.parts(m.id)}
    delegations = [d for d in store.delegations() if d.meeting.id in ids]
    theme, priorities = year_facts(store, m)
    sections = [
        Section("meeting", "The meeting", tuple(meeting_lines(store, m, now))),
        Section(
            "theme",
            "Theme and priorities",
            tuple(theme + priorities),
            "" if theme or priorities else "None on record: see below.",
        ),
        delegation_section(delegations),
        objectives_section(store, m, economy, delegations),
        people_section(store, ids, delegations),
    ]
    sections.append(recent_section(store, m, sections, now))
    missing = missing_section(store, m, now, economy, delegations, theme, priorities)
    sections.append(missing)
    sections.insert(0, key_points(m, now, economy, delegations, theme, missing))
    return Brief(m, economy, now, tz or ZoneInfo("UTC"), countdown(m, now), tuple(sections))


KEY_POINTS = 5  # at most: what, when and where, who leads, the theme where room, not on record


def key_points(
    m: Meeting,
    now: datetime,
    economy: Economy | None,
    delegations: list[Delegation],
    theme: list[Line],
    missing: Section,
) -> Section:
    """Three to five lines a reader takes in first: what the meeting is, when and where, who
    leads our delegation (every delegation's head when no economy is chosen), the theme where
    there is room, and what is not on record (the one line no source can be cited for)."""
    lines = [
        Line(f"{title(m)}; {_standing(m, now)}", m.source, m.quote, "What"),
        Line(f"{when(m)}, {m.place or 'no place on record'}", m.source, m.quote, "When and where"),
    ]
    if economy is not None:
        own = [
            (d, d.head) for d in delegations if d.economy.id == economy.id and d.head is not None
        ]
        if own:
            d, head = own[0]
            lines.append(Line(f"led by {_person(head)}", d.source, d.quote, "Our delegation"))
    else:
        heads = {d.economy.id: (d, d.head) for d in delegations if d.head is not None}
        for d, head in list(heads.values())[:2]:
            lines.append(
                Line(
                    f"led by {_person(head)}", d.source, d.quote, f"Delegation of {d.economy.name}"
                )
            )
    if theme and len(lines) < KEY_POINTS - 1:
        lines.append(theme[0])
    lines.append(Line(f"Not on record: {_missing_words(missing)}.", key="missing"))
    return Section("key", "Key points", tuple(lines))


def _standing(m: Meeting, now: datetime) -> str:
    """The meeting's status and countdown in one phrase: "held", "scheduled; opens in 12 days"."""
    status, left = status_word(m, now), countdown(m, now)
    return left if left.startswith(status.split(";")[0]) else f"{status}; {left}"


def _missing_words(missing: Section) -> str:
    keys = [ln.key.split(":")[0] for ln in missing.lines]
    return ", ".join(dict.fromkeys(MISSING_WORDS.get(k, k) for k in keys))


def countdown(m: Meeting, now: datetime) -> str:
    """Where the meeting stands: "opens in 12 days", "under way, day 3 of 10", "held". A date
    known only to the month gets no day count."""
    if m.status == "cancelled":
        return "cancelled"
    bounds = m.bounds()
    if bounds is None and m.status == "held":
        return f"held; {when(m)}"
    if m.month_only or bounds is None or not (m.dated or m.within and m.within.precision == "day"):
        if bounds is not None and now >= bounds[1]:
            return status_word(m, now)
        if m.month_only and m.span.start is not None:
            return f"in {m.span.start:%B %Y}; no day count without exact dates"
        return when(m)
    start, end = bounds
    if now < start:
        return f"opens {in_days((start.date() - now.astimezone(m.zone).date()).days)}"
    if now < end:
        return status_word(m, now)  # "under way, day 3 of 10"
    return "held" if m.status == "held" else status_word(m, now)


def meeting_lines(store: Store, m: Meeting, now: datetime) -> list[Line]:
    """What, when, where, its status, what it is part of and what is held with it."""
    said = f" (the source: “{m.span.text}”)" if m.span.text else ""
    lines = [
        Line(title(m), m.source, m.quote, "Meeting"),
        Line(when(m) + said, m.source, m.quote, "When"),
    ]
    if m.place:
        lines.append(Line(m.place, m.source, m.quote, "Where"))
    lines.append(Line(_standing(m, now), m.source, m.quote, "Status"))
    if m.note and not internal(m.note):
        lines += desk_note(store, m)
    by_id = {x.id: x for x in store.meetings()}
    parent = by_id.get(m.parent_id)
    if parent is not None:
        lines.append(Line(_listed(parent), parent.source, parent.quote, "Part of"))
    for part in store.parts(m.id):
        lines.append(Line(_listed(part), part.source, part.quote, "Held as part of it"))
    for other in related(store, m):
        lines.append(Line(_listed(other), other.source, other.quote, "Related"))
    return lines


def desk_note(store: Store, m: Meeting) -> list[Line]:
    """The desk's note on a meeting, a line a sentence, each cited to the source that says it:
    a sentence quoting words ("Feb. 1-10, 2026") to the source whose text holds them, one
    without to the meeting's own source. A sentence quoting words no source holds is left out:
    the brief says only what a source says."""
    out = []
    for sentence in _SENTENCES.split(" ".join(m.note.split())):
        words = [a or b for a, b in _QUOTED.findall(sentence)]
        if not words:
            out.append(Line(sentence, m.source, m.quote, "Desk note"))
            continue
        said = _sentence_saying(store, words)
        if said is not None:
            out.append(Line(sentence, said.source, said.text, "Desk note"))
    return out


def _sentence_saying(store: Store, words: list[str]) -> Sentence | None:
    """The first sentence on record (as the store's day sees it) holding all of `words`."""
    found = store.sentences_naming(words)
    return next((x for x in found if all(stands_in(w, x.text) for w in words)), None)


def related(store: Store, m: Meeting) -> list[Meeting]:
    """The same year's meetings on the same road: its sibling parts, or the year's SOMs and
    Leaders' Meeting for a SOM or a summit, or the year's meetings of its kind."""
    if m.parent_id:
        return [x for x in store.parts(m.parent_id) if x.id != m.id]
    kinds = RELATED_KINDS.get(m.kind, (m.kind,))
    return [
        x
        for x in store.meetings()
        if x.id != m.id and not x.parent_id and x.kind in kinds and x.year == m.year
    ]


def _listed(m: Meeting) -> str:
    where = f" · {m.place}" if m.place else ""
    return f"{title(m)} — {when(m)}{where}"


def year_facts(store: Store, m: Meeting) -> tuple[list[Line], list[Line]]:
    """The theme and the host's priorities for the meeting's APEC year, from the facts."""

    def fits(f: Fact) -> bool:
        years = {int(y) for y in _YEAR.findall(f"{f.id} {f.topic} {f.answer}")}
        named = {i for _, i in store.named_in_text("economy", f"{f.topic} {f.answer}")}
        return (not years or m.year in years) and (not named or m.host_id in named)

    theme = [f for f in store.facts() if "theme" in f.keywords and fits(f)]
    priorities = [
        f
        for f in store.facts()
        if any(k.startswith("priorit") for k in f.keywords) and fits(f) and f not in theme
    ]
    return (
        [Line(f.answer, f.source, f.quote, "Theme") for f in theme],
        [Line(f.answer, f.source, f.quote, "Priorities") for f in priorities],
    )


def delegation_section(delegations: list[Delegation]) -> Section:
    """Each delegation on record: its head, then its members."""
    lines = []
    for d in delegations:
        head = f"led by {_person(d.head)}" if d.head else "no source on record names its head"
        lines.append(Line(f"{head} (to {d.meeting.short})", d.source, d.quote, d.economy.name))
        for x in d.members:
            role = f" — {x.role}" if x.role else ""
            lines.append(Line(f"{x.person.name}{role}", x.source, x.quote, d.economy.name))
    note = "" if lines else "None on record: see below."
    return Section("delegations", "Delegations on record", tuple(lines), note, grouped=True)


def _person(p: Person) -> str:
    return f"{p.name} ({p.title})" if p.title else p.name


def objectives_section(
    store: Store, m: Meeting, economy: Economy | None, delegations: list[Delegation]
) -> Section:
    """The stated objectives of the economy the brief is for: to this meeting, or else the
    latest it stated, said as such."""
    if economy is None:
        note = (
            "No economy chosen for this brief: set APEC_DESK_ECONOMY, or ask for one, "
            f"as in: brief {m.short} for Korea."
        )
        return Section("objectives", "Objectives", (), note)
    heading = f"Objectives of {economy.name}"
    own = [o for d in delegations if d.economy.id == economy.id for o in d.objectives]
    if own:
        return Section("objectives", heading, tuple(Line(o.text, o.source, o.quote) for o in own))
    earlier = [d for d in store.delegations(economy_id=economy.id) if d.objectives]
    if not earlier:
        return Section("objectives", heading, (), "None on record: see below.")
    latest = earlier[-1]
    lines = tuple(
        Line(o.text, o.source, o.quote, f"Stated for {latest.meeting.short}")
        for o in latest.objectives
    )
    return Section(
        "objectives", heading, lines, f"None on record for {m.short}; the latest stated:"
    )


def people_section(store: Store, ids: set[str], delegations: list[Delegation]) -> Section:
    """The people at the meeting: titles, and what the sources say they did there."""
    people: dict[str, Person] = {}
    for d in delegations:
        for p in [d.head, *(x.person for x in d.members)]:
            if p is not None:
                people.setdefault(p.id, p)
    for p in store.people():
        if any(r.meeting_id in ids for r in p.roles):
            people.setdefault(p.id, p)
    lines = []
    for p in people.values():
        economy = store.economy(p.economy_id)
        described = ", ".join(x for x in (p.title, p.organization) if x) or "no title on record"
        of = f" ({economy.name})" if economy else ""
        lines.append(Line(described + of, p.source, p.quote, p.name))
        for r in p.roles:
            if r.meeting_id in ids or not r.meeting_id:
                lines.append(Line(r.role[:1].upper() + r.role[1:] + ".", r.source, r.quote, p.name))
    note = "" if lines else "No source on record names people at this meeting."
    return Section("people", "People", tuple(lines), note, grouped=True)


def recent_section(store: Store, m: Meeting, cited: list[Section], now: datetime) -> Section:
    """The newest sources about the meeting as of `now`, one line each: those naming it (not a
    namesake of another year: "SOM1 of APEC 2027" is not SOM1 2026), and those the brief cites,
    each with a sentence of its own. A source dated after `now` is not yet recent."""
    found = {
        s.source.id: (s.source, s.text)
        for s in store.sources_naming([m.short, m.name])
        if _of_year(s.text, m.year)
    }
    for section in cited:
        for ln in section.lines:
            if ln.source and ln.quote:
                found.setdefault(ln.source.id, (ln.source, ln.quote))
    newest = sorted(
        (sq for sq in found.values() if sq[0].reference_date <= now.date()),
        key=lambda sq: (sq[0].reference_date, sq[0].added_at),
        reverse=True,
    )
    lines = tuple(
        Line(
            f"{_named(source)}: “{short_quote(quote)}”",
            source,
            quote,
            source.reference_date.isoformat(),
        )
        for source, quote in newest[:RECENT]
    )
    return Section("recent", "Recent sources", lines, "" if lines else "None on record.")


def _of_year(text: str, year: int | None) -> bool:
    """Whether a passage may be about a meeting of `year`: it names that year, or none."""
    years = {int(y) for y in _YEARS.findall(text)}
    return year is None or not years or year in years


_YEARS = re.compile(r"(?<!\d)20\d\d(?!\d)")


def _named(source: Source) -> str:
    return f"{source.title}, {source.publisher}" if source.publisher else source.title


def short_quote(quote: str) -> str:
    return one_line(quote, MAX_QUOTE)


_Missing = list[tuple[str, str]]  # (key, what is not on record)


def missing_section(
    store: Store,
    m: Meeting,
    now: datetime,
    economy: Economy | None,
    delegations: list[Delegation],
    theme: list[Line],
    priorities: list[Line],
) -> Section:
    """What a brief would normally hold that no source gives, said as plainly as the bot's
    other "no source" answers."""
    missing = [
        *_missing_when_and_where(m),
        *_missing_chair_agenda_outcomes(store, m, now),
        *_missing_delegations(m, delegations),
        *_missing_objectives(m, economy, delegations),
        *_missing_year(m, theme, priorities),
    ]
    return Section("missing", "Not on record", tuple(Line(t, key=k) for k, t in missing))


def _missing_when_and_where(m: Meeting) -> _Missing:
    name = m.short
    if m.dated or (m.within and m.within.precision == "day"):
        when_text = (
            "time",
            f"No source on record gives a time of day for {name}: the sources give days only.",
        )
    elif m.placed:
        when_text = (
            "dates",
            f"No source on record gives the exact dates of {name}: it is known only as {when(m)}.",
        )
    else:
        when_text = ("dates", f"No source on record gives the dates of {name}.")
    if m.city:
        return [when_text, ("venue", f"No source on record names the venue of {name} in {m.city}.")]
    return [when_text, ("city", f"No source on record names the city of {name}.")]


def _missing_chair_agenda_outcomes(store: Store, m: Meeting, now: datetime) -> _Missing:
    name = m.short
    missing: _Missing = []
    bounds = m.bounds()
    over = now >= bounds[1] if bounds else m.status == "held"
    chair = [
        r for p in store.people() for r in p.roles if r.meeting_id == m.id and _CHAIR.search(r.role)
    ]
    if not chair:
        verb = "chaired" if over else "chairs"
        missing.append(("chair", f"No source on record names who {verb} {name}."))
    missing.append(("agenda", f"No source on record gives the agenda of {name}."))
    if over:
        missing.append(("outcomes", f"No source on record says what was agreed at {name}."))
    else:
        state = "it is under way" if bounds and now >= bounds[0] else "it has not opened yet"
        missing.append(("outcomes", f"No source on record gives outcomes of {name}: {state}."))
    return missing


def _missing_delegations(m: Meeting, delegations: list[Delegation]) -> _Missing:
    if not delegations:
        return [("delegations", f"No source on record names a delegation to {m.short}.")]
    return [
        (
            f"head:{d.economy.id}",
            f"No source on record names the head of the {d.economy.name} delegation "
            f"to {d.meeting.short}.",
        )
        for d in delegations
        if d.head is None
    ]


def _missing_objectives(
    m: Meeting, economy: Economy | None, delegations: list[Delegation]
) -> _Missing:
    if economy is None:
        return []
    own = [d for d in delegations if d.economy.id == economy.id]
    if not own:
        return [
            (
                "objectives",
                f"No source on record names a {economy.name} delegation to {m.short}, "
                "or its objectives.",
            )
        ]
    if not any(d.objectives for d in own):
        return [
            (
                "objectives",
                f"No source on record states the objectives of the {economy.name} delegation "
                f"to {m.short}.",
            )
        ]
    return []


def _missing_year(m: Meeting, theme: list[Line], priorities: list[Line]) -> _Missing:
    year = m.year or "this year"
    missing: _Missing = []
    if not theme:
        missing.append(("theme", f"No source on record gives the theme of APEC {year}."))
    if not priorities:
        missing.append(
            ("priorities", f"No source on record states the host's priorities for APEC {year}.")
        )
    return missing


# -- Slack ----------------------------------------------------------------------------------------


@command("brief", usage="brief MEETING [for ECONOMY]", example="brief SOM2 for Korea", slow=True)
def brief(ask: Ask) -> Card:
    """The briefing note for a meeting, every line cited, with what is not on record."""
    found = request(ask.store, ask.args, ask.now, ask.desk_economy, ask.tz)
    if isinstance(found, Card):
        return found
    card = summary_card(found, ask.via, ask.args)
    if ask.via == "slack":  # the whole note, made once, goes to the channel after the ack
        card.document = Document(
            found.heading,
            to_markdown(found),
            filename(found, "md"),
            meeting=found.meeting.id,
            economy=found.economy.id if found.economy else "",
        )
    return card


def summary_card(b: Brief, via: str = "slack", args: str = "") -> Card:
    """The short message: the meeting, the countdown, three lines, their sources."""
    m = b.meeting
    card = Card().section(f"*{esc(b.heading)}*")
    where = f" · {esc(m.place)}" if m.place else ""
    card.section(f"{esc(when(m))}{where} — _{esc(b.countdown)}_")
    points = summary_lines(b)
    card.section("\n".join(f"• {esc(text)}" for text, _ in points))
    for _, line in points:
        if line is not None and line.source is not None:
            card.cite(line.source, line.quote)
    if via == "slack":
        card.context(
            "The whole note is posted in this channel as a canvas "
            "(or a Markdown file where canvases are off)."
        )
    else:
        command = " ".join(args.split()) or m.short
        card.context(
            f"The whole note: `apec-bot brief {esc(command)}` "
            "(`--format docx -o brief.docx` for Word)."
        )
    return card


def summary_lines(b: Brief) -> list[tuple[str, Line | None]]:
    """Three lines: the theme, the delegations on record, what is not on record."""
    theme = b.section("theme").lines
    first: tuple[str, Line | None] = (
        (f"Theme: {theme[0].text}", theme[0]) if theme else ("No theme on record.", None)
    )
    heads = [
        ln for ln in b.section("delegations").lines if ln.text.startswith(("led by", "no source"))
    ]
    second: tuple[str, Line | None]
    if heads:
        who = "; ".join(f"{ln.label}, {ln.text.split(' (to ')[0]}" for ln in heads)
        second = (f"Delegations on record: {who}.", heads[0])
    else:
        second = ("No delegation on record.", None)
    return [first, second, (f"Not on record: {_missing_words(b.section('missing'))}.", None)]


MISSING_WORDS = {
    "dates": "the exact dates",
    "time": "a time of day",
    "city": "the city",
    "venue": "the venue",
    "chair": "the chair",
    "agenda": "the agenda",
    "outcomes": "the outcomes",
    "delegations": "any delegation",
    "head": "a delegation head",
    "objectives": "the objectives",
    "theme": "the theme",
    "priorities": "the priorities",
}


# -- Markdown --------------------------------------------------------------------------------------

_RISKY = re.compile(
    r"(?:https?://|mailto:|www\.)[^\s<>|\"'`]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE
)
# What Markdown (CommonMark with GitHub's and Slack's extensions) would read as markup: code,
# emphasis, strikethrough and link brackets anywhere; a backslash only before punctuation (where
# it escapes); `&` only where it would start an entity (`&amp;`, `&#60;`), so "Q&A" stays.
_MD_SPECIAL = re.compile(r"[`*~\[\]]|\\(?=[!-/:-@\[-`{-~])|&(?=#?\w+;)")
# `_` opens or closes emphasis only beside a space or punctuation: inside a word
# (APEC_DESK_ECONOMY) it is a letter (CommonMark's flanking rules).
_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
_LINE_START = re.compile(r"^(?:[#+-]|\d+(?=[.)]))")


def md_text(text: str) -> str:
    """Text from a source or a user, made inert in Markdown, once, and otherwise left as written:
    `<` and `>` as entities (no mention, broadcast or autolink of Slack's `<...>` can form),
    Markdown's own characters escaped only where Markdown would read them, and addresses
    (https://, mailto:, www., e-mail) in code spans, where no renderer links them."""
    out, at = [], 0
    for found in _RISKY.finditer(text):
        address = found[0].rstrip(".,;:!?)")  # the sentence's punctuation is not the address's
        out.append(_md_plain(text[at : found.start()]))
        out.append(_code(address))
        at = found.start() + len(address)
    out.append(_md_plain(text[at:]))
    joined = "".join(out)
    # What would start a heading, a list or an ordered list where the text starts a line.
    return _LINE_START.sub(lambda m: m[0] + "\\" if m[0][0].isdigit() else "\\" + m[0], joined)


def _md_plain(text: str) -> str:
    text = " ".join(text.split("\n"))
    text = _MD_SPECIAL.sub(lambda m: "&amp;" if m[0] == "&" else "\\" + m[0], text)
    text = _UNDERSCORE.sub(r"\\_", text)
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def to_markdown(b: Brief) -> str:
    """The whole note as Markdown: Key points first, headings, bullet lists (a person's or a
    delegation's lines beneath their name), a marker [n] on every cited line, the sources at the
    end, each once, with its date and the distinct quotes cited from it."""
    economy = f" · for {b.economy.name}" if b.economy else ""
    out = [
        f"# {md_text(b.heading)}",
        "",
        f"_As of {b.as_of}{md_text(economy)} · {md_text(b.countdown)}._ "
        "Every line ends with the number of its source, listed at the end with its date.",
    ]
    for s in b.sections:
        out += ["", f"## {md_text(s.title)}", ""]
        if s.note:
            out.append(f"_{md_text(s.note)}_")
        for ln, first in grouped(s):
            mark = f" [{b.number(ln.source)}]" if ln.source else ""
            if s.grouped and not first:
                out.append(f"  - {md_text(ln.text)}{mark}")
            elif s.grouped:
                out.append(f"- **{md_text(ln.label)}** — {md_text(ln.text)}{mark}")
            else:
                label = f"**{md_text(ln.label)}:** " if ln.label else ""
                out.append(f"- {label}{md_text(ln.text)}{mark}")
    out += ["", "## Sources", ""]
    for n, source in enumerate(b.sources, 1):
        out.append(f"{n}. {md_text(source.cite())}")
        out += [f"   - “{md_text(q)}”" for q in b.listed_quotes(source)]
    return "\n".join(out) + "\n"


def grouped(s: Section) -> list[tuple[Line, bool]]:
    """Each line, and whether it starts its group: in a grouped section, a line whose label is
    not the one before's (the person, the delegation); elsewhere every line."""
    out, previous = [], None
    for ln in s.lines:
        out.append((ln, not s.grouped or ln.label != previous))
        previous = ln.label
    return out


def filename(b: Brief, ext: str) -> str:
    """A file name for the note: brief-som1-2026-01-20.md."""
    slug = re.sub(r"[^a-z0-9]+", "-", fold(b.meeting.short)).strip("-") or "meeting"
    return f"brief-{slug}-{b.now.astimezone(b.tz).date().isoformat()}.{ext}"
