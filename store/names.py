"""Matching the names people type (economies, meetings, people) against the store's aliases."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from store.text import FOLD_TABLE, fold

_DROP = re.compile(r"[.'\u2019`]")
_SPACE = re.compile(r"[^0-9a-z]+")


def alias_key(name: str) -> str:
    """How an alias is compared: "U.S." and "us", "Viet Nam" and "viet nam", "the Philippines" and "philippines"."""
    key = _SPACE.sub(" ", _DROP.sub("", fold(unicodedata.normalize("NFKC", name)))).strip()
    return key[4:] if key.startswith("the ") else key


def find_in_text(text: str, aliases: dict[str, str]) -> list[tuple[str, str]]:
    """(words as found, target) for every alias standing in `text` as whole words, in order of appearance.

    Short all-capital aliases ("US", "EC", "PRC") match only in capitals, so "let us" is not the US.
    """
    haystack = plain(text)
    found: list[tuple[int, str, str]] = []
    taken: list[tuple[int, int]] = []
    for alias in sorted(aliases, key=len, reverse=True):
        pattern = _pattern(alias)
        if pattern is None:
            continue
        for match in pattern.finditer(haystack):
            start, end = match.span()
            if any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            found.append((start, match.group(0), aliases[alias]))
    return [(words, target) for _, words, target in sorted(found)]


@lru_cache(maxsize=8192)
def _pattern(alias: str) -> re.Pattern[str] | None:
    """An alias as a whole-words pattern, compiled once (a question is matched against hundreds)."""
    words = plain(alias).split()
    if not words:
        return None
    exact = len(alias) <= 4 and alias.isupper()
    body = r"\s+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<![\w]){body}(?!\w)", 0 if exact else re.IGNORECASE)


def plain(text: str) -> str:
    """NFKC text with plain quotes and dashes, positions otherwise kept."""
    return unicodedata.normalize("NFKC", text).translate(FOLD_TABLE)
