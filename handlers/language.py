"""Questions not in English: which language a text is in, and the plain reply that says the bot
reads English for now, with the English command that matches the names the text carries.

The detector is lingua (`lingua-language-detector`), restricted to the languages of APEC economies
and their neighbours, built once per process at the server's warm-up (or on first use). Its
high-accuracy mode is the one used (its models for Latin letters hold about 200 MB once loaded):
the low-accuracy mode holds a seventh of that but reads romanised Korean names ("lee ji-yoon?")
as Vietnamese with 0.97 confidence.

Desk English is full of names, acronyms and typos that any detector reads as Malay or Tagalog
("guo jiakun?", "hong kong member?"), so a text in Latin letters is called foreign only when its
own words agree: twice as many words that English does not use often as words it does, and the
detector the surer the less the words say (accents, or three such words to every English one).
A text mostly in another script (Hangul, kana, Han, Thai, Cyrillic) is foreign outright: the
detector only names the language.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

from handlers.render import Card, esc
from store.vocabulary import english

if TYPE_CHECKING:
    from lingua import LanguageDetector

    from store.queries import Store

# The languages of APEC economies and their neighbours: any other reads as the nearest of these.
LANGUAGES = (
    "ENGLISH",
    "CHINESE",
    "JAPANESE",
    "KOREAN",
    "VIETNAMESE",
    "THAI",
    "INDONESIAN",
    "MALAY",
    "TAGALOG",
    "SPANISH",
    "PORTUGUESE",
    "FRENCH",
    "GERMAN",
    "RUSSIAN",
)
# Malay and Indonesian share most of their words: both are named when the detector is torn.
TWINS = frozenset({"MALAY", "INDONESIAN"})
TWIN_SHARE = 0.25  # the lesser twin's share of their joint confidence that names both

# How often English must use a word (pyspellchecker's counts) for it to say "English", by the
# word's length: short words are shared between languages ("de", "la", "die", "son", "para").
OFTEN = {1: 1_000_000, 2: 1_000_000, 3: 50_000, 4: 5_000}
OFTEN_LONGER = 50
CLITICS = frozenset({"s", "t", "d", "ll", "re", "ve", "m"})  # who's, isn't, I'd, we'll
# The detector's least confidence for a text in Latin letters whose words are mostly not
# English: lower where the words themselves are telling.
SURE_ACCENTED = 0.3  # a letter English does not write (é, ñ, ß, ơ) or an opening ¿ ¡
SURE_WORDY = 0.4  # three other words or more, at least three to every English one
SURE_OTHERWISE = 0.8

_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]")
_TOKEN = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
_URL = re.compile(r"\b(?:https?://|mailto:|www\.)\S+", re.IGNORECASE)
_VOWEL = re.compile(r"[aeiou]", re.IGNORECASE)
_APOSTROPHE = re.compile(r"['’]")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_KIND = re.compile(r"(?<![A-Za-z])SOMs?(?![A-Za-z0-9])")

_lock = threading.Lock()
_detector: LanguageDetector | None = None


def detector() -> LanguageDetector:
    """The one detector of this process, built on first use."""
    global _detector
    with _lock:
        if _detector is None:
            from lingua import Language, LanguageDetectorBuilder

            languages = [getattr(Language, name) for name in LANGUAGES]
            _detector = LanguageDetectorBuilder.from_languages(*languages).build()
        return _detector


def warm_up() -> None:
    """Load the detector and its models at start-up, not on a user's question: the models for
    Latin letters take over a second to load with the interpreter's lock held (a pause of the
    whole process) and 200 MB, so `serve` loads them before it listens, or before it forks its
    workers, which then share them."""
    english()
    _named("¿Dónde se celebra la reunión?")  # a Latin-letter text: every model it needs


def foreign(text: str) -> str | None:
    """The language's English name when `text` is not English ("Korean"; "Malay or Indonesian"
    when the detector cannot tell those apart), else None. Names, acronyms, numbers, typos and
    an empty text are English."""
    spaced = _spaced(unicodedata.normalize("NFKC", _URL.sub(" ", text)))
    words = [w for w in (_bare(t) for t in _TOKEN.findall(spaced)) if w]
    if not words:
        return None
    latin = [w for w in words if _latin(w)]
    if sum(len(w) for w in words if not _latin(w)) > sum(len(w) for w in latin):
        return _named(" ".join(words)) or _script(" ".join(words))
    english_words, others = _votes(latin)
    if others < 2 or others < 2 * english_words:
        return None
    return _named(" ".join(words), _least_sure(text, latin, english_words, others))


def _votes(latin: list[str]) -> tuple[int, int]:
    """How many of the Latin-letter words are English, and how many another language's."""
    english_words, others = 0, 0
    for i, word in enumerate(latin):
        if _english(word):
            english_words += 1
        elif not _abstains(word, first=i == 0):
            others += 1
    return english_words, others


def _abstains(word: str, first: bool) -> bool:
    """A name ("Lee Ji-yoon", "Mitglied") or shorthand ("mtg", "ldrs"): no vote either way."""
    return (not first and word[0].isupper()) or (word.isascii() and not _VOWEL.search(word))


def _least_sure(text: str, latin: list[str], english_words: int, others: int) -> float:
    """How sure the detector must be: less with accents or "¿", less again with many words."""
    accented = any(c.isalpha() and not c.isascii() for word in latin for c in word)
    if accented or "¿" in text or "¡" in text:
        return SURE_ACCENTED
    if others >= 3 and others >= 3 * english_words:
        return SURE_WORDY
    return SURE_OTHERWISE


def _named(text: str, least: float = 0.0) -> str | None:
    """The detector's language for `text` when it is not English and surer than `least`."""
    values = {c.language.name: c.value for c in detector().compute_language_confidence_values(text)}
    twins = sorted(TWINS, key=lambda t: -values.get(t, 0.0))
    joint = sum(values.get(t, 0.0) for t in TWINS)
    sure = {n: joint if n in TWINS else v for n, v in values.items() if n != "ENGLISH"}
    best = max(sure, key=sure.__getitem__, default=None)
    # All zero: a script none of the languages writes.
    if best is None or sure[best] <= max(least, values.get("ENGLISH", 0.0)):
        return None
    if best in TWINS:
        first, second = twins
        if values.get(second, 0.0) >= TWIN_SHARE * joint:
            return f"{first.title()} or {second.title()}"
        return first.title()
    return best.title()


def _script(text: str) -> str | None:
    """The name of a script none of our languages writes ("Arabic", "Khmer"), from Unicode."""
    for char in text:
        if char.isalpha() and not _latin(char):
            return unicodedata.name(char, "").split(" ")[0].title() or None
    return None


def _spaced(text: str) -> str:
    """Latin letters and digits set apart from letters of other scripts they touch ("SOM1の"
    is "SOM1 の"), so that names and acronyms stand as words of their own."""
    if text.isascii():  # no letter of another script to touch (nearly every question)
        return text
    out = []
    for i, char in enumerate(text):
        prev = text[i - 1] if i else " "
        if _touching(prev, char) or _touching(char, prev):
            out.append(" ")
        out.append(char)
    return "".join(out)


def _touching(a: str, b: str) -> bool:
    return bool(_ASCII_ALNUM.match(a)) and b.isalpha() and not _latin(b)


def _bare(token: str) -> str:
    """A token without its numbers and acronyms ("SOM-Treffen" is "Treffen", "SOM2" nothing);
    an acronym is Latin capitals only, so Cyrillic "США" stays a word."""
    parts = [p for p in token.split("-") if p and not _acronym(p)]
    return "-".join(parts)


def _acronym(part: str) -> bool:
    if any(c.isdigit() for c in part):
        return True
    letters = part.replace("'", "").replace("’", "")
    return len(letters) >= 2 and letters.isascii() and letters.isupper()


def _latin(word: str) -> bool:
    """Written in Latin letters (Vietnamese's included)."""
    # ASCII is below U+0250: nearly every word of a question is decided without a loop.
    return word.isascii() or all(
        ord(c) < 0x250 or 0x1E00 <= ord(c) < 0x1F00 or not c.isalpha() for c in word
    )


def _english(word: str) -> bool:
    """A word English uses often for its length ("who's" as "who"; "follow-up" as either half)."""
    counts = english()
    for part in word.lower().split("-"):
        pieces = _APOSTROPHE.split(part) if "'" in part or "’" in part else [part]
        head = pieces[0] if all(p in CLITICS for p in pieces[1:]) else max(pieces, key=len)
        if counts.get(head, 0) >= OFTEN.get(len(head), OFTEN_LONGER):
            return True
    return False


# -- the reply -------------------------------------------------------------------------------

MAX_SUGGESTIONS = 3


def suggestions(store: Store, text: str) -> list[str]:
    """The commands (without `/apec `) that show what the store holds on the names `text` carries
    (meetings, economies, people, a SOM, a year): never a translation of its words."""
    text = _spaced(unicodedata.normalize("NFKC", text))
    by_id = {m.id: m for m in store.meetings()}
    meetings = _once(by_id[i].short for _, i in store.named_in_text("meeting", text) if i in by_id)
    # Economies as typed: every alias is one the commands take, and APEC's names run long.
    economies = _once(" ".join(typed.split()) for typed, _ in store.named_in_text("economy", text))
    people = _once(
        p.name for _, i in store.named_in_text("person", text) if (p := store.person_by_id(i))
    )
    out: list[str] = []
    for economy in economies:
        if meetings:
            out.append(f"delegation {economy} {meetings[0]}")
        else:
            out += [f"member {economy}", f"delegation {economy}"]
    out += [f"meeting {m}" for m in meetings]
    out += [f"who {p}" for p in people]
    if not meetings and _KIND.search(text):
        out.append("next-meeting som")
    if not out:
        years = {s.year for m in by_id.values() if (s := m.span.start) is not None}
        out += [f"meetings {y}" for y in dict.fromkeys(_YEAR.findall(text)) if int(y) in years]
    return _once(out)[:MAX_SUGGESTIONS]


def _once(items: Iterable[str]) -> list[str]:
    """Each item once, in the order first seen."""
    return list(dict.fromkeys(items))


def foreign_reply(store: Store, text: str, language: str) -> Card:
    """One plain line: English only for now, the language seen, and the commands that match."""
    line = f"I read questions in English for now (this looks like {esc(language)})."
    tries = [f"`/apec {esc(c)}`" for c in suggestions(store, text)]
    if tries:
        listed = f"{', '.join(tries[:-1])} or {tries[-1]}" if len(tries) > 1 else tries[0]
        line += f" Try {listed}."
    return Card().section(line)
