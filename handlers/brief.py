"""Briefing notes: `/apec brief MEETING [for ECONOMY]`, the desk's note for a meeting, every line cited.

A brief is a plain data structure (`Brief`: sections of cited `Line`s) assembled from the store as
of `now`; it is rendered three ways: a short Slack card (`summary_card`), Markdown (`to_markdown`:
the CLI, a Slack canvas or a Markdown file) and Word (handlers/brief_docx.py). Each line names the
record it states (its source and quote); the one section whose lines have no source is "not on
record", the things a brief would normally hold that no source gives.
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
from handlers.render import MAX_QUOTE, Card, Document, day_text, esc, status_word, when
from handlers.router import Ask, UsageError, command
from store.models import Delegation, Economy, Fact, Meeting, Person, Source
from store.queries import Store
from store.text import fold, one_line

RECENT = 8  # sources in "recent sources"
RELATED_KINDS = {"som": ("som", "summit"), "summit": ("summit", "som")}
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_FOR = re.compile(r"^(?P<meeting>.+?)\s+for\s+(?P<economy>.+)$", re.IGNORECASE)
_CHAIR = re.compile(r"\b(?:presid\w*|chair\w*)\b", re.IGNORECASE)


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
        """The distinct quotes the brief cites from one source, in order."""
        found = [
            ln.quote
            for s in self.sections
            for ln in s.lines
            if ln.source and ln.source.id == source.id and ln.quote
        ]
        return list(dict.fromkeys(found))


# -- what was asked --------------------------------------------------------------------------------


def request(store: Store, args: str, now: datetime, default_economy: str = "",
            tz: ZoneInfo | None = None) -> Brief | Card:  # fmt: skip
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


# -- assembling -------------------------------------------------------------------------------------


def build_brief(store: Store, m: Meeting, now: datetime, economy: Economy | None = None,
                tz: ZoneInfo | None = None) -> Brief:  # fmt: skip
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
    sections.append(missing_section(store, m, now, economy, delegations, theme, priorities))
    return Brief(m, economy, now, tz or ZoneInfo("UTC"), countdown(m, now), tuple(sections))


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
    status, left = status_word(m, now), countdown(m, now)
    text = left if left.startswith(status.split(";")[0]) else f"{status}; {left}"
    lines.append(Line(text, m.source, m.quote, "Status"))
    if m.note and not internal(m.note):
        lines.append(Line(m.note, m.source, m.quote, "Desk note"))
    by_id = {x.id: x for x in store.meetings()}
    parent = by_id.get(m.parent_id)
    if parent is not None:
        lines.append(Line(_listed(parent), parent.source, parent.quote, "Part of"))
    for part in store.parts(m.id):
        lines.append(Line(_listed(part), part.source, part.quote, "Held as part of it"))
    for other in related(store, m):
        lines.append(Line(_listed(other), other.source, other.quote, "Related"))
    return lines


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
    return Section("delegations", "Delegations on record", tuple(lines), note)


def _person(p: Person) -> str:
    return f"{p.name} ({p.title})" if p.title else p.name


def objectives_section(store: Store, m: Meeting, economy: Economy | None,
                       delegations: list[Delegation]) -> Section:  # fmt: skip
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
    return Section("people", "People", tuple(lines), note)


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


def missing_section(store: Store, m: Meeting, now: datetime, economy: Economy | None,
                    delegations: list[Delegation], theme: list[Line],
                    priorities: list[Line]) -> Section:  # fmt: skip
    """What a brief would normally hold that no source gives, said as plainly as the bot's
    other "no source" answers."""
    name = m.short
    missing: list[tuple[str, str]] = []
    if not m.dated and not (m.within and m.within.precision == "day"):
        if m.placed:
            missing.append(("dates", f"No source on record gives the exact dates of {name}: it is known only as {when(m)}."))  # fmt: skip
        else:
            missing.append(("dates", f"No source on record gives the dates of {name}."))
    else:
        missing.append(("time", f"No source on record gives a time of day for {name}: the sources give days only."))  # fmt: skip
    if not m.city:
        missing.append(("city", f"No source on record names the city of {name}."))
    else:
        missing.append(("venue", f"No source on record names the venue of {name} in {m.city}."))
    bounds = m.bounds()
    over = now >= bounds[1] if bounds else m.status == "held"
    chair = [r for p in store.people() for r in p.roles if r.meeting_id == m.id and _CHAIR.search(r.role)]  # fmt: skip
    if not chair:
        verb = "chaired" if over else "chairs"
        missing.append(("chair", f"No source on record names who {verb} {name}."))
    missing.append(("agenda", f"No source on record gives the agenda of {name}."))
    if over:
        missing.append(("outcomes", f"No source on record says what was agreed at {name}."))
    else:
        state = "it is under way" if bounds and now >= bounds[0] else "it has not opened yet"
        missing.append(("outcomes", f"No source on record gives outcomes of {name}: {state}."))
    if not delegations:
        missing.append(("delegations", f"No source on record names a delegation to {name}."))
    for d in delegations:
        if d.head is None:
            missing.append((f"head:{d.economy.id}", f"No source on record names the head of the {d.economy.name} delegation to {d.meeting.short}."))  # fmt: skip
    if economy is not None:
        own = [d for d in delegations if d.economy.id == economy.id]
        if not own:
            missing.append(("objectives", f"No source on record names a {economy.name} delegation to {name}, or its objectives."))  # fmt: skip
        elif not any(d.objectives for d in own):
            missing.append(("objectives", f"No source on record states the objectives of the {economy.name} delegation to {name}."))  # fmt: skip
    year = m.year or "this year"
    if not theme:
        missing.append(("theme", f"No source on record gives the theme of APEC {year}."))
    if not priorities:
        missing.append(("priorities", f"No source on record states the host's priorities for APEC {year}."))  # fmt: skip
    return Section("missing", "Not on record", tuple(Line(t, key=k) for k, t in missing))


# -- Slack ----------------------------------------------------------------------------------------


@command("brief", usage="brief MEETING [for ECONOMY]", example="brief SOM2 for Korea")
def brief(ask: Ask) -> Card:
    """The briefing note for a meeting, every line cited, with what is not on record."""
    found = request(ask.store, ask.args, ask.now, ask.desk_economy, ask.tz)
    if isinstance(found, Card):
        return found
    card = summary_card(found, ask.via, ask.args)
    if ask.via == "slack":  # the whole note, made once, goes to the channel after the ack
        card.document = Document(found.heading, to_markdown(found), filename(found, "md"))
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
        card.context("The whole note is posted in this channel as a canvas (or a Markdown file where canvases are off).")  # fmt: skip
    else:
        command = " ".join(args.split()) or m.short
        card.context(f"The whole note: `apec-bot brief {esc(command)}` (`--format docx -o brief.docx` for Word).")  # fmt: skip
    return card


def summary_lines(b: Brief) -> list[tuple[str, Line | None]]:
    """Three lines: the theme, the delegations on record, what is not on record."""
    theme = b.section("theme").lines
    first = (f"Theme: {theme[0].text}", theme[0]) if theme else ("No theme on record.", None)
    heads = [ln for ln in b.section("delegations").lines if ln.text.startswith(("led by", "no source"))]  # fmt: skip
    if heads:
        who = "; ".join(f"{ln.label}, {ln.text.split(' (to ')[0]}" for ln in heads)
        second = (f"Delegations on record: {who}.", heads[0])
    else:
        second = ("No delegation on record.", None)
    missing = [ln.key.split(":")[0] for ln in b.section("missing").lines]
    words = ", ".join(dict.fromkeys(MISSING_WORDS.get(k, k) for k in missing))
    return [first, second, (f"Not on record: {words}.", None)]


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
_MD_SPECIAL = re.compile(r"([\\`*_\[\]])")


def md_text(text: str) -> str:
    """Text from a source or a user, made inert in Markdown, once: `<`, `>` and `&` as entities
    (no mention, broadcast or autolink of Slack's `<...>` can form), Markdown's link and emphasis
    characters escaped, and addresses (https://, mailto:, www., e-mail) in code spans, where no
    renderer links them."""
    out, at = [], 0
    for found in _RISKY.finditer(text):
        address = found[0].rstrip(".,;:!?)")  # the sentence's punctuation is not the address's
        out.append(_md_plain(text[at : found.start()]))
        out.append(_code(address))
        at = found.start() + len(address)
    out.append(_md_plain(text[at:]))
    return "".join(out)


def _md_plain(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split("\n")))


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def to_markdown(b: Brief) -> str:
    """The whole note as Markdown: headings, bullet lists, a marker [n] on every line, the
    sources at the end with their dates and the quotes cited from each."""
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
        for ln in s.lines:
            label = f"**{md_text(ln.label)}:** " if ln.label else ""
            mark = f" [{b.number(ln.source)}]" if ln.source else ""
            out.append(f"- {label}{md_text(ln.text)}{mark}")
    out += ["", "## Sources", ""]
    for n, source in enumerate(b.sources, 1):
        out.append(f"{n}. {md_text(source.cite())}")
        out += [f"   - “{md_text(short_quote(q))}”" for q in b.quotes(source)]
    return "\n".join(out) + "\n"


def filename(b: Brief, ext: str) -> str:
    """A file name for the note: brief-som1-2026-01-20.md."""
    slug = re.sub(r"[^a-z0-9]+", "-", fold(b.meeting.short)).strip("-") or "meeting"
    return f"brief-{slug}-{b.now.astimezone(b.tz).date().isoformat()}.{ext}"
