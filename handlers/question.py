"""A question in plain words, read once into a `Question`: what it names and what it asks for.

The text is decoded from Slack once, its typos mended against the store's own vocabulary
(rapidfuzz, with a dictionary of common English words so that real words are left alone), the
things it names found by alias in one pass (meetings, member economies and their adjectives,
people, non-members), the year it means resolved against `now` ("this year", "the 2025 summit"),
and the attribute it asks for (when, where, who leads, who attended, who chaired, what was agreed,
discussed or prioritised, membership, how many...). What the store tells about words comes in one
piece, its `Lexicon` (store/lexicon.py); the words every module shares are in store/vocabulary.py.
The answer functions (handlers/reader/) read only the `Question`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from store.dates import Span, read_period
from store.lexicon import Lexicon, lexicon_of
from store.models import Economy, Meeting, Person, replaced
from store.queries import STOPWORDS, Store
from store.text import fold
from store.vocabulary import (
    DEMONYMS,
    KIND_PHRASES,
    MONTH_PATTERN,
    MONTHS,
    WEEKDAY_PATTERN,
    as_matched,
    common,
)

# Imported from here by the reader (GENERIC_MEETING, WEEKDAYS), the language check and the
# server's warm-up (english); they live in store/vocabulary.py.
from store.vocabulary import GENERIC_MEETING as GENERIC_MEETING
from store.vocabulary import WEEKDAYS as WEEKDAYS
from store.vocabulary import english as english

MAX_QUESTION = 2000
QUESTION_WORDS = ("when", "where", "what", "which", "who", "whom", "whose", "how", "why")
ASKS: dict[str, frozenset[str]] = {
    name: frozenset(words.split())
    for name, words in {
        "when": "when date dates day start starts started begin begins began open opens opened "
        "month time",
        "day": "exact exactly day days",
        "venue": "venue venues hotel building hall centre center",
        "title": "title titles job position post role",
        "name": "name names called spelling spell",
        "amount": "cost costs budget price spend spent funding money much",
        "where": "where city venue location located place province region",
        "lead": "lead leads led leading head heads headed heading leader spearhead spearheads "
        "spearheaded",
        "attend": "attend attends attended attending attendance participate participates "
        "participated participating participant participants go going went coming team "
        "represent represents represented representing representative representatives",
        "chair": "chair chairs chaired chairing chairman chairperson chairwoman preside presides "
        "presided presiding",
        "agreed": "agree agreed agreement agreements outcome outcomes result results decide "
        "decided decision decisions adopt adopted achieve achieved declaration concluded "
        "conclusion",
        "discussed": "discuss discussed discussing discussion discussions talk talked talks "
        "topic topics raise raises raised cover covered call conversation dialogue spoke say said "
        "announce announced introduce introduced outline outlined unveil unveiled",
        "priorities": "priority priorities objective objectives aim aims goal goals want wants "
        "seek seeks plan plans planning agenda focus press pressing push pushing",
        "member": "member members membership belong belongs join joined",
        "theme": "theme slogan motto",
        "host": "host hosts hosted hosting",
        "status": "held happen happened happening cancelled canceled postponed confirmed status "
        "underway ongoing finished over ended done complete completed concluded",
        "next": "next upcoming",
        "countdown": "countdown",
    }.items()
}
_POLAR = frozenset("is are was were will would did does do has have can could should".split())
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_WORDS = re.compile(r"[a-z0-9]+")
_YEAR = re.compile(r"(?<![\d-])(19[89]\d|20\d\d)(?![\d-])")
_RELATIVE_YEAR = re.compile(
    r"\b(this|current|present|last|previous|past|preceding|prior|next|coming|following) "
    r"(?:\w+ ){0,2}?year\b"
)
# "will Trump attend", "is Ruth Perry going to": who is asked about, named or not.
_WHO_ATTENDS = re.compile(
    r"\b(?:will|would|is|are|was|were|did|does|do|has|have)\s+(?P<who>[a-z][a-z .'-]{1,40}?)\s+"
    r"(?:attend|attending|attended|go|going|come|coming|participate|participating|participated"
    r"|join|joining|be\s+(?:at|in|there))\b"
)
_WHO_IS = re.compile(
    r"^(?:who\s+is|who's|whos|who\s+was)\s+(?!(?:on|in|at|with|from|of|for|to|the|a|an)\b)"
    r"(?P<who>[a-z][a-z .'-]{1,60})$"
)
# "the us delegation", "us team": the United States, though "us" is an English word.
_US = re.compile(
    r"(?<=\bthe )us\b|\bus(?= (?:delegation|delegations|team|delegates|objectives"
    r"|senior official|position|officials?)\b)",
)
# Chat shorthand no spelling corrector knows ("this yr", "som2 mtgs", "whos hosting").
_SHORTHAND = {
    "yr": "year",
    "yrs": "years",
    "mtg": "meeting",
    "mtgs": "meetings",
    "pls": "please",
    "plz": "please",
    "teh": "the",
    "whos": "who is",
    "whats": "what is",
    "u": "you",
    "ur": "your",
    "wat": "what",
    "abt": "about",
    "thx": "thanks",
    "govt": "government",
    "dept": "department",
    "depts": "departments",
    "mgmt": "management",
    "approx": "approximately",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "wk": "week",
    "deleg": "delegation",
    "delegn": "delegation",
    "intl": "international",
    "gathering": "meeting",
    "gatherings": "meetings",
    "del": "delegation",
    "dels": "delegations",
    "usdel": "US delegation",
    "wg": "working group",
    "wgs": "working groups",
    "who'd": "who would",
}
_SHORT = re.compile(
    r"(?<![\w'])(?:" + "|".join(map(re.escape, _SHORTHAND)) + r")(?![\w'])", re.IGNORECASE
)
_DOTTED = re.compile(r"\b(?:[A-Z]\.){2,4}(?!\w)")
_PERIOD_WORDS = f"(?:week|weekend|month|year|{WEEKDAY_PATTERN}|{MONTH_PATTERN})"
_NOT_NAMES = frozenset("he she they it we you i anyone someone anybody everyone who the".split())
_DELEGATION = frozenset({"delegation", "delegations", "team", "delegate", "delegates"})


@dataclass(frozen=True)
class Question:
    """One question, read: what it names, the year it means and what it asks for."""

    raw: str
    text: str  # decoded from Slack, typos mended, case kept: names are matched in this
    words: tuple[str, ...]  # folded words, "china's" as "china" and "s"
    asks: frozenset[str] = frozenset()
    polar: bool = False  # a yes-or-no question
    year: int | None = None  # the year it names or means ("this year"), if any
    meetings: tuple[Meeting, ...] = ()
    kind: str | None = None  # som, summit or ministerial, when it names a kind of meeting
    economies: tuple[tuple[str, Economy], ...] = ()  # (as typed, economy)
    non_members: tuple[tuple[str, str], ...] = ()  # (as typed, name)
    people: tuple[Person, ...] = ()
    others: tuple[str, ...] = ()  # people asked about that no source names ("Trump")
    mended: tuple[tuple[str, str], ...] = ()  # (as typed, read as)
    period: Span | None = None
    topic: tuple[str, ...] = ()  # its words that no name, attribute or question word explains
    place: str = ""  # "in Beijing": a place a yes-or-no question puts something in
    delegation: bool = False  # it speaks of a delegation or team
    now: datetime | None = field(default=None, compare=False)

    def has(self, *words: str) -> bool:
        """Whether any of these words is in the question."""
        return any(w in self.words for w in words)

    def phrase(self, text: str) -> bool:
        """Whether these words stand in the question in this order."""
        return f" {text} " in f" {' '.join(self.words)} "

    @property
    def economy(self) -> Economy | None:
        return self.economies[0][1] if self.economies else None

    @property
    def meeting(self) -> Meeting | None:
        return self.meetings[0] if self.meetings else None


def parse(store: Store, raw: str, now: datetime) -> Question:
    """Read a question once: everything the intents need to choose and answer."""
    lexicon = lexicon_of(store)
    text, framed, mended, low, words = _read(raw, lexicon)
    named = _named(lexicon, text)
    question = Question(
        raw=raw,
        text=text,
        words=words,
        asks=_asks(words),
        polar=framed or _polar(words, text),
        year=read_year(low, now),
        kind=kind_named(words),
        economies=_economies(store, named.get("economy", [])),
        non_members=tuple(named.get("non_member", [])),
        people=_people(store, named.get("person", []), words),
        mended=mended,
        period=_period(low, now),
        delegation=bool(_DELEGATION & set(words)),
        now=now,
    )
    meetings = _meetings_asked(store, lexicon, named.get("meeting", []), question)
    return _with_meetings(store, question, meetings, named, low)


def words_of(store: Store, raw: str) -> tuple[str, ...]:
    """A question's words as `parse` reads them (typos mended, case and accents folded), without
    the rest of the reading: for a command that needs no more (`next-meeting som`'s kind)."""
    return _read(raw, lexicon_of(store))[4]


def _read(
    raw: str, lexicon: Lexicon
) -> tuple[str, bool, tuple[tuple[str, str], ...], str, tuple[str, ...]]:
    """The first steps of reading: the text prepared and mended, whether its frame made it a
    yes-or-no question, what was mended, the text folded, and its words."""
    text, framed = _prepared(raw, lexicon)
    text, mended = mend(text, lexicon.vocabulary)
    low = fold(text).replace("'s ", " ")
    return text, framed, mended, low, tuple(_WORDS.findall(low.replace("'", "")))


def _prepared(raw: str, lexicon: Lexicon) -> tuple[str, bool]:
    """The question as typed, decoded and written out: its frame off (and whether the frame made
    it a yes-or-no question), chat and desk shorthand spelt out, names typed as one word split."""
    # Decoded at the edge; read with the letters IGNORECASE takes for ASCII ones written so
    text = as_matched(" ".join(raw.replace("\x00", " ").split())[:MAX_QUESTION])
    text = _DOTTED.sub(lambda m: m[0].replace(".", ""), text)  # "U.S." is "US", "P.R.C." "PRC"
    text, framed = unframe(errand_off(first_question(text)))
    text = _SHORT.sub(lambda m: _SHORTHAND[m[0].lower()], text)
    text = lexicon.spell_out(text)
    return lexicon.unjoin(_US.sub("US", text)), framed


def kind_named(words: tuple[str, ...]) -> str | None:
    """The kind of meeting the words name ("senior officials", "summits"), if any."""
    joined = f" {' '.join(words)} "
    return next(
        (k for k, says in KIND_PHRASES.items() if any(f" {s} " in joined for s in says)), None
    )


def _economies(store: Store, named: list[tuple[str, str]]) -> tuple[tuple[str, Economy], ...]:
    return tuple((typed, e) for typed, i in named if (e := store.economy_named(i)))


def _with_meetings(
    store: Store,
    q: Question,
    meetings: tuple[Meeting, ...],
    named: dict[str, list[tuple[str, str]]],
    low: str,
) -> Question:
    """The question with its meetings, and what they explain: people named by a title in the
    words left, the place asked about unless it is a meeting's, the topic."""
    meeting_words = {
        w
        for m in meetings
        for n in store.meeting_names(m.id)
        for w in _WORDS.findall(fold(n).replace("'", ""))
    }
    asked = tuple(w for w in q.words if w not in meeting_words)
    people = q.people or _people_by_title(store, asked, q.economies, "who" in q.asks)
    people = _not_besides(low, people)
    q = replaced(q, meetings=meetings, people=people, others=_others(low, people))
    if meetings and not people and q.asks & {"where", "when"}:
        # "which city did the US team go to for SOM1": going there asks where the meeting was
        q = replaced(q, asks=q.asks - {"attend"})
    place = _place(low, q)
    q = replaced(q, place="" if set(place.split()) <= meeting_words else place)
    return replaced(q, topic=_topic(q, named))


# "who else was on the US team besides Mace?": who is set aside is not who is asked about
_BESIDES = re.compile(
    r"\b(?:besides|other than|apart from|aside from|except(?: for)?)\s+(?P<x>[a-z][a-z .'-]{1,40})"
)


def _not_besides(low: str, people: tuple[Person, ...]) -> tuple[Person, ...]:
    found = _BESIDES.search(low)
    if found is None:
        return people
    aside = set(_WORDS.findall(found["x"].replace("'", ""))[:3])
    return tuple(p for p in people if not aside & set(_WORDS.findall(fold(p.name))))


# A sentence ends at "?" or "!", or at "." after a word of three letters or more ("Feb. 1" goes on).
_SENTENCE = re.compile(r"(?<=[?!])\s+(?=\S)|(?<=[a-z]{3}\.)\s+(?=[A-Z])")
# What a press officer wraps a claim in: "is it true that ...", "can I say ...", "confirm ...".
_CLAIM = re.compile(
    r"^(?:is it (?:true|correct|right|accurate)|can (?:i|we) (?:say|write|report|confirm)|"
    r"(?:please |can you |could you |would you (?:be good enough to |kindly )?)?confirm|"
    r"(?:just )?(?:confirming|checking|double[- ]?checking)|to confirm|(?:quick|sanity) check|"
    r"(?:i|we) (?:heard|hear|was told|were told|understand|think|believe|read|saw)|apparently|"
    r"rumou?r (?:is|has it)|word is|someone said|they say|"
    r"am i right|is it the case)(?: that| whether| if)?[,:]?\s+",
    re.IGNORECASE,
)
# A claim with a tag asking it to be confirmed: "SOM2 was in Dalian, correct?", "didn't she?"
_TAG = re.compile(
    r"[\s,;:-]+(?:right|correct|yes|true|ok|okay|yeah|am i right|is that (?:right|correct|so|true)"
    r"|(?:(?:can|could|would) (?:you|u) |pls |please |plz )?(?:please |pls )?confirm"
    r"|(?:isn|wasn|aren|weren|didn|doesn|don|won|hasn|haven)'?t (?:it|he|she|they|that|there)"
    r"(?: so| right)?)\s*[?.!]*\s*$",
    re.IGNORECASE,
)
_TAG_SPAN = 60  # characters: the longest tag with its commas and spaces, and then some
# The last word of every tag: a text ending otherwise is not searched for one.
_TAG_ENDS = frozenset(
    "right correct yes true ok okay yeah so it he she they that there confirm".split()
)
# The asker's errand around a question, not what it asks: what the answer is for ("for the
# travel request", "need to book flights") and the asking itself ("can you pull them", "asap").
_ERRAND = re.compile(
    r"(?:(?:^|[,;:.-]\s*)(?:i |we )?|\s(?:i|we) )need (?:it |this |that |them |these |those )?"
    r"(?:to (?:book|write|draft|send|file|prepare|brief|check|put|plan|update)|for|by)\b[^?]*"
    r"|\s*\b(?:for|in|to|into) (?:the|my|our|a|an|his|her|their)\s+(?:[\w'-]+\s+){0,3}?"
    r"(?:brief|briefing|briefs|memo|note|notes|annex|travel request|cable|email|e-mail|deck"
    r"|talking points|readout|letter|file|slides|paper)\b"
    r"|[,;:-]?\s*\b(?:can|could|would) (?:you|u) (?:please |pls )?(?:pull|get|grab|find|check"
    r"|send|dig up|look up) (?:them|it|that|this|those|these)(?: up| out| for me)?\b"
    r"|\s*\b(?:asap|urgently)\b",
    re.IGNORECASE,
)
# An errand that opens a question: "need the dates of SOM1" asks for the dates of SOM1.
_ASKING = re.compile(
    r"^(?:(?:i |we )?need(?: to know)?|(?:can|could|would) (?:you|u) (?:please |pls |kindly )?"
    r"(?:get|give|send|pull|find|grab|look up|dig up|list|name|show|share|provide)(?: me| us)?)"
    r"\s+",
    re.IGNORECASE,
)


# What comes before a question and is not part of it: a greeting, an apology, who is asking
# ("Hi, I'm new on the desk - what is the CTI?", "Sorry if this is basic: who is ...?").
_PREAMBLE = re.compile(
    r"^(?:sorry|apologies|forgive|(?:i'm|im|i am) new|quick q\w*|question|q|silly|dumb|basic"
    r"|newbie|new here|note)\b[^?]{0,80}?(?:\s[-\u2013\u2014]|:)\s*"
    r"(?=(?:who|whom|whose|what|whats|what's|when|where|which|how|why|is|are|was|were|did|does"
    r"|do|can|could|will|has|have)\b)",
    re.IGNORECASE,
)
_GREETING = re.compile(r"^(?:hi|hello|hey)\b[^,!.?]{0,30}[,!.]\s+", re.IGNORECASE)


# A word without which none of the patterns above can match: most texts have none and are left
# as they are after one search (a command's words are read on every request).
_ERRAND_HINT = re.compile(
    r"\b(?:need|can|could|would|asap|urgently|hi|hello|hey|sorry|apologies|forgive|new|quick"
    r"|question|q|silly|dumb|basic|newbie|note|brief|briefing|briefs|memo|notes|annex|travel"
    r"|cable|email|e-mail|deck|talking|readout|letter|file|slides|paper)\b"
)  # searched in the text lowered: a pattern without IGNORECASE is twice as quick


def errand_off(text: str) -> str:
    """The question without the asker's errand around it (the text as typed if that is all)."""
    if not _ERRAND_HINT.search(as_matched(text).lower()):  # "brıef" is "brief" to _ERRAND too
        return text
    text = " ".join(text.split())  # one space apart: each pattern's spaces are one match, not many
    text = _PREAMBLE.sub("", _GREETING.sub("", text, count=1), count=1) or text
    asked = _ASKING.sub("", _ERRAND.sub("", text), count=1).strip(" ,;:-")
    return asked if _WORDS.search(fold(asked)) else text


# Where a question of several parts divides: at a "?" or ";" before another question, a "+",
# before "and" that opens another question ("..., and who led the US del?"), or a comma before
# "what" or "how" (not before "which", "who" or "where": ", which I understand ..." goes on the
# same question). A list of bare question words ("where, when", "when and where") is one part.
_WH = r"(?:who|whom|whose|what|whats|what's|when|where|which|how|why)\b"
_OPENS = (
    r"(?:who|whom|whose|what|whats|what's|when|where|which|how|why|is|are|was|were|did|does|do"
    r"|will|has|have)\b"
)
_PARTS = re.compile(
    rf"(?<=\?)\s+(?={_OPENS})|\s*;\s*(?={_OPENS})|\s*\+\s*"
    rf"|,?\s+and\s+(?=(?:also\s+|then\s+|roughly\s+|approximately\s+)?{_WH})"
    r",?|,\s*(?=(?:also\s+|then\s+|roughly\s+|approximately\s+)?(?:what|whats|what's|how)\b)",
    re.IGNORECASE,
)
# A part that asks nothing of its own: question words and what they ask ("where, when", "date",
# "pls confirm date"), which belong with the subject of the part after them. Read word by word
# (a pattern of nested repeats took seconds on "when , when , ... x").
_BARE_WORDS = frozenset(
    """who whom whose what whats when where which how why and or pls please plz confirm the
    exact date dates day days venue city place location host name time""".split()
)


def _bare(part: str) -> bool:
    words = _WORDS.findall(fold(part).replace("'", ""))
    return bool(words) and all(w in _BARE_WORDS for w in words)


# "two things:": what announces the parts
_HEADER = re.compile(
    r"^(?:two|three|four|a few|a couple of|couple of|some|quick) (?:things|questions|qs|points)"
    r"\b[^:]*:\s*",
    re.IGNORECASE,
)
MAX_PARTS = 4


def parts_of(text: str) -> list[str]:
    """A question of several parts ("SOM2: where, when, and who led the US del?"), part by part;
    one question, or more parts than MAX_PARTS, as it was typed."""
    asked = _HEADER.sub("", errand_off(" ".join(text[:MAX_QUESTION].split())), count=1)
    if _CLAIM.match(asked):
        return [text]  # a claim put to be confirmed is one claim, however many its clauses
    spans: list[tuple[int, int]] = []  # each part's start and end in `asked`
    start = 0
    for gap in [*_PARTS.finditer(asked), None]:
        end = gap.start() if gap is not None else len(asked)
        if asked[start:end].strip(" ,"):
            if spans and _bare(asked[spans[-1][0] : spans[-1][1]]):
                spans[-1] = (spans[-1][0], end)  # a bare "when" belongs with what follows it
            else:
                spans.append((start, end))
        if gap is not None:
            start = gap.end()
    if len(spans) < 2 or len(spans) > MAX_PARTS:
        return [text]
    return [asked[a:b].strip(" ,") for a, b in spans]


# Politeness around a question, without a claim: "could you remind me which ...".
_POLITE = re.compile(
    r"^(?:(?:could|can|would) you (?:please |kindly )?(?:remind me|tell me|let me know)|"
    r"remind me|tell me|i need to know|do you know|(?:please )?let me know)(?: of)?\s+",
    re.IGNORECASE,
)


def first_question(text: str) -> str:
    """The sentence that asks ("Has SOM2 happened? Can I write it up?" asks the first): the first
    ending in "?", else the whole text."""
    sentences = _SENTENCE.split(text)
    if len(sentences) < 2:
        return text
    return next((s for s in sentences if s.rstrip().endswith("?")), text)


def unframe(text: str) -> tuple[str, bool]:
    """The question without its frame, and whether the frame made it a yes-or-no question."""
    framed = _CLAIM.sub("", text, count=1)
    if framed == text or not framed.strip():
        framed = text
    tagged = framed.rstrip(" ?.!").rpartition(" ")[2].lower() in _TAG_ENDS
    tag = _TAG.search(framed, max(0, len(framed) - _TAG_SPAN)) if tagged else None  # at its end
    claim = framed[: tag.start()] if tag is not None else framed
    said = _WORDS.findall(fold(claim))
    if claim != framed and said and said[0] not in QUESTION_WORDS:
        return f"{claim}?", True  # "I heard SOM2 was in Dalian - is that right?"
    if framed != text:
        return framed, True
    return _POLITE.sub("", text, count=1) or text, False


def _polar(words: tuple[str, ...], raw: str) -> bool:
    """A yes-or-no question: it opens with "is", "did"...; or, with no question word, it asks
    with a "?" what it states ("ceo summit is alongside the leaders mtg?")."""
    if not words:
        return False
    if words[0] in _POLAR:
        return True
    asked = raw.rstrip().endswith("?") and not set(words) & set(QUESTION_WORDS)
    return asked and bool(set(words[1:]) & {"is", "are", "was", "were", "will", "has", "have"})


# -- mending typos ---------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _targets(vocabulary: frozenset[str]) -> tuple[str, ...]:
    """What a typo may be mended to: question words first, so that "wen" is "when"."""
    asks = sorted({w for words in ASKS.values() for w in words})
    rest = sorted(w for w in vocabulary if len(w) >= 4 and not w.isdigit())
    plain = sorted(w for w in STOPWORDS if len(w) >= 4)
    return tuple(dict.fromkeys([*QUESTION_WORDS, *asks, "delegation", "member", *rest, *plain]))


def mend(text: str, vocabulary: frozenset[str]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The text with each word that is neither ours nor common English mended to its nearest
    word of ours (one edit for a short word, two for a long one), and what was mended."""
    mended: list[tuple[str, str]] = []

    def fix(match: re.Match[str]) -> str:
        typed = match[0]
        word = typed.lower()
        if len(word) < 3 or word in vocabulary or common(word) or word in QUESTION_WORDS:
            return typed
        if word in ASKS_ALL:
            return typed
        limit = 1 if len(word) <= 6 else 2
        best = process.extractOne(
            word, _targets(vocabulary), scorer=OSA.distance, score_cutoff=limit
        )
        if best is None:
            return typed
        mended.append((typed, best[0]))
        return best[0] if typed.islower() else best[0].capitalize()

    return _TOKEN.sub(fix, text), tuple(mended)


ASKS_ALL = frozenset(w for words in ASKS.values() for w in words)


# -- what it names ---------------------------------------------------------------------------


def _named(lexicon: Lexicon, text: str) -> dict[str, list[tuple[str, str]]]:
    """Everything named, kind by kind; the longest name wins where two overlap across kinds
    ("North Korea" is not "Korea", "Chinese Taipei" is not "Chinese")."""
    found: dict[str, list[tuple[str, str]]] = {}
    for typed, target in lexicon.names.find(text):
        kind, _, ident = target.partition("\t")
        if kind == "capital":
            if _as_place(typed).search(text):
                continue  # "the summit in Beijing", "the Beijing SOM": a place, not its economy
            kind = "economy"
        if (typed, ident) not in found.setdefault(kind, []):
            found[kind].append((typed, ident))
    return found


def _as_place(typed: str) -> re.Pattern[str]:
    """A capital written as a place: after "in", "at", "to"..., or before a meeting's name."""
    place = rf"\b(?:in|at|to|from|near|of)\s+{re.escape(typed)}\b"
    names = rf"\b{re.escape(typed)}\s+(?:som\d?|senior|summit|meeting|ministerial|leaders)"
    return re.compile(f"{place}|{names}", re.IGNORECASE)


def _people(
    store: Store, named: list[tuple[str, str]], words: tuple[str, ...]
) -> tuple[Person, ...]:
    """People named in full or by alias, and by one of their names ("Lee") where that is
    not ambiguous, or is made plain by the others named ("Lee and Xi")."""
    people = [p for _, i in dict.fromkeys(named) if (p := store.person_by_id(i))]
    taken = {p.id for p in people}
    typed = {w for t, _ in named for w in _WORDS.findall(fold(t).replace("'", ""))}
    parts = store.name_parts()
    for word in words:
        if word in ASKS_ALL or word in typed:
            continue
        candidates = [
            p for i in parts.get(word, ()) if i not in taken and (p := store.person_by_id(i))
        ]
        found = _narrowed(candidates, word, words, people)
        taken.update(p.id for p in found)
        people += found
    return tuple(people)


def _narrowed(
    candidates: list[Person], word: str, words: tuple[str, ...], people: list[Person]
) -> list[Person]:
    """Of the people one of their names calls up, those the question points to: by their other
    names typed too, else by a source they share with the people already named; all else."""
    if len(candidates) > 1:
        candidates = _by_other_names(candidates, word, words) or candidates
    if len(candidates) > 1 and people:
        sources = {p.source.id for p in people} | {r.source.id for p in people for r in p.roles}
        candidates = [c for c in candidates if c.source.id in sources] or candidates
    return candidates


def _by_other_names(candidates: list[Person], word: str, words: tuple[str, ...]) -> list[Person]:
    """Of people sharing a name ("Lee"), those whose other names are typed too, give or take a
    letter ("lee ji-yon" is Lee Ji-yoon)."""
    rest = [w for w in words if w != word]
    found = []
    for p in candidates:
        others = [n for n in _WORDS.findall(fold(p.name)) if n != word]
        if others and all(any(OSA.distance(n, w) <= 1 for w in rest) for n in others):
            found.append(p)
    return found


def _meetings(store: Store, named: list[tuple[str, str]], q: Question) -> tuple[Meeting, ...]:
    """Meetings named; a name that says only the kind ("the summit", "AELM") means the one of
    the year asked about, else of the current year, else the next one, else the last."""
    by_id = {m.id: m for m in store.meetings()}
    out: list[Meeting] = []
    for typed, ident in named:
        meeting = by_id.get(ident)
        if meeting is None:
            continue
        if set(_WORDS.findall(fold(typed).replace("'", ""))) <= GENERIC_MEETING:
            meeting = of_year(store, meeting.kind, q.year, q.now) or (None if q.year else meeting)
            if meeting is None:
                continue
        if meeting not in out:
            out.append(meeting)
    return tuple(out)


def _meetings_asked(
    store: Store, lexicon: Lexicon, named: list[tuple[str, str]], q: Question
) -> tuple[Meeting, ...]:
    """The meetings a question is about: those it names; for "the summit" alone, the year's;
    and first, one it names in other words than its aliases, when nothing is named or when that
    one shares two telling words with the question beyond the names typed."""
    meetings = _meetings(store, named, q)
    if not meetings and q.kind == "summit":
        # "the summit": the year's, as its generic name would have said had the year's summit
        # been on record under it (a view of a day before it was: the year's own is found)
        found = of_year(store, "summit", q.year, q.now)
        meetings = (found,) if found is not None else ()
    closer = _meetings_by_words(store, lexicon, q.words)
    if closer and closer[0] not in meetings:
        named_words = {w for t, _ in named for w in _WORDS.findall(fold(t))}
        if not meetings or len(lexicon.telling[closer[0].id] & set(q.words) - named_words) >= 2:
            meetings = closer + meetings
    return meetings


def _meetings_by_words(
    store: Store, lexicon: Lexicon, words: tuple[str, ...]
) -> tuple[Meeting, ...]:
    """A meeting named in other words than its aliases ("the first budget committee meeting",
    "the senior officials' meeting in Guangzhou"): the one whose names and city share the most
    telling words with the question, two at least."""
    asked = set(words)
    best: tuple[int, Meeting | None] = (0, None)
    for m in store.meetings():
        shared = lexicon.telling[m.id] & asked
        enough = len(shared) >= 2 or bool(shared & lexicon.unique)
        if enough and len(shared) > best[0]:
            best = (len(shared), m)
    return (best[1],) if best[1] is not None else ()


def _people_by_title(
    store: Store, words: tuple[str, ...], economies: tuple[tuple[str, Economy], ...], who: bool
) -> tuple[Person, ...]:
    """People named by title ("Korea's Coordinator for Economic Diplomacy", "the Chinese
    president"): every telling word of the title asked, or its head word and the economy."""
    asked = set(words)
    ids = {e.id for _, e in economies}
    found = []
    for p in store.people():
        title = [w for w in _WORDS.findall(fold(p.title)) if w not in _TITLE_PLAIN]
        if not title:
            continue
        # a whole title names its holder, unless the question names another economy's
        whole = who and len(title) >= 2 and set(title) <= asked and (not ids or p.economy_id in ids)
        head = p.economy_id in ids and bool(
            _TITLE_HEADS & set(title) & {w.rstrip("s") for w in asked}
        )
        if whole or head:
            found.append(p)
    return tuple(found)


_TITLE_PLAIN = frozenset("the of for at to in and a an s apec u us".split()) | {
    w.lower() for n in DEMONYMS for w in n.split()
}
_TITLE_HEADS = frozenset(
    "president presidents minister ministers spokesperson director coordinator official".split()
)


def of_year(store: Store, kind: str, year: int | None, now: datetime | None) -> Meeting | None:
    """The meeting of a kind for a year; with no year, this year's, else the next, else the last."""
    found = [
        m
        for m in store.meetings()
        if m.kind == kind and not m.parent_id and m.status != "cancelled"
    ]
    if year is not None:
        return next((m for m in found if m.year == year), None)
    if now is None:
        return None
    this = [m for m in found if m.year == now.year]
    if this:
        return this[0]
    ahead = [m for m in found if m.year is not None and m.year > now.year]
    if ahead:
        return min(ahead, key=lambda m: (m.year, m.span.start or now.date()))
    past = [(m.year, m) for m in found if m.year is not None]
    return max(past, key=lambda dated: dated[0])[1] if past else None


def _others(low: str, people: tuple[Person, ...]) -> tuple[str, ...]:
    """People asked about whom no source names: "will Trump attend", "who is the WTO chief"."""
    plain = " ".join(_WORDS.findall(low.replace("'", "")))
    found = _WHO_ATTENDS.search(plain) or (None if people else _WHO_IS.search(plain))
    if found is None:
        return ()
    who = found["who"].strip()
    known = {w for p in people for w in _WORDS.findall(fold(p.name))}
    if who in _NOT_NAMES or set(who.split()) & known or who.split()[0] in ("the", "a", "an"):
        return ()
    return (who.title(),)


# -- what it asks ----------------------------------------------------------------------------

# A test of the question's words: joined (" who leads the us delegation "), and as a set.
_Test = Callable[[str, frozenset[str]], bool]


def _saying(*phrases: str) -> _Test:
    """The question holds one of these phrases."""
    return lambda joined, _: any(f" {p} " in joined for p in phrases)


def _matching(pattern: str) -> _Test:
    """The question matches this pattern (written against the joined words)."""
    compiled = re.compile(pattern)
    return lambda joined, _: compiled.search(joined) is not None


@dataclass(frozen=True)
class _AskRule:
    """Where a phrase says more than its words: the asks it adds and those it takes away."""

    test: _Test
    add: frozenset[str] = frozenset()
    drop: frozenset[str] = frozenset()


def _rule(test: _Test, add: str = "", drop: str = "") -> _AskRule:
    return _AskRule(test, frozenset(add.split()), frozenset(drop.split()))


_COUNTDOWN = _saying(
    "how many days",
    "how long until",
    "how long till",
    "how long to",
    "days until",
    "days to",
    "days left",
    "days till",
)
_COUNT = _saying("how many", "number of", "how big", "how often", "size of")
_AIMING = _saying(
    "trying to",
    "hoping to",
    "seeking to",
    "want to",
    "aiming to",
    "aim to",
    "push for",
    "pushing for",
)
_MEMBER_OF = _saying("in apec", "part of apec", "apec member", "apec members", "an apec", "of apec")
_MONEY = frozenset("much cost costs price spend spent funding money".split())
_BUDGET_BODY = re.compile(r"\bbudget (?:and|committee|management)\b")
_NEXT_MEETING = re.compile(rf" next (?!{_PERIOD_WORDS}\b)")
_PART_OF_APEC = re.compile(r" part of (?:the )?apec ")


def _count_not_countdown(joined: str, said: frozenset[str]) -> bool:
    """ "how many SOMs", but not "how many days until" (a countdown)."""
    return _COUNT(joined, said) and not _COUNTDOWN(joined, said)


def _only_next_period(joined: str, _: frozenset[str]) -> bool:
    """ "next month": each "next" is of a period, none is the next meeting."""
    return " next " in joined and _NEXT_MEETING.search(joined) is None


def _part_of_other(joined: str, _: frozenset[str]) -> bool:
    """ "part of the delegation", where no "part of APEC" is."""
    return " part of " in joined and _PART_OF_APEC.search(joined) is None


def _membership(joined: str, said: frozenset[str]) -> bool:
    """ "is Chile in APEC", "Peru an APEC member?": a question of membership."""
    asks_it = bool({"is", "are", "member", "members"} & said) or not said & set(QUESTION_WORDS)
    return _MEMBER_OF(joined, said) and asks_it


def _budget_body(joined: str, said: frozenset[str]) -> bool:
    """The budget committee named, and no money asked about."""
    return not _MONEY & said and (_BUDGET_BODY.search(joined) is not None or "bmc" in said)


# In order: a later rule may take away what an earlier one added.
_ASK_RULES = (
    _rule(_COUNTDOWN, add="countdown"),
    _rule(_count_not_countdown, add="count"),
    _rule(_matching(r" (?:take|takes|took|taking|taken) part "), add="attend"),
    _rule(_matching(r" (?:go|goes|went|gone|going) (?:ahead|on) "), add="status", drop="attend"),
    _rule(_matching(r" (?:which|what) (?:year|years|date|dates|day) "), add="when"),
    _rule(_matching(r" what (?:is|was|are|were) \w+(?: \w+)? after "), add="priorities"),
    _rule(_saying("coming up"), add="next", drop="attend"),
    _rule(_only_next_period, drop="next"),  # "next month" is a period, not the next meeting
    _rule(_part_of_other, add="attend"),
    _rule(_AIMING, add="priorities", drop="agreed"),
    _rule(_membership, add="member"),
    _rule(_budget_body, drop="amount"),  # "the budget committee" asks no amount
    _rule(_matching(r"^ (?:who|whos) "), add="who"),
    # "Ishiba Shigeru -- who's that?": the name first, then who it is
    _rule(
        _matching(r" (?:who|whos) (?:is |s |was )?(?:that|this|he|she|him|her|they) "), add="who"
    ),
    _rule(_matching(r"^ (?:what|whats) (?:is|are|s|does|do|was|a|an) "), add="define"),
)


def _asks(words: tuple[str, ...]) -> frozenset[str]:
    """What the question asks for: the asks its words name, as its phrases' rules change them,
    and what a meeting's days answer by themselves."""
    joined = f" {' '.join(words)} "
    said = frozenset(words)
    asks = {name for name, named_by in ASKS.items() if named_by & said}
    for rule in _ASK_RULES:
        if rule.test(joined, said):
            asks = asks - rule.drop | rule.add
    return frozenset(asks | _derived_asks(joined, said))


# What a meeting's days tell without a source saying more: its weekday, how long it lasts, how
# long ago it ended, and what of the calendar is left.
_WEEKDAY_ASKED = re.compile(
    r" (?:day of (?:the )?week|weekdays?|weekends?) "
    r"| (?:what|which) day (?:does|did|is|was|will|do) "
)
_SINCE_ASKED = re.compile(
    r" how long ago | how long since | how many (?:days|weeks|months) (?:ago|since|has it been) "
    r"| (?:days|weeks) ago | (?:days|weeks|months) since "
)
_DURATION_ASKED = re.compile(
    r" how long (?!until |till |to |before |ago |since )| how many days (?:did|does|do|is|was|will"
    r"|are|were) .*(?:last|run|take|go on|long|span)\b| duration | length | how many days "
    r"(?:long|of) | (?:ran|run|runs|lasted|lasts|last) (?:for )?how many days "
    # "how many days is the summit": how long it is, not how long until it
    r"| how many days (?:is|was|will be) (?:the |a )?(?!(?:it|there|left)\b)(?:(?!until|till"
    r"| to | before | away| left| from ).)*$"
)
_LEFT_ASKED = re.compile(
    r" anything left | left on | still (?:to come|ahead|coming|left) | remaining "
    r"| rest of the year "
)


def _derived_asks(joined: str, words: frozenset[str]) -> set[str]:
    """The asks a meeting's days answer by themselves (weekday, duration, since, left)."""
    asks = set()
    if _WEEKDAY_ASKED.search(joined) or words & set(WEEKDAYS):
        asks.add("weekday")
    if _SINCE_ASKED.search(joined):
        asks.add("since")
    elif _DURATION_ASKED.search(joined) and "countdown" not in _plain_asks(joined):
        asks.add("duration")
    if _LEFT_ASKED.search(joined):
        asks.add("left")
    return asks


def _plain_asks(joined: str) -> set[str]:
    countdown = (" how many days until ", " how long until ", " how long till ", " how long to ")
    return {"countdown"} if any(p in joined for p in countdown) else set()


_YEAR_SHIFT = {
    "last": -1,
    "previous": -1,
    "past": -1,
    "preceding": -1,
    "prior": -1,
    "next": 1,
    "coming": 1,
    "following": 1,
}
_YEAR_BEFORE = re.compile(r"\byear (?:\w+ )?(?:preceding|before)(?: (?:the )?(last|\d{4}))?\b")


def read_year(low: str, now: datetime) -> int | None:
    """The year a question names ("2025", "APEC 2026") or means ("this year", "last year")."""
    before = _YEAR_BEFORE.search(low)
    if before:  # "the year (immediately) preceding", "the year before 2020", "the year before last"
        anchor = before[1]
        return now.year - 2 if anchor == "last" else (int(anchor) if anchor else now.year) - 1
    relative = _RELATIVE_YEAR.search(low)
    if relative:
        return now.year + _YEAR_SHIFT.get(relative[1], 0)
    for found in _YEAR.finditer(low):
        year = int(found[1])
        if 1989 <= year <= now.year + 5:  # "Vision 2040" names no year of meetings
            return year
    return None


_MONTH_START = "|".join(month[:3] for month in MONTHS)  # "jan|feb|...", "sept" as "sep"
_MONTH_DAY = re.compile(
    rf"\b(?:{_MONTH_START})[a-z]*\.? \d{{1,2}}\b|\b\d{{1,2}} (?:{_MONTH_START})[a-z]*\b"
)

_PERIOD_PREPOSITION = re.compile(
    r"\b(?:in|on|during|between|from|next|this|last|for|today|tonight|tomorrow|yesterday)\b"
)


def _period(low: str, now: datetime) -> Span | None:
    """The period a question names: after a preposition ("in May"), or a day written with its
    month ("anything happening feb 1?")."""
    if not (_PERIOD_PREPOSITION.search(low) or _MONTH_DAY.search(low)):
        return None
    return read_period(low, now)


# Words that carry no topic of their own in a question about APEC.
_FILLER = frozenset(
    """a about after all also am an and any anything apec are as at be been before being both but
    by can could did do does doing during each for from get got had has have having he her him his
    how i if in into is it its just know let me more my no not now of on once only or other our out
    over please s same she should so some such tell than that the their them then there these they
    this those through to too under up very was we were what whats when where which while who whom
    whose why will with would yet you your there's it's here give show info information details
    news latest anything any going happening right currently ever still already really exactly
    meeting meetings summit summits som soms year years leaders leader senior officials
    official economic cooperation asia pacific held take place took happen happened happens us
    one ones
    make makes made making country countries economy economies right underway ongoing convene
    convenes convened often things thing stuff reached part people many much taken take takes
    took yet please thanks actually name ahead else other others come comes into involved
    involvement connection connected fit fits relevant relevance matter matters list lists
    enumerate full complete presently currently kind enough might sent send sends sending course
    served serve serves serving immediately context besides except apart aside""".split()
)


def _topic(q: Question, named: dict[str, list[tuple[str, str]]]) -> tuple[str, ...]:
    """The question's words that nothing else explains: what it is about beyond names and
    attributes ("announced", "theme", "weather")."""
    explained = set(_FILLER) | ASKS_ALL | set(QUESTION_WORDS)
    for found in named.values():
        explained |= {w for typed, _ in found for w in _WORDS.findall(fold(typed).replace("'", ""))}
    for m in q.meetings:
        explained |= set(_WORDS.findall(fold(f"{m.short} {m.name} {m.city}")))
    for p in q.people:
        explained |= set(_WORDS.findall(fold(f"{p.name} {p.title}")))
    explained |= {w for _, e in q.economies for w in _WORDS.findall(fold(e.name))}
    if q.period is not None:
        explained |= set(_WORDS.findall(fold(q.period.text)))
    explained |= set(q.place.split())
    explained |= {"delegation", "delegations", "delegate", "delegates", "member", "members"}
    # a number is never a topic, a year the store holds ("2026") included
    return tuple(w for w in dict.fromkeys(q.words) if w not in explained and not w.isdigit())


_NOT_PLACES = frozenset(
    """course time person total general principle fact practice particular short advance order
    charge""".split()
)
_IN_PLACE = re.compile(
    r"\b(?:in|at)\s+(?P<place>[a-z][a-z .'-]{1,40}?)"
    r"(?:\s+(?:this|next|last|in|on|for|during)\b|$)"
)


def _place(low: str, q: Question) -> str:
    """The place a yes-or-no question names ("is the summit in Beijing?"), if it names one."""
    if not q.polar and not (q.meetings and q.words[:1] not in (("when",), ("where",))):
        return ""
    plain = " ".join(_WORDS.findall(low.replace("'", "")))
    found = _IN_PLACE.search(plain)
    if found is None:
        return ""
    place = " ".join(w for w in found["place"].split() if w not in ("the", "a", "an"))
    if (
        not place
        or q.period is not None
        and set(place.split()) & set(_WORDS.findall(fold(q.period.text)))
    ):
        return ""
    if place.split()[0] in _NOT_PLACES or place in ("apec", "person", "time"):
        return ""
    return place if place and place not in _FILLER else ""
