"""Answers from the desk glossary (seeds/glossary.toml): what an abbreviation stands for and what
the thing it names does, as a source spells them out. The desk's own shorthand (USG, cmte) helps
read questions but is no source: asked what it stands for, the answer says no source spells it
out, and so for an abbreviation the glossary does not hold.
"""

from __future__ import annotations

import re

from handlers.question import Question
from handlers.reader.base import Answer, cited, examples
from handlers.render import esc
from store.models import Term
from store.queries import Store
from store.text import fold

# "what does X stand for", "X meaning", "what's X short for", "define X", "X acronym"
_STANDS = re.compile(
    r"\b(?:stand|stands|stood|short|abbreviation|abbreviations|acronym|acronyms|spelled|spelt|"
    r"spell|meaning|mean|means|define|definition|expand|expansion)\b",
    re.IGNORECASE,
)
_DOES = re.compile(
    r"\bwhat (?:does|do|did) (?:the |an? )?(?P<x>[\w.'-]+) (?:actually |really )?do\b"
)
_WHAT_IS = re.compile(
    r"^\s*(?:what|whats|what's|what is|what are)\s+(?:(?:the|an?)\s+)?(?P<x>[\w.'-]+)\s*\??\s*$",
    re.I,
)
_CAPS = re.compile(r"\b[A-Za-z][A-Za-z.]{1,9}\b")


def _asked_term(q: Question, store: Store) -> tuple[str, Term | None] | None:
    """The abbreviation the question asks about, as typed, and its glossary entry (None when
    the glossary does not hold it); None when no abbreviation is asked about."""
    raw = q.text  # typos mended ("stnad" is "stand"), shorthand written out ("wat" is "what")
    stands = _STANDS.search(raw)
    does = _DOES.search(raw.lower())
    what_is = _WHAT_IS.match(raw)
    if not (stands or does or what_is):
        return None
    typed = [t for t in _CAPS.findall(raw) if store.term(t) is not None]
    if typed:
        return typed[0], store.term(typed[0])
    if not stands:
        return None
    # "what does XYZ stand for": an abbreviation written in capitals the glossary does not hold
    caps = [t for t in re.findall(r"\b[A-Z][A-Z.&]{1,9}\b", raw) if t not in ("APEC",)]
    return (caps[0], None) if caps else None


@examples(
    "what does BMC stand for",
    "wat does SCE stnad for",
    "what does the BMC actually do?",
    "cti meaning",
)
def term(q: Question, store: Store) -> Answer | None:
    """What an abbreviation stands for (and, asked what it does, what a source says it does)."""
    found = _asked_term(q, store)
    if found is None:
        return None
    typed, entry = found
    if entry is None or entry.source is None or entry.reading_only:
        return Answer(f"No source on record spells out *{esc(typed)}*.")
    wants_role = bool(_DOES.search(q.text.lower())) or (
        not _STANDS.search(q.text) and bool(entry.definition)
    )
    name = f"*{esc(entry.term)}*"
    if wants_role and entry.definition:
        spelled = entry.expansion and fold(entry.expansion) not in fold(entry.definition)
        said = f"{name} ({esc(entry.expansion)})" if spelled else name
        return Answer(f"{said}: {esc(entry.definition)}.", cite=cited(entry.source, entry.quote))
    if not entry.expansion:
        return Answer(f"No source on record spells out {name}.")
    line = f"{name} stands for *{esc(entry.expansion)}*."
    if wants_role:
        line += " No source on record says more of what it does."
    return Answer(line, cite=cited(entry.source, entry.quote))
