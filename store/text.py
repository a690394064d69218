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
# Where a sentence may end: a stop, space, and a capital or an opening quote or bracket.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'\u201c(])")
# A stop that ends a word rather than a sentence: an initialism ("U.S.", "P.R.C."), one initial
# ("John F. Kennedy"), or a title before a name.
_NOT_AN_END = re.compile(
    r"(?:\b(?:[A-Za-z]\.){2,}|\b[A-Z]\.|\b(?:Mr|Mrs|Ms|Dr|Prof|Amb|Gen|Sen|Rep|St|Jr|Sr)\.)$"
)
_WORD = re.compile(r"[\w']+", re.UNICODE)

MAX_PASSAGE = 600

# -- clean text in -----------------------------------------------------------------------------
# What is not text, stripped wherever text enters the store (`clean`). A small table rather than
# a library: ftfy's remove_control_chars keeps zero-width spaces and bidi controls, and nothing
# else well kept does just this.
# Zero-width and invisible characters: a name of only these looks empty, or two names that look
# alike differ. The Hangul fillers are letters that show nothing (a favourite for "blank" names).
ZERO_WIDTH = frozenset(
    {
        0x00AD,
        0x034F,
        0x115F,
        0x1160,
        0x17B4,
        0x17B5,
        0x180E,
        0x200B,
        0x2060,
        0x2061,
        0x2062,
        0x2063,
        0x2064,
        0x3164,
        0xFEFF,
        0xFFA0,
    }
)
# Bidi controls (embeddings, overrides, isolates, marks): "\u202e" shows a word reversed. Only
# the controls go: right-to-left text itself is written in its own order and needs none of them.
BIDI_CONTROLS = frozenset({0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)})
# The joiners are kept only between two visible characters: Persian and Indic scripts need ZWNJ
# inside a word (U+200C), emoji sequences and some conjuncts ZWJ (U+200D). Anywhere else they
# only hide (a name of only joiners, a joiner beside a space).
_JOINERS = "\u200c\u200d"
# Format characters (Cf) that are text: Arabic number signs and the like, written before digits.
_PREPENDED = frozenset(
    {*range(0x0600, 0x0606), 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD}
)
_FLAG = "\U0001f3f4"  # a flag emoji's tag characters (England's flag) follow it
_TAGS = range(0xE0020, 0xE0080)
_LINE_BREAKS = str.maketrans({"\r": "\n", "\x85": "\n", "\u2028": "\n", "\u2029": "\n"})
_SPACES = re.compile(r"[^\S\n\t]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean(text: str, multiline: bool = False) -> str:
    """Text as the store keeps it: zero-width, bidi and other format characters and controls
    stripped (a new line and a tab kept in multi-line text; joiners kept where they join), NFC,
    white space collapsed: one space in a line, at most one blank line, none at either end."""
    text = text.replace("\r\n", "\n").translate(_LINE_BREAKS)
    if _suspect().search(text):  # most text has none: a document is not read character by character
        kept = [ch for i, ch in enumerate(text) if _is_text(text, i, ch, multiline)]
        text = "".join(
            ch
            for i, ch in enumerate(kept)
            if ch not in _JOINERS
            or (0 < i < len(kept) - 1 and _joins(kept[i - 1]) and _joins(kept[i + 1]))
        )
    text = unicodedata.normalize("NFC", text)
    if not multiline:
        return " ".join(text.split())
    lines = [_SPACES.sub(" ", line).strip(" ") for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


@lru_cache(maxsize=1)
def _suspect() -> re.Pattern[str]:
    """A character `_is_text` may drop: every control, format character, surrogate, and those of
    the tables (format characters lie in planes 0-2 and 14; listed once, on first use)."""
    found = {
        cp
        for cp in (*range(0x30000), *range(0xE0000, 0xE1000))
        if unicodedata.category(chr(cp)) in ("Cc", "Cf", "Cs")
    }
    found |= (
        ZERO_WIDTH
        | BIDI_CONTROLS
        | {plane + end for plane in range(0, 0x110000, 0x10000) for end in (0xFFFE, 0xFFFF)}
    )
    found -= {ord("\n"), ord("\t")}
    runs: list[list[int]] = []
    for cp in sorted(found):
        if runs and runs[-1][1] == cp - 1:
            runs[-1][1] = cp
        else:
            runs.append([cp, cp])
    ranges = "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in runs)
    return re.compile(f"[{ranges}\\ufdd0-\\ufdef]")


def _is_text(text: str, i: int, ch: str, multiline: bool) -> bool:
    """Whether a character stays (the joiners are judged afterwards, by what is beside them)."""
    cp = ord(ch)
    if ch in "\n\t":
        return True  # a space where a line may not break: collapsed with the others
    if cp in ZERO_WIDTH or cp in BIDI_CONTROLS or (cp & 0xFFFE) == 0xFFFE or 0xFDD0 <= cp <= 0xFDEF:
        return False
    category = unicodedata.category(ch)
    if category == "Cc":
        return False
    if category == "Cs":
        return False  # half a surrogate pair: no character at all
    if category == "Cf" and ch not in _JOINERS and cp not in _PREPENDED:
        return cp in _TAGS and _in_flag(text, i)
    return True


def _in_flag(text: str, i: int) -> bool:
    """Whether the tag character at `i` is part of a flag emoji's tag sequence."""
    start = i
    while start > 0 and ord(text[start - 1]) in _TAGS:
        start -= 1
    return start > 0 and text[start - 1] == _FLAG


def _joins(ch: str) -> bool:
    """A character a joiner may join: a letter, mark, digit or symbol (emoji are symbols)."""
    return unicodedata.category(ch)[0] in "LMNS"


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
    """The content lines of a source: debris, blank and space-only lines dropped, white space
    tidied."""
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


def sentences(text: str) -> list[str]:
    """A passage's sentences, each whole: a stop followed by a capital ends one, unless the stop
    ends an initialism or a title ("the U.S. Senior Official", "Dr. Lee"). A sentence that does
    end at "U.S." runs on into the next: a quote a sentence too long, never one cut short."""
    out: list[str] = []
    start = 0
    for gap in _SENTENCE_END.finditer(text):
        if _NOT_AN_END.search(text, max(start, gap.start() - 12), gap.start()):  # "P.R.C." is 6
            continue
        out.append(text[start : gap.start()])
        start = gap.end()
    out.append(text[start:])
    return out


def _split_long(text: str) -> list[str]:
    """Long paragraphs split at sentence ends into pieces of at most MAX_PASSAGE characters."""
    if len(text) <= MAX_PASSAGE:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in sentences(text):
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
