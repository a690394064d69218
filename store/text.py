"""Source text: cleaning web-page debris, splitting into passages, folding for comparison."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Typographic characters the sources use for the plain ones people type.
FOLD_TABLE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
        "\u2026": "...",
    }
)

# Lines that are page furniture, not content (seen in the seeds: 001 and 000).
_DEBRIS = re.compile(
    r"""^(?:
        interesting:\s*\d+/\d+.*log\ in\ to\ vote |
        log\ in\ to\ vote |
        comments |
        only\ logged-in\ users\ can\ comment\.? |
        loading(?:\.\.\.)? |
        expand |
        share | print | -{3,} | _{3,} | \*{3,}
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_TRAILING_EXPAND = re.compile(r"(?<=[?.!])\s*Expand$")
# "stability.In a conversation": paragraphs glued together by a careless export (file 004).
_GLUED = re.compile(r"(?<=[a-z]{2}[.!?])(?=[A-Z][a-z])")
_BULLET = re.compile(r"^\s*(?:[\u2022\u25cf\u25aa*]|-(?=\s))\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'\u201c(])")
_WORD = re.compile(r"[\w']+", re.UNICODE)

MAX_PASSAGE = 600


@dataclass(frozen=True)
class Passage:
    """A piece of a source small enough to quote as an answer, with the heading it stands under."""

    heading: str
    text: str


def fold(text: str) -> str:
    """Text as compared: NFKC, plain quotes and dashes, one space, lower case."""
    text = unicodedata.normalize("NFKC", text).translate(FOLD_TABLE)
    return " ".join(text.split()).lower()


def fold_key(text: str) -> str:
    """A stable key for de-duplicating passages across sources (001 and 003 repeat each other)."""
    words = _WORD.findall(fold(text))
    return hashlib.sha1(" ".join(words).encode()).hexdigest()


def stands_in(quote: str, text: str) -> bool:
    """Whether a quote stands in a text, whitespace, quotes and dashes folded."""
    q = fold(quote)
    return bool(q) and q in _folded(text)


@lru_cache(maxsize=64)
def _folded(text: str) -> str:
    """A source's whole text folded once: every record's quote is checked against it."""
    return fold(text)


def clean_lines(raw: str) -> list[str]:
    """The content lines of a source: debris, blank and space-only lines dropped, white space tidied."""
    lines = []
    for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = " ".join(unicodedata.normalize("NFC", line).replace("\u00a0", " ").split())
        line = _TRAILING_EXPAND.sub("", line)
        if not line or _DEBRIS.match(line):
            continue
        lines.append(line)
    return lines


def _is_heading(line: str) -> bool:
    return len(line) <= 160 and not re.search(r"[.!:;,\"'\u201d)\]]$", line) or line.endswith("?")


def _split_long(text: str) -> list[str]:
    """Long paragraphs split at sentence ends into pieces of at most MAX_PASSAGE characters."""
    if len(text) <= MAX_PASSAGE:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(text):
        if current and len(current) + 1 + len(sentence) > MAX_PASSAGE:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        pieces.append(current)
    return pieces


def passages(raw: str) -> list[Passage]:
    """Split a cleaned source into passages: one paragraph each, long ones at sentence ends."""
    out: list[Passage] = []
    heading = ""
    listing = False  # inside a bullet list introduced by a line ending in ":"
    for line in clean_lines(raw):
        bullet = _BULLET.match(line)
        if bullet:
            item = line[bullet.end() :]
            # A list introduced by "...including:" belongs to that sentence (002's member list).
            if out and (listing or out[-1].text.endswith(":")) and not item.endswith("."):
                sep = " " if out[-1].text.endswith(":") else "; "
                out[-1] = Passage(out[-1].heading, out[-1].text + sep + item)
                listing = True
                continue
            listing = False
            out.append(Passage(heading, item))
            continue
        listing = False
        if _is_heading(line):
            heading = line
            continue
        for piece in _split_long(_GLUED.sub(" ", line)):
            out.append(Passage(heading, piece))
    return out


def one_line(text: str, limit: int) -> str:
    """A quote on one line, cut at `limit` characters with … when longer."""
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1].rstrip() + "…"
