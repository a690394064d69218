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
    """How an alias is compared: "U.S." and "us", "Viet Nam" and "viet nam", "the Philippines" and "philippines"."""
    key = _SPACE.sub(" ", _DROP.sub("", fold(unicodedata.normalize("NFKC", name)))).strip()
    return key[4:] if key.startswith("the ") else key


def find_in_text(
    text: str, aliases: dict[str, str], loose: Callable[[str], bool] | None = None
) -> list[tuple[str, str]]:
    """(words as found, target) for every alias standing in `text` as whole words, in order of appearance.

    Short all-capital aliases ("US", "EC", "PRC") match only in capitals, so "let us" is not the US;
    `loose(alias)` may allow one in any case ("usa" is no English word).
    """
    haystack = plain(text)
    found: list[tuple[int, str, str]] = []
    taken: list[tuple[int, int]] = []
    for alias in sorted(aliases, key=len, reverse=True):
        pattern = _pattern(alias, loose is not None and loose(alias))
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
