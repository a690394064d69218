"""A question in plain words, read once into a `Question`: what it names and what it asks for.

The text is decoded from Slack once, its typos mended against the store's own vocabulary
(rapidfuzz, with a dictionary of common English words so that real words are left alone), the
things it names found by alias in one pass (meetings, member economies and their adjectives,
people, non-members), the year it means resolved against `now` ("this year", "the 2025 summit"),
and the attribute it asks for (when, where, who leads, who attended, who chaired, what was agreed,
discussed or prioritised, membership, how many...). The answer functions (handlers/reader/) read only this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache, lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from store.dates import Span, read_period
from store.models import Economy, Meeting, Person
from store.names import Matcher, is_short_caps
from store.queries import STOPWORDS, Store
from store.text import fold

MAX_QUESTION = 2000
COMMON = 1000  # a word this frequent in English (pyspellchecker's counts) is meant as typed

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
        "where": "where city venue location located place",
        "lead": "lead leads led leading head heads headed heading leader spearhead spearheads "
        "spearheaded",
        "attend": "attend attends attended attending attendance participate participates "
        "participated participating participant participants go going went coming team "
        "represent represents represented representing representative representatives",
        "chair": "chair chairs chaired chairing chairman chairperson chairwoman preside presides "
        "presided presiding",
        "agreed": "agree agreed agreement agreements outcome outcomes result results decide "
        "decided decision decisions adopt adopted achieve achieved declaration concluded conclusion",
        "discussed": "discuss discussed discussing discussion discussions talk talked talks "
        "topic topics raise raises raised cover covered call conversation dialogue spoke say said announce "
        "announced introduce introduced outline outlined unveil unveiled",
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
KIND_WORDS = {
    "som": (
        "som",
        "soms",
        "senior officials meeting",
        "senior officials meetings",
        "senior officials",
    ),
    "summit": ("summit", "summits", "leaders meeting", "leaders summit", "aelm"),
    "ministerial": ("ministerial", "ministerials", "ministers meeting", "ministerial meeting"),
}
# Words of a name that says only the kind of meeting ("the summit"): its year decides which.
GENERIC_MEETING = frozenset("the apec economic leaders leader summit meeting aelm s".split())
# Capitals that stand for their economy when they act ("what did Seoul push"), not as places.
CAPITALS = {
    "Washington": "US",
    "Seoul": "KR",
    "Beijing": "CN",
    "Tokyo": "JP",
    "Canberra": "AU",
    "Ottawa": "CA",
    "Wellington": "NZ",
    "Moscow": "RU",
    "Jakarta": "ID",
    "Hanoi": "VN",
    "Manila": "PH",
    "Bangkok": "TH",
    "Santiago": "CL",
    "Lima": "PE",
    "Taipei": "TW",
}
# Economies by their adjective ("the Korean delegation"), for questions only.
DEMONYMS = {
    "American": "US",
    "Australian": "AU",
    "Bruneian": "BN",
    "Canadian": "CA",
    "Chilean": "CL",
    "Chinese": "CN",
    "Indonesian": "ID",
    "Japanese": "JP",
    "Korean": "KR",
    "South Korean": "KR",
    "Malaysian": "MY",
    "Mexican": "MX",
    "New Zealander": "NZ",
    "Peruvian": "PE",
    "Filipino": "PH",
    "Philippine": "PH",
    "Russian": "RU",
    "Singaporean": "SG",
    "Thai": "TH",
    "Vietnamese": "VN",
}
DEMONYMS.update({f"{n}s": i for n, i in list(DEMONYMS.items()) if not n.endswith(("s", "ese"))})
_POLAR = frozenset("is are was were will would did does do has have can could should".split())
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_WORDS = re.compile(r"[a-z0-9]+")
_YEAR = re.compile(r"(?<![\d-])(19[89]\d|20\d\d)(?![\d-])")
_RELATIVE_YEAR = re.compile(
    r"\b(this|current|present|last|previous|past|preceding|prior|next|coming|following) (?:\w+ ){0,2}?year\b"
)
# "will Trump attend", "is Ruth Perry going to": who is asked about, named or not.
_WHO_ATTENDS = re.compile(
    r"\b(?:will|would|is|are|was|were|did|does|do|has|have)\s+(?P<who>[a-z][a-z .'-]{1,40}?)\s+"
    r"(?:attend|attending|attended|go|going|come|coming|participate|participating|participated"
    r"|join|joining|be\s+(?:at|in|there))\b"
)
_WHO_IS = re.compile(
    r"^(?:who\s+is|who's|whos|who\s+was)\s+(?!(?:on|in|at|with|from|of|for|to|the|a|an)\b)(?P<who>[a-z][a-z .'-]{1,60})$"  # noqa: E501
)
# "the us delegation", "us team": the United States, though "us" is an English word.
_US = re.compile(
    r"(?<=\bthe )us\b|\bus(?= (?:delegation|delegations|team|delegates|objectives|senior official|position|officials?)\b)",  # noqa: E501
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
    "wat": "what",
    "abt": "about",
    "thx": "thanks",
    "govt": "government",
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
_PERIOD_WORDS = (
    "(?:week|weekend|month|year|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    "|january|february|march|april|may|june|july|august|september|october|november|december)"
)
_NOT_NAMES = frozenset("he she they it we you i anyone someone anybody everyone who the".split())


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
    text = " ".join(raw.replace("\x00", " ").split())[:MAX_QUESTION]  # decoded at the edge
    text = _DOTTED.sub(lambda m: m[0].replace(".", ""), text)  # "U.S." is "US", "P.R.C." "PRC"
    text, framed = unframe(first_question(text))
    text = _SHORT.sub(lambda m: _SHORTHAND[m[0].lower()], text)
    text = _desk_shorthand(store, text)
    text, mended = mend(_unjoin(_US.sub("US", text), store), store.vocabulary())
    low = fold(text).replace("'s ", " ")
    words = tuple(_WORDS.findall(low.replace("'", "")))
    named = _named(store, text)
    year = read_year(low, now)
    kind = next(
        (
            k
            for k, says in KIND_WORDS.items()
            if any(f" {s} " in f" {' '.join(words)} " for s in says)
        ),
        None,
    )
    people = _people(store, named.get("person", []), words)
    question = Question(
        raw=raw,
        text=text,
        words=words,
        asks=_asks(words),
        polar=framed or _polar(words, text),
        year=year,
        kind=kind,
        economies=tuple(
            (typed, e) for typed, i in named.get("economy", []) if (e := store.economy_named(i))
        ),
        non_members=tuple(named.get("non_member", [])),
        people=people,
        mended=mended,
        period=_period(low, now),
        delegation=bool(
            {"delegation", "delegations", "team", "delegate", "delegates"} & set(words)
        ),
        now=now,
    )
    meetings = _meetings(store, named.get("meeting", []), question)
    if not meetings and kind == "summit":
        # "the summit": the year's, as its generic name would have said had the year's summit
        # been on record under it (a view of a day before it was: the year's own is found)
        found = of_year(store, "summit", year, now)
        meetings = (found,) if found is not None else ()
    closer = _meetings_by_words(store, words)
    if closer and closer[0] not in meetings:
        named_words = {w for t, _ in named.get("meeting", []) for w in _WORDS.findall(fold(t))}
        if not meetings or len(_telling_words(store)[closer[0].id] & set(words) - named_words) >= 2:
            meetings = closer + meetings
    meeting_words = {
        w
        for m in meetings
        for n in store.meeting_names(m.id)
        for w in _WORDS.findall(fold(n).replace("'", ""))
    }
    asked = tuple(w for w in words if w not in meeting_words)
    people = people or _people_by_title(store, asked, question.economies, "who" in question.asks)
    question = replace(question, meetings=meetings, people=people, others=_others(low, people))
    place = _place(low, question)
    question = replace(question, place="" if set(place.split()) <= meeting_words else place)
    return replace(question, topic=_topic(question, named))


# A sentence ends at "?" or "!", or at "." after a word of three letters or more ("Feb. 1" goes on).
_SENTENCE = re.compile(r"(?<=[?!])\s+(?=\S)|(?<=[a-z]{3}\.)\s+(?=[A-Z])")
# What a press officer wraps a claim in: "is it true that ...", "can I say ...", "confirm ...".
_CLAIM = re.compile(
    r"^(?:is it (?:true|correct|right|accurate)|can (?:i|we) (?:say|write|report|confirm)|"
    r"(?:please |can you |could you |would you (?:be good enough to |kindly )?)?confirm|"
    r"am i right|is it the case)(?: that| whether| if)?\s+",
    re.IGNORECASE,
)
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
    claim = _CLAIM.sub("", text, count=1)
    if claim != text and claim.strip():
        return claim, True
    return _POLITE.sub("", text, count=1) or text, False


def _unjoin(text: str, store: Store) -> str:
    """Names typed as one word ("parkjonghan", "leejiyoon") as the names they are."""
    joined = _joined_names(store)
    return _LONG_WORD.sub(lambda m: joined.get(m[0].lower(), m[0]), text)


def _joined_names(store: Store) -> dict[str, str]:
    return store.cached(
        "joined_names",
        lambda: {
            re.sub(r"[^a-z0-9]", "", fold(n)): n
            for kind in ("person", "meeting", "economy")
            for n in store.names(kind)
            if len(n.split()) > 1 or "-" in n
        },
    )


_LONG_WORD = re.compile(r"\b[A-Za-z]{7,}\b")


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


@cache
def english() -> dict[str, int]:
    """Common English words and their counts (pyspellchecker's list), loaded on first need."""
    from spellchecker import SpellChecker

    return dict(SpellChecker(language="en", distance=1).word_frequency.dictionary)


def common(word: str) -> bool:
    """A word English uses often enough that it is meant as typed."""
    return english().get(word.lower(), 0) >= COMMON


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


def loose(alias: str) -> bool:
    """A short capital alias may be typed in lower case when it is no English word ("usa")."""
    return is_short_caps(alias) and not common(alias)


def _desk_shorthand(store: Store, text: str) -> str:
    """The desk's shorthand in the glossary ("cmte", "del", "HoD") written out as it reads."""
    found = store.cached("desk_shorthand", lambda: _read_desk_shorthand(store))
    if found is None:
        return text
    pattern, meant = found
    return pattern.sub(lambda m: meant[m[0].lower()], text)


def _read_desk_shorthand(store: Store) -> tuple[re.Pattern[str], dict[str, str]] | None:
    meant = {
        name.lower(): t.expansion
        for t in store.glossary()
        if t.kind == "shorthand" and t.expansion
        for name in (t.term, *t.aliases)
    }
    if not meant:
        return None
    words = "|".join(re.escape(w) for w in sorted(meant, key=len, reverse=True))
    return re.compile(rf"(?<![\w'])(?:{words})(?![\w'])", re.IGNORECASE), meant


# A glossary term that names a record stands for it in a question ("USG" the US, "AMM" the joint
# ministerial meeting), as the record's own aliases do.
_TERM_KINDS = {
    "economy": "economy",
    "meeting": "meeting",
    "committee": "meeting",
    "event": "meeting",
}


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


def _named(store: Store, text: str) -> dict[str, list[tuple[str, str]]]:
    """Everything named, kind by kind; the longest name wins where two overlap across kinds
    ("North Korea" is not "Korea", "Chinese Taipei" is not "Chinese")."""
    found: dict[str, list[tuple[str, str]]] = {}
    for typed, target in store.cached("names_asked", lambda: _names_matcher(store)).find(text):
        kind, _, ident = target.partition("\t")
        if kind == "capital":
            place = rf"\b(?:in|at|to|from|near|of)\s+{re.escape(typed)}\b"
            names = rf"\b{re.escape(typed)}\s+(?:som\d?|senior|summit|meeting|ministerial|leaders)"
            if re.search(f"{place}|{names}", text, re.IGNORECASE):
                continue  # "the summit in Beijing", "the Beijing SOM": a place, not its economy
            kind = "economy"
        if (typed, ident) not in found.setdefault(kind, []):
            found[kind].append((typed, ident))
    return found


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
        if len(candidates) > 1:
            candidates = _by_other_names(candidates, word, words) or candidates
        if len(candidates) > 1 and people:
            sources = {p.source.id for p in people} | {r.source.id for p in people for r in p.roles}
            candidates = [c for c in candidates if c.source.id in sources] or candidates
        for p in candidates:
            taken.add(p.id)
            people.append(p)
    return tuple(people)


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


def _meetings_by_words(store: Store, words: tuple[str, ...]) -> tuple[Meeting, ...]:
    """A meeting named in other words than its aliases ("the first budget committee meeting",
    "the senior officials' meeting in Guangzhou"): the one whose names and city share the most
    telling words with the question, two at least."""
    asked = set(words)
    telling = _telling_words(store)
    unique = store.cached(
        "unique_words",
        lambda: frozenset(
            w for w, ms in _word_meetings(store).items() if len(ms) == 1 and len(w) >= 4
        ),
    )
    best: tuple[int, Meeting | None] = (0, None)
    for m in store.meetings():
        shared = telling[m.id] & asked
        enough = len(shared) >= 2 or bool(shared & unique)
        if enough and len(shared) > best[0]:
            best = (len(shared), m)
    return (best[1],) if best[1] is not None else ()


def _telling_words(store: Store) -> dict[str, frozenset[str]]:
    """Each meeting's telling words: those of its names and city, but the plainest."""
    return store.cached("telling_words", lambda: _read_telling_words(store))


def _read_telling_words(store: Store) -> dict[str, frozenset[str]]:
    economies = {w for n in store.names("economy") for w in _WORDS.findall(fold(n))}
    out = {}
    for m in store.meetings():
        said = {
            w for n in store.meeting_names(m.id) for w in _WORDS.findall(fold(n).replace("'", ""))
        }
        said |= set(_WORDS.findall(fold(m.city)))
        years = {w for w in said if w.isdigit()}  # "2025" names a year of meetings, not one
        out[m.id] = frozenset(said - GENERIC_MEETING - _PLAIN_WORDS - economies - years)
    return out


def _word_meetings(store: Store) -> dict[str, set[str]]:
    """Each telling word and the top-level meetings it names (a city names one meeting if one is
    held there, its parts aside)."""
    return store.cached("word_meetings", lambda: _read_word_meetings(store))


def _read_word_meetings(store: Store) -> dict[str, set[str]]:
    telling = _telling_words(store)
    found: dict[str, set[str]] = {}
    for m in store.meetings():
        for w in telling[m.id]:
            found.setdefault(w, set()).add(m.parent_id or m.id)
    return found


# Words too common in meeting names to tell one from another.
_PLAIN_WORDS = frozenset(
    """and of on the for first second third related meetings meeting committee economy economies
    host year apec senior officials official economic cooperation asia pacific sectoral
    ministerial ministers minister event events high level summit leaders day days week weeks
    month months today""".split()
)


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


_TITLE_PLAIN = frozenset("the of for at to in and a an s apec u us".split()) | set(
    DEMONYMS_WORDS := [w.lower() for n in DEMONYMS for w in n.split()]
)
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


def _asks(words: tuple[str, ...]) -> frozenset[str]:
    joined = f" {' '.join(words)} "
    asks = {name for name, said in ASKS.items() if said & set(words)}
    if any(
        f" {p} " in joined
        for p in (
            "how many days",
            "how long until",
            "how long till",
            "how long to",
            "days until",
            "days to",
            "days left",
            "days till",
        )
    ):
        asks.add("countdown")
    elif any(
        f" {p} " in joined for p in ("how many", "number of", "how big", "how often", "size of")
    ):
        asks.add("count")
    if re.search(r" (?:take|takes|took|taking|taken) part ", joined):
        asks.add("attend")
    if re.search(r" (?:go|goes|went|gone|going) (?:ahead|on) ", joined):
        asks -= {"attend"}
        asks.add("status")
    if re.search(r" (?:which|what) (?:year|years|date|dates|day) ", joined):
        asks.add("when")
    if re.search(r" what (?:is|was|are|were) \w+(?: \w+)? after ", joined):
        asks.add("priorities")
    if " coming up " in joined:
        asks -= {"attend"}
        asks.add("next")
    if " next " in joined and not re.search(rf" next (?!{_PERIOD_WORDS}\b)", joined):
        asks.discard("next")  # "next month" is a period, not the next meeting
    if " part of " in joined and not re.search(r" part of (?:the )?apec ", joined):
        asks.add("attend")
    if any(
        f" {p} " in joined
        for p in (
            "trying to",
            "hoping to",
            "seeking to",
            "want to",
            "aiming to",
            "aim to",
            "push for",
            "pushing for",
        )
    ):
        asks.add("priorities")
        asks.discard("agreed")
    if any(
        f" {p} " in joined
        for p in ("in apec", "part of apec", "apec member", "apec members", "an apec", "of apec")
    ):
        if {"is", "are", "member", "members"} & set(words) or not set(words) & set(QUESTION_WORDS):
            asks.add("member")
    if "amount" in asks and not {
        "much",
        "cost",
        "costs",
        "price",
        "spend",
        "spent",
        "funding",
        "money",
    } & set(words):
        if re.search(r"\bbudget (?:and|committee|management)\b", joined) or "bmc" in words:
            asks.discard("amount")
    if "held" in asks and ({"when", "where"} & asks):
        asks.discard("status")
    asks |= _derived_asks(joined, set(words))
    if words[:1] in (("who",), ("whos",)):
        asks.add("who")
    if (
        words[:1] in (("what",), ("whats",))
        and len(words) > 1
        and words[1] in ("is", "are", "s", "does", "do", "was", "a", "an")
    ):
        asks.add("define")
    return frozenset(asks)


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# What a meeting's days tell without a source saying more: its weekday, how long it lasts, how
# long ago it ended, and what of the calendar is left.
_WEEKDAY_ASKED = re.compile(
    r" (?:day of (?:the )?week|weekdays?|weekends?) | (?:what|which) day (?:does|did|is|was|will|do) "
)
_SINCE_ASKED = re.compile(
    r" how long ago | how long since | how many (?:days|weeks|months) (?:ago|since|has it been) "
    r"| (?:days|weeks) ago "
)
_DURATION_ASKED = re.compile(
    r" how long (?!until |till |to |before |ago |since )| how many days (?:did|does|do|is|was|will"
    r"|are|were) .*(?:last|run|take|go on|long|span)\b| duration | length of | how many days "
    r"(?:long|of) "
)
_LEFT_ASKED = re.compile(
    r" anything left | left on | still (?:to come|ahead|coming|left) | remaining | rest of the year "
)


def _derived_asks(joined: str, words: set[str]) -> set[str]:
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


_YEAR_BEFORE = re.compile(r"\byear (?:\w+ )?(?:preceding|before)(?: (?:the )?(last|\d{4}))?\b")


def read_year(low: str, now: datetime) -> int | None:
    """The year a question names ("2025", "APEC 2026") or means ("this year", "last year")."""
    before = _YEAR_BEFORE.search(low)
    if before:  # "the year (immediately) preceding", "the year before 2020", "the year before last"
        anchor = before[1]
        return now.year - 2 if anchor == "last" else (int(anchor) if anchor else now.year) - 1
    relative = _RELATIVE_YEAR.search(low)
    if relative:
        shift = {
            "last": -1,
            "previous": -1,
            "past": -1,
            "preceding": -1,
            "prior": -1,
            "next": 1,
            "coming": 1,
            "following": 1,
        }
        return now.year + shift.get(relative[1], 0)
    for found in _YEAR.finditer(low):
        year = int(found[1])
        if 1989 <= year <= now.year + 5:  # "Vision 2040" names no year of meetings
            return year
    return None


_MONTH_DAY = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2}\b"
    r"|\b\d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b"
)


def _period(low: str, now: datetime) -> Span | None:
    """The period a question names: after a preposition ("in May"), or a day written with its
    month ("anything happening feb 1?")."""
    if not (
        re.search(r"\b(?:in|on|during|between|from|next|this|last|for)\b", low)
        or _MONTH_DAY.search(low)
    ):  # noqa: E501
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
    meeting meetings summit summits som soms year years 2025 2026 leaders leader senior officials
    official economic cooperation asia pacific held take place took happen happened happens us
    one ones
    make makes made making country countries economy economies right underway ongoing convene
    convenes convened often things thing stuff reached part people many much taken take takes
    took yet please thanks actually name ahead else other others come comes into involved
    involvement connection connected fit fits relevant relevance matter matters list lists
    enumerate full complete presently currently kind enough might sent send sends sending course
    served serve serves serving immediately""".split()
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
    return tuple(w for w in dict.fromkeys(q.words) if w not in explained and not w.isdigit())


_NOT_PLACES = frozenset(
    "course time person total general principle fact practice particular short advance order charge".split()
)
_IN_PLACE = re.compile(
    r"\b(?:in|at)\s+(?P<place>[a-z][a-z .'-]{1,40}?)(?:\s+(?:this|next|last|in|on|for|during)\b|$)"
)  # noqa: E501


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
