"""Building Slack message payloads: Block Kit blocks with a plain-text fallback, dates,
citations."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Self

from store.models import Meeting, Source
from store.text import one_line

Reply = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_QUOTE = 240

_TOKEN = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<(?:https?://|mailto:)[^|>]*\|([^>]*)>")
_BARE_LINK = re.compile(r"<((?:https?://|mailto:)[^|>]*)>")

STATUS_WORDS = {
    "held": "held",
    "scheduled": "scheduled",
    "reported": "reported (not confirmed by an official release)",
    "tbc": "to be confirmed",
    "cancelled": "cancelled",
}


def status_word(meeting: Meeting, now: datetime | None = None) -> str:
    """The status as of `now`: a source's "held" is not shown for a meeting still ahead, and a
    "scheduled" one now past says that no source yet reports it held."""
    word = STATUS_WORDS.get(meeting.status, meeting.status)
    if now is None:
        return word
    bounds = meeting.bounds()
    if bounds is None or meeting.status == "cancelled":
        return word
    start, end = bounds
    if start <= now < end and meeting.month_only:
        return word  # somewhere in its month: whether it has begun is not on record
    if start <= now < end:
        under_way = f"under way{_day_of(meeting, now, start, end)}"
        return under_way if meeting.status in ("held", "scheduled") else f"{under_way}; {word}"
    if meeting.status == "held" and now < start:
        return "scheduled"
    if meeting.status == "scheduled" and now >= end:
        return "scheduled; no source on record reports it held"
    if meeting.dated and now.astimezone(meeting.zone).date() == end.date():
        return f"{word}, ended yesterday"
    return word


def _day_of(meeting: Meeting, now: datetime, start: datetime, end: datetime) -> str:
    """ ", day 2 of 2" for a meeting under way that is known to the day; "" when it is not."""
    if not meeting.dated:
        return ""
    day = (now.astimezone(meeting.zone).date() - start.date()).days + 1
    return f", day {day} of {(end - start).days}"


def esc(text: str) -> str:
    """User or source text made safe for mrkdwn: Slack's three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_ENTITY = re.compile(r"<([^<>]*)>")


_USER = re.compile(r"<@[A-Z0-9]+(?:\|[^<>]*)?>")


def from_slack(text: str, people: bool = True, ids: bool = False) -> str:
    """Text as Slack sends it, decoded once, made inert: broadcasts and mentions as the words
    they show (`@channel`, `@name`, `#channel`), links and dates as their label, `&amp;`, `&lt;`
    and `&gt;` as the characters. What comes out is escaped again, once, where it is shown.
    With `people=False` mentions of people (the bot's own, in a mention) are dropped; with
    `ids=True` people and channels stay as Slack sent them (`<@U…|ann>`, `<#C…|desk>`), for
    `remind`, which reads from them whom a reminder is for."""
    if not people:
        text = _USER.sub(" ", text)

    def entity(match: re.Match[str]) -> str:
        target, _, label = match[1].partition("|")
        if target.startswith("!date"):
            return label
        if target.startswith("!subteam^"):
            return label or "@group"
        if target.startswith("!"):
            return "@" + target[1:]
        if target.startswith(("@", "#")) and ids:
            return match[0]
        if target.startswith(("@", "#")):
            return target[0] + (label.lstrip("@#") or target[1:])
        return label or target

    decoded = _ENTITY.sub(entity, text)
    return decoded.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def plain(mrkdwn: str) -> str:
    """What a reader without Slack sees: date tokens and links as their fallback text, unescaped."""
    text = _TOKEN.sub(r"\1", mrkdwn)
    text = _LINK.sub(r"\1", text)
    text = _BARE_LINK.sub(r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")


def for_terminal(text: str) -> str:
    """The plain-text answer without mrkdwn's emphasis marks, for the console and the CLI."""
    return _ITALIC.sub(r"\1", _BOLD.sub(r"\1", text))


def date_token(moment: datetime, fmt: str, fallback: str) -> str:
    """Slack shows this in each reader's own zone; the fallback names the time it stands for."""
    return f"<!date^{int(moment.timestamp())}^{fmt}|{esc(fallback)}>"


def day_text(day: date) -> str:
    """A day as a desk writes it: 1 February 2026."""
    return f"{day.day} {day:%B %Y}"


def when(meeting: Meeting) -> str:
    """The meeting's dates as known: "1–10 February 2026", "May 2026, dates not confirmed"."""
    span = meeting.span
    if span.precision == "month" and not meeting.month_only and span.start is not None:
        return f"from {span.start:%B %Y}, no dates announced"
    if span.precision == "unknown" and meeting.parent_id:
        return "dates not given separately"
    if span.precision == "unknown":
        return "no dates on record"
    return span.describe()


def citation(source: Source, quote: str = "") -> str:
    """The line under an answer that says where it comes from."""
    line = f"Source: _{esc(source.cite())}_"
    if quote:
        line += f" — “{esc(one_line(quote, MAX_QUOTE))}”"
    return line


@dataclass(frozen=True)
class Button:
    """A button that runs `value` as a command ("Post to channel", "More")."""

    label: str
    action_id: str
    value: str


@dataclass(frozen=True)
class Document:
    """A whole note that goes beside a reply in Slack (a canvas, or a Markdown file where the
    workspace allows none): Markdown already made safe where it was written."""

    title: str
    markdown: str
    filename: str
    # What the note is of, so that asking again updates the same canvas or file in a channel.
    meeting: str = ""
    economy: str = ""


@dataclass
class Card:
    """A reply being put together, block by block: every text in it is escaped mrkdwn already.

    `payload()` gives Slack the message (its fallback `text` escaped like the blocks, so nothing
    typed reaches a notification as a live mention); `plain()` gives the console its words.
    """

    blocks: list[dict[str, Any]] = field(default_factory=list)
    response_type: str = "ephemeral"
    buttons: list[Button] = field(default_factory=list)
    modal: dict[str, Any] | None = None  # a form to open instead of a message
    document: Document | None = None  # in Slack, posted in the channel after the reply
    transient: bool = False  # about a passing trouble (the store down), not the records: never kept
    # For the asker alone (a secret address, a refusal): never in a channel, whatever the way in.
    private: bool = False
    refused: bool = False  # the asker may not do what they asked: counted as a refusal, not "ok"
    _cited: set[tuple[str, str]] = field(default_factory=set)

    def header(self, text: str) -> Self:
        """A header; plain text, which Slack shows as typed."""
        self.blocks.append(
            {"type": "header", "text": {"type": "plain_text", "text": _cut(text, MAX_HEADER)}}
        )
        return self

    def section(self, mrkdwn: str) -> Self:
        """A section, split over several where Slack's 3,000 characters need it (never cut)."""
        for piece in split_safely(mrkdwn, MAX_SECTION) if mrkdwn.strip() else []:
            self.blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": piece}})
        return self

    def listing(self, heading: str, lines: list[str]) -> Self:
        """A heading and a list, over as many sections as Slack's 3,000 characters need."""
        return self.section("\n".join([heading, *lines] if heading else lines))

    def context(self, mrkdwn: str) -> Self:
        for piece in split_safely(mrkdwn, MAX_SECTION) if mrkdwn.strip() else []:
            self.blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": piece}]})
        return self

    def cite(self, source: Source, quote: str = "") -> Self:
        """A citation, once per source and quote in one reply. The quote is a plain_text element
        beside the source's name: Slack reads no marks there, so a source's `~not~` or `*` shows
        as written (mrkdwn has no escape for them)."""
        key = (source.id, quote)
        if key not in self._cited:
            self._cited.add(key)
            if not quote:
                return self.context(citation(source))
            words = f"— “{one_line(quote, MAX_QUOTE)}”"
            self.blocks.append(
                {
                    "type": "context",
                    "elements": [
                        {"type": "mrkdwn", "text": citation(source)},
                        {"type": "plain_text", "text": words, "emoji": False},
                    ],
                }
            )
        return self

    def quote(self, text: str, lead: str = "", bold: str = "") -> Self:
        """Words quoted from a source or a person, shown as written: a rich_text quote, under a
        line of `bold` then `lead` if given (plain words, one block with the quote). Slack has no
        escape for mrkdwn's marks, and renders none in a rich_text `text` element (nor a mention
        or a link, which need elements of their own), so `~not~` keeps its tildes and the words
        go in as they are; `text()` escapes them, once, for the notification."""
        parts = []
        if bold or lead:
            line = [{"type": "text", "text": bold, "style": {"bold": True}}] if bold else []
            line += [{"type": "text", "text": lead}] if lead else []
            parts.append({"type": "rich_text_section", "elements": line})
        words = {"type": "text", "text": f"“{text}”"}
        parts.append({"type": "rich_text_quote", "elements": [words]})
        self.blocks.append({"type": "rich_text", "elements": parts})
        return self

    def divider(self) -> Self:
        self.blocks.append({"type": "divider"})
        return self

    def button(self, label: str, action_id: str, value: str) -> Self:
        """A button in the reply's one row of buttons (a value Slack cannot carry is left out)."""
        if value and len(value) <= MAX_BUTTON_VALUE:
            self.buttons.append(Button(label, action_id, value))
        return self

    def in_channel(self) -> Self:
        """Shown to the whole channel, not to the asker alone (a private card stays private)."""
        if not self.private:
            self.response_type = "in_channel"
        return self

    def text(self) -> str:
        """Every block's mrkdwn, one line each, escapes kept: Slack's notification text."""
        lines = []
        for block in self.blocks:
            if block["type"] == "header":
                lines.append(esc(block["text"]["text"]))
            elif block["type"] == "section":
                lines.append(block["text"]["text"])
            elif block["type"] == "context":  # its elements side by side, as Slack shows them
                words = [
                    esc(e["text"]) if e.get("type") == "plain_text" else e.get("text", "")
                    for e in block["elements"]
                ]
                lines.append(" ".join(w for w in words if w))
            elif block["type"] == "rich_text":
                lines.extend(esc(_words(part)) for part in block["elements"])
        return "\n".join(lines)

    def plain(self) -> str:
        """What a reader without Slack sees: no escapes, dates and links as their words."""
        return for_terminal(plain(self.text())) or NOTHING

    def pages(self) -> list[Reply]:
        """The message as Slack can take it: one payload, or several where it has too many blocks
        (each after the first says which part it is); nothing left out."""
        room = MAX_BLOCKS - 2  # a row of buttons and a "part n of m" line
        chunks = [self.blocks[i : i + room] for i in range(0, len(self.blocks), room)] or [[]]
        pages = []
        for n, chunk in enumerate(chunks, 1):
            blocks = list(chunk)
            if len(chunks) > 1:
                note = f"Part {n} of {len(chunks)}" + (
                    ": continued below." if n < len(chunks) else "."
                )
                blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
            if n == 1 and self.buttons:
                blocks.append(
                    {"type": "actions", "elements": [_button(b) for b in self.buttons[:5]]}
                )
            text = Card(blocks=[b for b in blocks if b["type"] != "actions"]).text() or NOTHING
            shown = "ephemeral" if self.private else self.response_type
            pages.append(
                {"response_type": shown, "text": cut_safely(text, MAX_TEXT), "blocks": blocks}
            )
        return pages

    def payload(self) -> Reply:
        """The Slack message; a card too long for one is its first part (see `pages`)."""
        return self.pages()[0]


def _words(part: dict[str, Any]) -> str:
    """A rich_text part's words as typed (its text elements, joined)."""
    return "".join(e.get("text", "") for e in part.get("elements", []))


NOTHING = "I have nothing to say to that."
MAX_TEXT = 3000  # the notification text: the blocks carry the whole answer
MAX_BUTTON_VALUE = 2000
MAX_BUTTON_LABEL = 75  # Slack's limit on a button's text
SHARE_ACTION = "post_to_channel"


def _button(b: Button) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": b.action_id,
        "text": {"type": "plain_text", "text": cut_safely(b.label, MAX_BUTTON_LABEL)},
        "value": b.value,
    }


# An escape (&amp;) or a Slack token (<!date^...|...>, <https://...|...>): never cut inside one.
_UNIT = re.compile(r"&[a-z]+;|<[^<>]*>")


def cut_safely(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a line end or a space, never inside an escape or a
    token; "…" says it was cut."""
    if len(text) <= limit:
        return text
    end = _safe_end(text, limit - 1)
    return text[:end].rstrip() + "…"


def split_safely(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, split at line ends where possible, at spaces
    otherwise, never inside an escape or a token."""
    pieces = []
    while len(text) > limit:
        end = _safe_end(text, limit)
        pieces.append(text[:end].rstrip())
        text = text[end:].lstrip("\n ")
    if text.strip():
        pieces.append(text)
    return pieces


def _safe_end(text: str, limit: int) -> int:
    """Where to end a piece of at most `limit` characters: the last line end, else the last
    space, else the last place outside an escape or token."""
    inside = [(m.start(), m.end()) for m in _UNIT.finditer(text, 0, limit + 200)]

    def clear(i: int) -> bool:
        return not any(s < i < e for s, e in inside)

    for mark in ("\n", " "):
        at = text.rfind(mark, 0, limit + 1)
        while at > limit // 2 and not clear(at):
            at = text.rfind(mark, 0, at)
        if at > limit // 2:
            return at
    at = limit
    while at > 1 and not clear(at):
        at -= 1
    return at


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
