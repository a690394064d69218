"""Words the sources put otherwise than questions do, and how a text is said to hold them."""

from __future__ import annotations

import re

from store.queries import content_words, stem
from store.text import fold

NUMBER = re.compile(
    r"\b(?!(?:19|20)\d\d\b)\d+\b"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|hundred|dozen)\b",
    re.IGNORECASE,
)


def overlap(text: str, words: tuple[str, ...]) -> int:
    have = {stem(w) for w in re.findall(r"[a-z0-9]+", fold(text))}
    return sum(
        1
        for w in words
        if stem(w) in have
        and stem(w) not in NOUNS
        or any(stem(s) in have for s in SYNONYMS.get(w, ()))
    )


# A few words the sources put otherwise ("meet" is "consultations" in the Korean release).
SYNONYMS = {
    "significance": ("purpose", "why", "matter", "first"),
    "importance": ("purpose", "why", "matter"),
    "meet": ("consult", "consultation", "bilateral", "met"),
    "force": ("impose",),
    "ring": ("phone", "call", "spoke"),
    "meeting": ("consult", "consultation"),
    "talk": ("discuss", "conversation", "consult"),
    "side": ("alongside",),
    "events": ("alongside", "event"),
    "event": ("alongside",),
    "announce": ("announced", "said"),
    "invite": ("invitation", "invited"),
    "achieve": ("aim", "objective"),
    "trip": ("visit",),
    "part": ("member",),
}


PRESENT = re.compile(
    r"\b(?:led|leads|presided|took part|participated|attended|member of|held bilateral|chaired"
    r"|spoke at)\b"
)


ROLE_SYNONYMS = {"met": ("consult", "consultation", "bilateral")}
CHAIR_WORDS = ("presid", "chair")
# "meet" is "meeting" stemmed: a role at a meeting is not a meeting held
NOUNS = frozenset({"meet"})


CHAIRED = re.compile(r"\b(?:presid\w*|chair\w*|led|leads)\b", re.IGNORECASE)


def says(text: str, verbs: list[str]) -> bool:
    have = {stem(w) for w in content_words(text)}
    said = {**SYNONYMS, **ROLE_SYNONYMS}
    meant = {v for v in verbs if v not in NOUNS} | {stem(s) for v in verbs for s in said.get(v, ())}
    return any(v in have or len(v) >= 5 and any(h.startswith(v) for h in have) for v in meant)


HEDGE = re.compile(
    r"\b(?:should|if|would|could|may|might|expect\w*|hopes?|plans? to|invited to|invitation to"
    r"|asked to)\b",
    re.IGNORECASE,
)


def stems(text: str) -> list[str]:
    return [stem(w) for w in re.findall(r"[a-z0-9]+", fold(text).replace("'", ""))]


def stems_in(needle: list[str], hay: list[str]) -> bool:
    n = len(needle)
    return n > 0 and any(hay[i : i + n] == needle for i in range(len(hay) - n + 1))
