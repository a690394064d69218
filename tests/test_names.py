"""store/names.py: names found in texts as whole words, the longest alias first, in linear time."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from store.names import Matcher, _loose_words, _pattern, plain

ALIASES = {
    "Korea": "kr",
    "Republic of Korea": "kr",
    "South Korea": "kr",
    "China": "cn",
    "People's Republic of China": "cn",
    "US": "us",
    "United States": "us",
    "SOM1": "som1",
    "SOM": "som",
    "Casey Mace": "mace",
}
WORDS = [
    "Korea",
    "Republic",
    "of",
    "South",
    "China",
    "People's",
    "US",
    "us",
    "United",
    "States",
    "SOM1",
    "SOM",
    "Casey",
    "Mace",
    "met",
    "and",
    "the",
    ",",
    ".",
]


def reference_find(aliases: dict[str, str], text: str) -> list[tuple[str, str]]:
    """The rule the matcher keeps, written plainly: aliases longest first, each match kept unless
    it overlaps one kept before, the whole in order of appearance."""
    haystack = plain(text)
    words = set(_loose_words(haystack))
    found, taken = [], []
    for alias in sorted(aliases, key=len, reverse=True):
        pattern = _pattern(alias)
        if pattern is None or _loose_words(plain(alias))[0] not in words:
            continue
        for match in pattern.finditer(haystack):
            start, end = match.span()
            if any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            found.append((start, match.group(0), aliases[alias]))
    return [(w, t) for _, w, t in sorted(found)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=40))
def test_find_keeps_the_longest_alias_and_no_overlap(words: list[str]) -> None:
    text = " ".join(words)
    assert Matcher(ALIASES).find(text) == reference_find(ALIASES, text)


def test_the_longer_alias_wins_where_two_overlap() -> None:
    found = Matcher(ALIASES).find("The Republic of Korea and South Korea, not Korea alone.")
    assert found == [("Republic of Korea", "kr"), ("South Korea", "kr"), ("Korea", "kr")]


def test_a_hundred_thousand_mentions_in_one_sentence_are_all_found() -> None:
    # Every mention is kept once, whatever the count: the overlap check no longer walks the
    # matches found before (bench/names_bench.py measures the time: linear in the text).
    text = "Korea, China and the US met at SOM1 " * 25_000
    found = Matcher(ALIASES).find(text)
    assert len(found) == 100_000
    assert found[:4] == [("Korea", "kr"), ("China", "cn"), ("US", "us"), ("SOM1", "som1")]
