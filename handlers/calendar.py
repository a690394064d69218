"""The calendar feed: every meeting known to the day as an all-day event (RFC 5545), and
`/apec ics`."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from handlers.meetings import title
from handlers.registry import Ask, command, refuse_unless_admin
from handlers.render import STATUS_WORDS, Card, esc, when
from store.desk import Desk
from store.edits import Revisions, revisions
from store.models import Meeting
from store.queries import Store

if TYPE_CHECKING:
    from icalendar import Event

PRODID = "-//APEC desk bot//EN"
CALNAME = "APEC meetings"
FEED_PATH = "/calendar/{token}.ics"
PLACEHOLDER_BASE = "https://YOUR-BOT-HOST"
UID_DOMAIN = "apec-desk-bot"
# How often subscribers should ask again: RFC 7986's REFRESH-INTERVAL, and Outlook's own
# X-PUBLISHED-TTL (which it reads instead); an hour, as the desk changes the calendar by the day.
REFRESH = timedelta(hours=1)

# iCalendar knows three states; "reported" and "tbc" are not yet confirmed by an official release.
EVENT_STATUS = {
    "held": "CONFIRMED",
    "scheduled": "CONFIRMED",
    "reported": "TENTATIVE",
    "tbc": "TENTATIVE",
    "cancelled": "CANCELLED",
}


def in_feed(store: Store) -> list[Meeting]:
    """The meetings in the feed: those known to the day, cancelled ones too (so apps drop them)."""
    return [m for m in store.meetings() if m.dated]


def left_out(store: Store) -> list[Meeting]:
    """Meetings a calendar cannot place on a day: month-only, "from May", undated."""
    return [m for m in store.meetings() if not m.dated]


def uid(meeting: Meeting) -> str:
    """The event's UID: the meeting's id, so a re-dated or edited meeting updates in place."""
    return f"{meeting.id}@{UID_DOMAIN}"


def feed_url(base: str, token: str) -> str:
    """The feed's secret address under the bot's public base URL."""
    return (base or PLACEHOLDER_BASE).rstrip("/") + FEED_PATH.format(token=token)


def internal(note: str) -> bool:
    """A desk note marked for the desk's eyes only ("internal: ..."): never in the feed."""
    return note.strip().lower().startswith("internal:")


def calendar(store: Store, now: datetime) -> bytes:
    """The feed as an iCalendar file; the same store and `now` give the same bytes."""
    meetings = in_feed(store)
    by_id = {m.id: m for m in store.meetings()}
    from icalendar import Calendar, vDuration  # 80 ms to import: only when a feed is asked for

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", CALNAME)
    cal.add("x-wr-caldesc", _caldesc(meetings))
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))
    # DTSTAMP is when this copy of the feed was made (RFC 5545 with METHOD); no microseconds.
    stamp = now.astimezone(UTC).replace(microsecond=0)
    revised = revisions(store.db)
    for m in meetings:
        cal.add_component(_event(m, by_id.get(m.parent_id), stamp, revised.get(m.id)))
    ical: bytes = cal.to_ical()  # icalendar leaves to_ical() unannotated
    return ical


def _modified(m: Meeting, revised: Revisions | None) -> datetime:
    """When the event last changed (UTC, as RFC 5545 wants it): the desk's last change to it,
    else the day its source published what it says, at midnight UTC. Not the clock's: the same
    store gives the same bytes (and ETag) whenever it is asked, a store built again too."""
    if revised is not None:
        return revised.last.astimezone(UTC).replace(microsecond=0)
    return datetime.combine(m.source.reference_date, time(0), UTC)


def _event(m: Meeting, parent: Meeting | None, stamp: datetime, revised: Revisions | None) -> Event:
    assert m.span.start is not None  # dated
    last = m.span.end or m.span.start
    from icalendar import Event

    event = Event()
    event.add("uid", uid(m))
    event.add("dtstamp", stamp)
    # All-day dates are the venue's own calendar days; RFC 5545's DTEND is the day after.
    event.add("dtstart", m.span.start)
    event.add("dtend", last + timedelta(days=1))
    event.add("summary", title(m))
    if m.place:
        event.add("location", m.place)
    event.add("description", _description(m, parent))
    event.add("status", EVENT_STATUS.get(m.status, "TENTATIVE"))
    event.add("categories", [m.kind])
    # SEQUENCE counts the desk's revisions of the meeting (its audit trail, which only grows),
    # so an app takes a re-dated event over the one it holds; a change the seeds make leaves it
    # as it was, and then the newer DTSTAMP is what wins (RFC 5546).
    event.add("sequence", revised.count if revised is not None else 0)
    event.add("last-modified", _modified(m, revised))
    event.add("transp", "TRANSPARENT")  # a ten-day SOM should not mark subscribers busy
    event.add("x-apec-venue-tz", m.tz or "UTC")
    return event


def _description(m: Meeting, parent: Meeting | None) -> str:
    written = m.span.text or m.span.describe()
    lines = [
        f"Dates as the source writes them: {written} ({m.span.describe()})",
        f"Status: {STATUS_WORDS.get(m.status, m.status)}",
    ]
    if parent is not None:
        lines.append(f"Part of: {title(parent)}")
    if m.note and not internal(m.note):
        lines.append(m.note)
    if m.origin == "desk":  # the desk's own record: no editor's user ID, no internal note
        lines.append("Source: the desk's records")
    else:
        quote = " ".join(m.quote.split())
        source = f"Source: {m.source.cite()}"
        lines.append(f"{source} — “{quote}”" if quote else source)
    lines.append(f"Venue time zone: {m.tz or 'UTC'}")
    return "\n".join(lines)


def _caldesc(meetings: list[Meeting]) -> str:
    sources = "; ".join(dict.fromkeys(m.source.cite() for m in meetings))
    return (
        "APEC meetings known to the day, as all-day events on the venue's dates; meetings known "
        f"only to the month or not yet dated are left out. Sources: {sources or 'none'}."
    )


@command(
    "ics",
    usage="ics [rotate]",
    example="ics",
    aliases=("ical", "feed"),
    private=True,
    writes=True,
    mention=True,
)
def ics(ask: Ask) -> Card:
    """Where to subscribe to the meetings calendar (a secret address), and what it leaves out."""
    store = ask.store
    desk = Desk(store.db)
    if ask.args.strip().lower() == "rotate":
        refusal = refuse_unless_admin(ask)
        if refusal is not None:
            return refusal
        token = desk.rotate_feed_token()
        card = Card().section(
            ":key: New calendar address: the old one stops working now. "
            "Subscribers need the new one:"
        )
        return card.section(f"`{esc(feed_url(ask.public_url, token))}`")
    events = in_feed(store)
    card = Card().section("*Subscribe to the APEC meetings calendar*")
    card.section(
        'Add this address in your calendar app as a subscription ("From URL"); re-dated and '
        "cancelled meetings then update in place:\n"
        f"`{esc(feed_url(ask.public_url, desk.feed_token()))}`"
    )
    if not ask.public_url:
        card.context(
            "Replace YOUR-BOT-HOST with the public address of the bot's HTTP port "
            "(the admin sets APEC_PUBLIC_URL to show it here)."
        )
    card.context(
        "The address is a secret: anyone with it can read the feed. An admin can change it with "
        "`/apec ics rotate`. In Socket Mode, or for a file to import: `apec-bot ics > apec.ics`."
    )
    return _feed_summary(card, store, events)


def _feed_summary(card: Card, store: Store, events: list[Meeting]) -> Card:
    cancelled = sum(m.status == "cancelled" for m in events)
    tail = f", {cancelled} of them cancelled (kept so calendars remove them)" if cancelled else ""
    card.section(
        f"*In the feed:* {len(events)} meeting(s) known to the day, as all-day events on the "
        f"venue's dates{tail}."
    )
    out = left_out(store)
    if out:
        groups: dict[str, list[str]] = {}
        for m in out:
            groups.setdefault(when(m), []).append(m.short)
        lines = [f"• _{esc(reason)}_: {esc(', '.join(names))}" for reason, names in groups.items()]
        card.section(
            f"*Left out ({len(out)}):* a calendar event needs its days, and these have none on "
            "record yet.\n" + "\n".join(lines)
        )
        card.context("They join the feed once a source dates them; `/apec meetings` lists them.")
    return card
