"""Meetings: the next one, those in a period, one by name, and the countdown."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from handlers.registry import Ask, UsageError, command, reads_nothing
from handlers.render import Card, esc, status_word, when
from store.dates import Span, read_period
from store.models import Meeting
from store.queries import Store
from store.vocabulary import KIND_LABELS, KIND_PHRASES


def title(m: Meeting) -> str:
    """ "SOM1 — First Senior Officials' Meeting", or the name alone when the short name is the
    name."""
    return m.name if m.short == m.name else f"{m.short} — {m.name}"


def meeting_line(m: Meeting, now: datetime | None = None) -> str:
    """One line per meeting in a list."""
    where = f" · {esc(m.place)}" if m.place else ""
    status = status_word(m, now)
    return f"• *{esc(title(m))}* — {esc(when(m))}{where} · _{status}_"


def meeting_card(card: Card, m: Meeting, store: Store, now: datetime | None = None) -> Card:
    """Everything on record about one meeting, cited."""
    card.section(f"*{esc(title(m))}*")
    lines = [f"*When:* {esc(when(m))} ({status_word(m, now)})"]
    lines.append(f"*Where:* {esc(m.place) if m.place else 'no place on record'}")
    if m.parent_id and (parent := next((p for p in store.meetings() if p.id == m.parent_id), None)):
        lines.append(f"*Part of:* {esc(title(parent))}")
    if m.note:
        lines.append(f"_{esc(m.note)}_")
    card.section("\n".join(lines))
    parts = store.parts(m.id)
    if parts:
        card.section("*Held as part of it:*\n" + "\n".join(meeting_line(p, now) for p in parts))
    card.cite(m.source, m.quote)
    return card


def days_until(m: Meeting, now: datetime) -> int:
    """Whole days from today at the venue to the meeting's first day."""
    assert m.span.start is not None
    return (m.span.start - now.astimezone(m.zone).date()).days


def in_days(n: int) -> str:
    return "today" if n == 0 else "tomorrow" if n == 1 else f"in {n} days"


def opens_in(m: Meeting, now: datetime) -> str:
    """ "opens in 12 days" for a meeting known to the day; a month-only date gets no count."""
    if not m.dated:
        return f"is in {when(m)}"
    return f"opens {in_days(days_until(m, now))}"


# Words next-meeting reads past: they name no kind, and ask nothing else.
READ_PAST = frozenset({"meeting", "meetings", "apec", "the", "one"})


def kind_asked(ask: Ask) -> str | None:
    """The kind of meeting the words name, typos and punctuation forgiven ("SOM?", "smmit");
    None for none ("meeting?"). Words that name no kind are a usage error."""
    if not ask.args:
        return None
    kind = kind_read(ask.store, ask.args)
    if kind is None:
        raise UsageError(
            f"I don't know the kind of meeting `{esc(ask.args[:40])}`: "
            "try som, summit or ministerial."
        )
    return kind or None


def kind_read(store: Store, args: str) -> str | None:
    """The kind of meeting `args` name, as the question reader reads their words and no further;
    "" when they name none and hold only words read past; None when they hold others."""
    if args in _read_as_themselves(store):  # a kind by its own name, as the reply cache keeps it
        return args
    return _kind_read(store, args)


def _read_as_themselves(store: Store) -> frozenset[str]:
    """The kinds whose own names read as themselves in this store (all, with the seeds' words),
    worked out once a store view: `understood` keeps a `next-meeting` under its kind's name, and
    reading that name again through the question reader cost as much as reading the words typed
    (a sixth of a reply made, in one thread)."""
    return store.cached(
        "kinds read as themselves",
        lambda: frozenset(k for k in KIND_PHRASES if _kind_read(store, k) == k),
    )


def _kind_read(store: Store, args: str) -> str | None:
    from handlers.question import kind_named, words_of

    words = words_of(store, args)
    kind = kind_named(words)
    if kind is None and set(words) - READ_PAST:
        return None
    return kind or ""


@command(
    "next-meeting",
    usage="next-meeting [som|summit|ministerial]",
    example="next-meeting som",
    aliases=("next", "nextmeeting"),
    kept=True,
    reads=kind_read,
)
def next_meeting(ask: Ask) -> Card:
    """The next meeting on record, optionally of one kind (som, summit, ministerial)."""
    kind = kind_asked(ask)
    card = Card()
    for m in ask.store.ongoing(ask.now):
        if kind is None and not m.parent_id or kind == m.kind:
            card.section(f"Under way now: *{esc(title(m))}*, {esc(when(m))}, {esc(m.place)}.")
    found = ask.store.next_meeting(after=ask.now, kind=kind)
    if found is None:
        return no_upcoming(card, ask, kind)
    what = KIND_LABELS.get(kind or "", "meeting")
    card.section(f"The next {what} on record {esc(opens_in(found, ask.now))}:")
    meeting_card(card, found, ask.store, ask.now)
    return card


# What to do when nothing ahead is on record: the calendar grows only by the desk's hand.
HOW_TO_ADD = (
    "Admins add a meeting with `/apec add-meeting NAME DATES CITY`, or approve one a watched "
    "source announced: `/apec proposals`."
)


def no_upcoming(card: Card, ask: Ask, kind: str | None) -> Card:
    """No upcoming meeting: say so plainly, name the last one, and say how one gets on record."""
    what = KIND_LABELS.get(kind or "", "meeting")
    card.section(f"No upcoming {what} is on record.")
    card.context(HOW_TO_ADD)
    last = ask.store.last_meeting(before=ask.now, kind=kind)
    if last is not None:
        card.section(
            f"The last was *{esc(title(last))}*, {esc(when(last))}"
            + (f", {esc(last.place)}" if last.place else "")
            + f" ({status_word(last, ask.now)})."
        )
        card.cite(last.source, last.quote)
    undated = [
        m
        for m in ask.store.meetings()
        if not m.placed
        and m.status in ("tbc", "scheduled")
        and (kind is None or m.kind == kind)
        and not m.parent_id
        and (m.span.end is None or m.span.end >= ask.now.date())
    ]
    if undated:
        card.context(
            f"{len(undated)} announced meeting(s) have no dates on record: "
            "`/apec meetings` lists them."
        )
    return card


@command(
    "meetings",
    usage="meetings [period]",
    example="meetings in May",
    aliases=("calendar", "schedule"),
    kept=True,
)
def meetings(ask: Ask) -> Card:
    """Meetings in a period ("in May", "next month", "this week", "2026", "between March and
    June")."""
    store = ask.store
    card = Card()
    if not ask.args:
        dated = [m for m in store.meetings() if not m.parent_id and m.placed]
        undated = [m for m in store.meetings() if not m.parent_id and m not in dated]
        card.section("*Meetings on record*\n" + "\n".join(meeting_line(m, ask.now) for m in dated))
        if undated:
            card.section(
                "*Announced, no dates on record*\n"
                + "\n".join(meeting_line(m, ask.now) for m in undated)
            )
        card.context("Narrow it: `/apec meetings in May`, `/apec meetings next month`.")
        return _cite_all(card, dated + undated)
    period = read_period(ask.args, ask.now)
    if period is None or period.start is None or period.end is None:
        raise UsageError(f"I can't read `{esc(ask.args[:60])}` as a period.")
    found = store.meetings_between(period.start, period.end)
    label = esc(period_label(period))
    if not found:
        card.section(f"No meetings on record for {label}.")
        nxt = store.next_meeting(after=ask.now)
        if nxt is not None:
            card.context(f"The next on record: {esc(title(nxt))}, {esc(when(nxt))}.")
        return card
    card.section(f"*Meetings for {label}*\n" + "\n".join(meeting_line(m, ask.now) for m in found))
    return _cite_all(card, found)


def period_label(period: Span) -> str:
    """A period as the user meant it: "May 2026", "23–29 November 2026"."""
    return (
        period.describe().replace(", dates not confirmed", "").replace(", date not confirmed", "")
    )


def _cite_all(card: Card, found: list[Meeting]) -> Card:
    for source in dict.fromkeys(m.source for m in found):
        card.cite(source)
    return card


def find_meeting(store: Store, name: str) -> Meeting | None:
    """A meeting by any name: its own, or the first a text names ("the Shanghai SOM")."""
    return store.meeting(name) or next(iter(store.meetings_in_text(name)), None)


@command("meeting", usage="meeting NAME", example="meeting SOM2", kept=True)
def meeting(ask: Ask) -> Card:
    """Everything on record about one meeting: dates, place, status, its parts, the source."""
    if not ask.args:
        raise UsageError("Which meeting?")
    found = find_meeting(ask.store, ask.args)
    if found is None:
        return not_found_meeting(ask.store, ask.args)
    return meeting_card(Card(), found, ask.store, ask.now)


def not_found_meeting(store: Store, name: str) -> Card:
    """An unknown meeting: the closest names on record and an example."""
    card = Card().section(f"I have no meeting called `{esc(name[:60])}` on record.")
    close = store.meeting_suggestions(name)
    if close:
        card.section("Did you mean " + ", ".join(f"`{esc(c)}`" for c in close) + "?")
    card.context("For example `/apec meeting SOM1`; `/apec meetings` lists them all.")
    return card


@command("countdown", example="countdown", aliases=("days",), kept=True, reads=reads_nothing)
def countdown(ask: Ask) -> Card:
    """Days to the next Senior Officials' Meeting and to the Leaders' Summit."""
    card = Card()
    for kind in ("som", "summit"):
        nxt = ask.store.next_meeting(after=ask.now, kind=kind)
        if nxt is None:
            last = ask.store.last_meeting(before=ask.now, kind=kind)
            tail = f" The last was {esc(title(last))}, {esc(when(last))}." if last else ""
            card.section(f"*{KIND_LABELS[kind]}:* none upcoming on record.{tail}")
            if last:
                card.cite(last.source, last.quote)
            continue
        card.section(
            f"*{KIND_LABELS[kind]}:* {esc(title(nxt))} {esc(opens_in(nxt, ask.now))}"
            f"{' — ' + esc(when(nxt)) if nxt.dated else ''}"
            f"{', ' + esc(nxt.place) if nxt.place else ''}"
        )
        card.cite(nxt.source, nxt.quote)
    return card


def upcoming(store: Store, now: datetime, days: int = 30) -> list[Meeting]:
    """Meetings starting in the next `days` days (for the Home tab and digests)."""
    end: date = (now + timedelta(days=days)).date()
    return [m for m in store.meetings_between(now.date(), end) if not m.parent_id]
