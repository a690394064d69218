"""The replay record's digests (`bot/kept.py`): the same answers as a plain dict, in a fifth of the
memory."""

from __future__ import annotations

import gc
import random
import sys
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.kept import Kept

# Few digests and times, so that the same digest comes again, in the dict and in the arrays.
digests = st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.sampled_from(
    [-(2**63), -1, 0, 7]
)
times = st.sampled_from([0.0, 1.0, 2.5, 3.0, 100.0, 1e9])
ops = st.lists(
    st.one_of(
        st.tuples(st.just("raise"), digests, times),
        st.tuples(st.just("claim"), digests, times, st.sampled_from([0.0, 1.0, 300.0])),
        st.tuples(st.just("forget"), times, st.integers(min_value=0, max_value=6)),
    ),
    max_size=60,
)


class Model:
    """What Kept should do, as a plain dict in order of each digest's time."""

    def __init__(self) -> None:
        self.kept: dict[int, float] = {}

    def raise_to(self, digest: int, at: float) -> None:
        if self.kept.get(digest, float("-inf")) < at:
            self.kept[digest] = at

    def claim(self, digest: int, at: float, within: float) -> bool:
        if self.kept.get(digest, float("-inf")) >= at - within:
            return False
        self.kept[digest] = at
        return True

    def forget(self, before: float, most: int) -> None:
        within = {d: at for d, at in self.kept.items() if at >= before}
        # oldest first; of the same time, the lower digest first
        by_age = sorted(within.items(), key=lambda kv: (kv[1], kv[0]))
        newest = by_age[len(within) - most :] if most else []
        self.kept = dict(newest) if len(within) > most else within


@settings(max_examples=300, deadline=None)
@given(ops=ops, freeze=st.integers(min_value=1, max_value=5), probes=st.lists(digests, max_size=5))
def test_kept_answers_as_a_dict_would(ops, freeze, probes):
    kept, model = Kept(freeze=freeze), Model()
    seen: set[int] = set(probes)
    for op in ops:
        if op[0] == "raise":
            _, digest, at = op
            kept.raise_to(digest, at)
            model.raise_to(digest, at)
            seen.add(digest)
        elif op[0] == "claim":
            _, digest, at, within = op
            assert kept.claim(digest, at, within) == model.claim(digest, at, within)
            seen.add(digest)
        else:
            _, before, most = op
            kept.forget(before, most)
            model.forget(before, most)
        for digest in seen:
            assert kept.get(digest) == model.kept.get(digest)
    assert dict(kept.items()) == model.kept


def test_a_digest_given_an_older_time_keeps_its_later_one_in_the_arrays_too():
    kept = Kept(freeze=1)  # every key merged at once
    kept.raise_to(5, 10.0)
    kept.raise_to(5, 3.0)
    assert kept.get(5) == 10.0
    kept.raise_to(5, 20.0)
    assert kept.get(5) == 20.0
    assert kept.get(6) is None


def test_a_hundred_thousand_keys_take_under_a_quarter_of_a_dicts_memory():
    count = 100_000

    def keys():  # made afresh, as the record makes them (a digest and a time, each an object)
        rng = random.Random(24)
        return ((rng.getrandbits(64) - 2**63, 1_000_000.0 + i / 10) for i in range(count))

    def size_of(build):
        gc.collect()
        tracemalloc.start()
        try:
            held = build()
            size = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        del held
        return size

    def as_kept():
        kept = Kept()
        for digest, at in keys():
            kept.raise_to(digest, at)
        return kept

    per_key = size_of(as_kept) / count
    per_key_in_a_dict = size_of(lambda: dict(keys())) / count
    print(f"{per_key:.1f} bytes a key, in a dict {per_key_in_a_dict:.1f}")
    assert per_key < 24, per_key
    assert per_key < per_key_in_a_dict / 4, (per_key, per_key_in_a_dict)


def test_a_lookup_calls_nothing_that_lets_the_interpreters_lock_go():
    # numpy's searchsorted lets the lock go: with one other thread busy, each lookup then took
    # 370 µs, not 2 (the other thread runs until the switch interval hands the lock back). On a
    # request's path, among eight busy threads, that is every request's cost. So a lookup calls
    # only the standard library's C functions.
    kept = Kept(freeze=4)
    for digest in range(0, 10_000, 7):
        kept.raise_to(digest, 1.0)
    assert kept.digests  # the lookups below go to the arrays
    called: list[str] = []

    def profile(frame, event, arg):
        if event == "c_call":
            owner = getattr(arg, "__self__", None)
            called.append(f"{getattr(arg, '__module__', None)} {type(owner).__module__}")

    sys.setprofile(profile)
    try:
        found = [kept.get(d) for d in (7, 8, 9_997, 10_003)]
    finally:
        sys.setprofile(None)
    assert found == [1.0, None, None, None]
    assert called and not [c for c in called if "numpy" in c], called
