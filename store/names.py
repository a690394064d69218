"""Matching the names people type (economies, meetings, people) against the store's aliases."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

from store.text import FOLD_TABLE, fold

_DROP = re.compile(r"[.'\u2019`]")
_SPACE = re.compile(r"[^0-9a-z]+")


def alias_key(name: str) -> str:
    """How an alias is compared: "U.S." and "us", "Viet Nam" and "viet nam", "the Philippines"
    and "philippines"."""
    key = _SPACE.sub(" ", _DROP.sub("", fold(unicodedata.normalize("NFKC", name)))).strip()
    return key[4:] if key.startswith("the ") else key


class Matcher:
    """Aliases made ready to be found in texts as whole words. Each text is tried only against the
    aliases whose first word it holds, not against every alias (a question against hundreds).

    Short all-capital aliases ("US", "EC", "PRC") match only in capitals, so "let us" is not the US;
    `loose(alias)` may allow one in any case ("usa" is no English word).
    """

    def __init__(self, aliases: dict[str, str], loose: Callable[[str], bool] | None = None) -> None:
        self.aliases = aliases
        self._by_first: dict[str, list[tuple[int, str, re.Pattern[str]]]] = {}
        for rank, alias in enumerate(sorted(aliases, key=len, reverse=True)):  # longest first
            pattern = _pattern(alias, loose is not None and loose(alias))
            words = _loose_words(plain(alias))
            if pattern is not None and words:
                self._by_first.setdefault(words[0], []).append((rank, alias, pattern))

    def find(self, text: str) -> list[tuple[str, str]]:
        """(words as found, target) for every alias standing in `text`, in order of appearance."""
        haystack = plain(text)
        tried = sorted(c for w in set(_loose_words(haystack)) for c in self._by_first.get(w, ()))
        found: list[tuple[int, str, str]] = []
        # A longer alias found first keeps its characters: one mark a character, so whether a
        # match overlaps one kept before costs its own length, whatever was found already.
        taken = bytearray(len(haystack))
        for _, alias, pattern in tried:
            for match in pattern.finditer(haystack):
                start, end = match.span()
                if taken.find(1, start, end) != -1:
                    continue
                taken[start:end] = b"\x01" * (end - start)
                found.append((start, match.group(0), self.aliases[alias]))
        return [(words, target) for _, words, target in sorted(found)]


_TOKEN = re.compile(r"[\w'’]+")


def _loose_words(text: str) -> list[str]:
    """Words as `_pattern` may match them, folded wider still (case, apostrophes, a final s): an
    alias can stand in a text only where its first word, so folded, is among the text's."""
    out = []
    for token in _TOKEN.findall(text.lower()):
        word = token.replace("'", "").replace("’", "")
        out.append(word[:-1] if word.endswith("s") and len(word) > 2 else word)
    return [w for w in out if w]


@lru_cache(maxsize=8192)
def _pattern(alias: str, any_case: bool = False) -> re.Pattern[str] | None:
    """An alias as a whole-words pattern, compiled once (a question is matched against hundreds)."""
    words = plain(alias).split()
    if not words:
        return None
    exact = is_short_caps(alias) and not any_case
    body = r"\s+".join(_word(w) for w in words)
    return re.compile(rf"(?<![\w]){body}(?!\w)", 0 if exact else re.IGNORECASE)


def _word(word: str) -> str:
    """One word of an alias, its apostrophe as typed or not: "leaders'" is also "leader's" and
    "leaders" (aliases that differ only so are stored once)."""
    core = word.replace("'", "")
    if core.endswith("s") and len(core) > 2:
        return re.escape(core[:-1]) + "'?s'?"
    return re.escape(core) + "'?"


def is_short_caps(alias: str) -> bool:
    """An abbreviation such as "US" or "EC", matched in capitals unless told otherwise."""
    return len(alias) <= 4 and alias.isupper()


def plain(text: str) -> str:
    """NFKC text with plain quotes and dashes, positions otherwise kept."""
    return unicodedata.normalize("NFKC", text).translate(FOLD_TABLE)
