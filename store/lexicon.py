"""The indexes a question is read against, built from the store once per store version and handed
to the reader whole: `lexicon_of(store)`.

Which names a question may hold (and what each names), names typed as one word, the desk's
shorthand, the words that tell one meeting from another, and the records' own vocabulary (what a
typo is mended to). A view of the store as of a day has a lexicon of its own, of what it holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from store.names import Matcher, is_short_caps
from store.queries import Store
from store.text import fold
from store.vocabulary import CAPITALS, DEMONYMS, GENERIC_MEETING, common, years_held

_WORDS = re.compile(r"[a-z0-9]+")
_LONG_WORD = re.compile(r"\b[A-Za-z]{7,}\b")
# Words too common in meeting names to tell one from another.
PLAIN_WORDS = frozenset(
    """and of on the for first second third related meetings meeting committee economy economies
    host year apec senior officials official economic cooperation asia pacific sectoral
    ministerial ministers minister event events high level summit leaders day days week weeks
    month months today""".split()
)
# A glossary term that names a record stands for it in a question ("USG" the US, "AMM" the joint
# ministerial meeting), as the record's own aliases do.
_TERM_KINDS = {
    "economy": "economy",
    "meeting": "meeting",
    "committee": "meeting",
    "event": "meeting",
}


@dataclass(frozen=True)
class Shorthand:
    """The desk's shorthand in the glossary ("cmte", "del", "HoD") and what each stands for."""

    pattern: re.Pattern[str]
    meant: Mapping[str, str]  # lower case, as typed: written out

    def spell_out(self, text: str) -> str:
        return self.pattern.sub(lambda m: self.meant[m[0].lower()], text)


@dataclass(frozen=True, eq=False)
class Lexicon:
    """Every index the question reader needs from one version of the store."""

    vocabulary: frozenset[str]  # every word the records use (a typo is mended to one of these)
    names: Matcher  # every name a question may hold, to "kind\\tid" (kind "capital" too)
    joined: Mapping[str, str]  # a name of several words as typed in one ("parkjonghan")
    shorthand: Shorthand | None  # None when the glossary has none
    telling: Mapping[str, frozenset[str]]  # meeting id: the words that tell it from others
    word_meetings: Mapping[str, frozenset[str]]  # telling word: the top-level meetings it names
    unique: frozenset[str]  # telling words of four letters or more that name one meeting
    years: frozenset[int]  # the years the store's meetings are in

    def unjoin(self, text: str) -> str:
        """Names typed as one word ("parkjonghan", "leejiyoon") as the names they are."""
        return _LONG_WORD.sub(lambda m: self.joined.get(m[0].lower(), m[0]), text)

    def spell_out(self, text: str) -> str:
        """The desk's shorthand ("cmte", "del", "HoD") written out as it reads."""
        return text if self.shorthand is None else self.shorthand.spell_out(text)


def lexicon_of(store: Store) -> Lexicon:
    """The store's lexicon, built on first need and kept until the store changes."""
    return store.cached("lexicon", lambda: build_lexicon(store))


def build_lexicon(store: Store) -> Lexicon:
    """Every index, read from the store now (`lexicon_of` keeps it)."""
    telling = _telling_words(store)
    word_meetings = _word_meetings(store, telling)
    return Lexicon(
        vocabulary=store.vocabulary(),
        names=_names_matcher(store),
        joined=_joined_names(store),
        shorthand=_shorthand(store),
        telling=telling,
        word_meetings=word_meetings,
        unique=frozenset(w for w, ms in word_meetings.items() if len(ms) == 1 and len(w) >= 4),
        years=years_held(store),
    )


def loose(alias: str) -> bool:
    """A short capital alias may be typed in lower case when it is no English word ("usa")."""
    return is_short_caps(alias) and not common(alias)


def _names_matcher(store: Store) -> Matcher:
    """Every name a question may hold, each to its kind and target."""
    aliases: dict[str, str] = {}
    for kind in ("non_member", "economy", "meeting", "person"):
        for name, target in store.names(kind).items():
            aliases.setdefault(name, f"{kind}\t{target}")
    for t in store.glossary():
        term_kind = _TERM_KINDS.get(t.kind)
        if term_kind and t.refers_to:
            for name in (t.term, *t.aliases):
                aliases.setdefault(name, f"{term_kind}\t{t.refers_to}")
    for name, target in DEMONYMS.items():
        aliases.setdefault(name, f"economy\t{target}")
    for name, target in CAPITALS.items():
        aliases.setdefault(name, f"capital\t{target}")
    return Matcher(aliases, loose)


def _joined_names(store: Store) -> dict[str, str]:
    return {
        re.sub(r"[^a-z0-9]", "", fold(n)): n
        for kind in ("person", "meeting", "economy")
        for n in store.names(kind)
        if len(n.split()) > 1 or "-" in n
    }


def _shorthand(store: Store) -> Shorthand | None:
    meant = {
        name.lower(): t.expansion
        for t in store.glossary()
        if t.kind == "shorthand" and t.expansion
        for name in (t.term, *t.aliases)
    }
    if not meant:
        return None
    words = "|".join(re.escape(w) for w in sorted(meant, key=len, reverse=True))
    return Shorthand(re.compile(rf"(?<![\w'])(?:{words})(?![\w'])", re.IGNORECASE), meant)


def _telling_words(store: Store) -> dict[str, frozenset[str]]:
    """Each meeting's telling words: those of its names and city, but the plainest."""
    economies = {w for n in store.names("economy") for w in _WORDS.findall(fold(n))}
    out = {}
    for m in store.meetings():
        said = {
            w for n in store.meeting_names(m.id) for w in _WORDS.findall(fold(n).replace("'", ""))
        }
        said |= set(_WORDS.findall(fold(m.city)))
        years = {w for w in said if w.isdigit()}  # "2025" names a year of meetings, not one
        out[m.id] = frozenset(said - GENERIC_MEETING - PLAIN_WORDS - economies - years)
    return out


def _word_meetings(
    store: Store, telling: Mapping[str, frozenset[str]]
) -> dict[str, frozenset[str]]:
    """Each telling word and the top-level meetings it names (a city names one meeting if one is
    held there, its parts aside)."""
    found: dict[str, set[str]] = {}
    for m in store.meetings():
        for w in telling[m.id]:
            found.setdefault(w, set()).add(m.parent_id or m.id)
    return {w: frozenset(ms) for w, ms in found.items()}
