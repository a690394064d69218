"""Building Slack message payloads: Block Kit blocks with a plain-text fallback, dates, citations."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from store.queries import Meeting, Source

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
    if start <= now < end:
        return "under way" if meeting.status in ("held", "scheduled") else f"under way; {word}"
    if meeting.status == "held" and now < start:
        return "scheduled"
    if meeting.status == "scheduled" and now >= end:
        return "scheduled; no source on record reports it held"
    return word


def esc(text: str) -> str:
    """User or source text made safe for mrkdwn: Slack's three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_ENTITY = re.compile(r"<([^<>]*)>")


def from_slack(text: str) -> str:
    """Text as Slack sends it, decoded once: mentions and broadcasts dropped, links and dates as
    their label, `&amp;`, `&lt;` and `&gt;` as the characters they stand for."""

    def entity(match: re.Match[str]) -> str:
        target, _, label = match[1].partition("|")
        if target.startswith("!date"):
            return label
        if target.startswith(("@", "!")):
            return ""
        if target.startswith("#"):
            return "#" + (label or target[1:])
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
        q = " ".join(quote.split())
        if len(q) > MAX_QUOTE:
            q = q[: MAX_QUOTE - 1].rstrip() + "…"
        line += f" — “{esc(q)}”"
    return line


@dataclass
class Card:
    """A reply being put together, block by block; `payload()` gives the Slack message."""

    blocks: list[dict[str, Any]] = field(default_factory=list)
    _cited: set[tuple[str, str]] = field(default_factory=set)

    def header(self, text: str) -> Card:
        self.blocks.append(
            {"type": "header", "text": {"type": "plain_text", "text": _cut(text, MAX_HEADER)}}
        )
        return self

    def section(self, mrkdwn: str) -> Card:
        if mrkdwn.strip():
            self.blocks.append(
                {"type": "section", "text": {"type": "mrkdwn", "text": _cut(mrkdwn, MAX_SECTION)}}
            )
        return self

    def listing(self, heading: str, lines: list[str]) -> Card:
        """A heading and a list, split over as many sections as Slack's 3,000 characters need."""
        chunk: list[str] = [heading] if heading else []
        for line in lines:
            if chunk and sum(len(x) + 1 for x in chunk) + len(line) > MAX_SECTION - 200:
                self.section("\n".join(chunk))
                chunk = []
            chunk.append(line)
        return self.section("\n".join(chunk))

    def context(self, mrkdwn: str) -> Card:
        if mrkdwn.strip():
            self.blocks.append(
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": _cut(mrkdwn, MAX_SECTION)}],
                }
            )
        return self

    def cite(self, source: Source, quote: str = "") -> Card:
        """A citation, once per source and quote in one reply."""
        key = (source.id, quote)
        if key not in self._cited:
            self._cited.add(key)
            self.context(citation(source, quote))
        return self

    def divider(self) -> Card:
        self.blocks.append({"type": "divider"})
        return self

    def text(self) -> str:
        """The plain-text fallback: every block's words, dates as the venue's time."""
        lines = []
        for block in self.blocks:
            if block["type"] == "header":
                lines.append(block["text"]["text"])
            elif block["type"] == "section":
                lines.append(plain(block["text"]["text"]))
            elif block["type"] == "context":
                lines.extend(plain(e["text"]) for e in block["elements"] if "text" in e)
        return "\n".join(lines)

    def payload(self, response_type: str = "ephemeral") -> Reply:
        """The Slack message: `text` always, and `blocks` within Slack's limits."""
        blocks = list(self.blocks)
        if len(blocks) > MAX_BLOCKS - 1:
            blocks = blocks[: MAX_BLOCKS - 2] + [
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": "(more left out: ask more narrowly)"}],
                }
            ]
        text = self.text() or "I have nothing to say to that."
        return {"response_type": response_type, "text": _cut(text, 39_000), "blocks": blocks}


SHARE_ACTION = "post_to_channel"


def with_share_button(reply: Reply, command_text: str) -> Reply:
    """An ephemeral answer gets a button that posts the same answer to the channel."""
    if reply.get("response_type") != "ephemeral":
        return reply
    return with_button(reply, "Post to channel", SHARE_ACTION, command_text)


def with_button(reply: Reply, label: str, action_id: str, value: str) -> Reply:
    """A button that runs `value` as a command, in the reply's one row of buttons."""
    if not value or len(value) > 2000:
        return reply
    button = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }
    blocks = list(reply.get("blocks", []))
    row = next((b for b in blocks if b.get("type") == "actions"), None)
    if row is None:
        blocks = blocks[: MAX_BLOCKS - 1] + [{"type": "actions", "elements": [button]}]
    else:
        blocks = [{**b, "elements": [*b["elements"], button]} if b is row else b for b in blocks]
    return {**reply, "blocks": blocks}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
