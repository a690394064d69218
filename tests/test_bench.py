"""The bench scripts keep working (their figures are read by people, not asserted here), and the
load bench's requests are what it says: its varied texts kept under the few questions they read
as, every text answered as the question it stands for. (That its uncached requests make every
reply is checked by the bench itself, from the reply cache's counts.)"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from datetime import datetime
from functools import partial

import pytest

from bench._child import Counts, read_app_time, read_counts, time_requests
from bench.load_bench import (
    CACHED_TEXT,
    MEETING_KINDS,
    MIX,
    NOW,
    BenchError,
    _on_a_free_port,
    countdown_text,
    cpu_seconds,
    delegation_text,
    meeting_text,
    next_meeting_text,
)
from bot.replies import understood
from handlers.router import Ask, route
from tests.conftest import ROOT


@pytest.mark.parametrize(
    "argv",
    [
        ["store_bench.py", "--quick"],
        ["load_bench.py", "--quick"],
        ["load_bench.py", "--quick", "--memory", "300"],
        ["schedule_bench.py", "--quick"],
        ["edit_bench.py", "--quick"],
        ["server_bench.py", "--quick"],
        ["watch_bench.py", "--quick"],
        ["brief_bench.py", "--quick"],
        ["names_bench.py", "--quick"],
        ["timeline_bench.py", "--quick"],
    ],
    ids=" ".join,
)
def test_bench_script_runs_quick_and_prints_its_aims(argv):
    script, *options = argv
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *options],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Aim" in result.stdout and ("PASS" in result.stdout or "MISS" in result.stdout)
    if argv == ["load_bench.py", "--quick"]:  # each level's CPU, ours' and the floor's, measured
        row = r"^(\w+) +\d+ (floor-1|ours-1) .* +(\d+|-) +(\d+|-) "
        rows = re.findall(row, result.stdout, re.M)
        assert {kind for kind, _, _, _ in rows} >= {"cached", "uncached", "mention"}
        assert all(cpu != "-" and app != "-" for _, _, cpu, app in rows), rows


def test_the_bench_counts_the_cpu_of_each_call_in_its_own_thread(tmp_path):
    """What the load bench's "app" column sums: each call of the method timed, in the calling
    thread's CPU, and written to the folder by the process' own thread."""
    counts = Counts(tmp_path)

    class App:
        def __call__(self, n: int) -> int:
            return sum(range(n))

    assert time_requests(counts, App, "__call__")
    assert not time_requests(counts, App, "events")  # nothing to time: said, not raised
    assert [App()(200_000) for _ in range(5)] == [19_999_900_000] * 5
    assert counts.app_calls == 5 and counts.app_ns > 0
    counts.write()  # as the process's thread does every FLUSH_EVERY s
    assert read_app_time(tmp_path) == (counts.app_ns, 5)
    (tmp_path / "12345.json").write_text('{"hits": 3, "misses": 1}')  # a process timing nothing
    assert read_app_time(tmp_path) == (counts.app_ns, 5) and read_counts(tmp_path) == (3, 1)


def test_the_bench_counts_are_written_whole_by_threads_writing_at_once(tmp_path):
    """The process's writer thread and any other caller of `write` may write at once (CI once
    failed here: both renamed the same part file, and the second found it gone)."""
    counts = Counts(tmp_path)
    failures: list[BaseException] = []

    def writes() -> None:
        for _ in range(200):
            counts.app(1)  # starts the process's own writer thread too
            try:
                counts.write()
            except OSError as error:
                failures.append(error)

    threads = [threading.Thread(target=writes) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    counts.write()
    assert read_app_time(tmp_path) == (800, 800)
    assert [path.name for path in tmp_path.iterdir()] == [f"{os.getpid()}.json"]


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_the_cpu_of_a_service_counts_its_workers_too():
    """`cpu_seconds` of a process is its own and its descendants' (a supervisor's workers)."""
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
    child = subprocess.Popen(
        [sys.executable, "-c", burn + "print('done', flush=True)\ninput()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "done\n"
        own = cpu_seconds([child.pid])
        assert own is not None and own >= 0.25
        mine = cpu_seconds([os.getpid()])
        assert mine is not None and mine >= own
    finally:
        child.kill()
        child.wait()


def test_the_varied_texts_are_kept_under_the_kinds_of_meeting_they_read(store):
    view = partial(store.at, datetime.fromisoformat(NOW).date())
    keys = {understood(next_meeting_text(n), view) for n in range(1, 5_001)}
    kinds = {f"{CACHED_TEXT} {kind}".strip() for kind in MEETING_KINDS}
    assert keys == kinds and understood(CACHED_TEXT, view) in kinds


# What a reply says when it did not understand the question
NOT_ANSWERS = ("Usage:", "I can't read", "I don't know", "I have no meeting called")


@pytest.mark.parametrize("make", MIX, ids=lambda f: f.__name__)
def test_every_uncached_text_is_answered_and_not_with_usage(store, make):
    now = datetime.fromisoformat(NOW)
    for n in [*range(60), 997, 5_003, 19_999]:
        text = make(n)
        reply = route(Ask(store=store, now=now, text=text)).plain()
        assert not any(no in reply for no in NOT_ANSWERS), (text, reply)


@pytest.mark.parametrize("n", [4, 5, 6, 7, 17, 998, 19_999])
def test_uncached_next_meeting_gets_the_answer_of_the_plain_command(store, n):
    now = datetime.fromisoformat(NOW)
    text = next_meeting_text(n)
    kind = text.split()[-1] if text.split()[-1] in ("som", "summit", "ministerial") else ""
    plain = f"{CACHED_TEXT} {kind}".strip()
    assert text != plain
    got = route(Ask(store=store, now=now, text=text)).plain()
    assert got == route(Ask(store=store, now=now, text=plain)).plain()


@pytest.mark.parametrize(
    ("make", "n", "plain"),
    [
        (countdown_text, 9, "countdown"),
        (delegation_text, 21 * 6 * 3 + 19, "delegation the United States SOM1"),
        (meeting_text, 6 * 9 + 1, "meeting SOM2"),
    ],
)
def test_uncached_words_are_read_past_as_in_the_plain_question(store, make, n, plain):
    now = datetime.fromisoformat(NOW)
    text = make(n)
    assert text != plain
    got = route(Ask(store=store, now=now, text=text)).plain()
    assert got == route(Ask(store=store, now=now, text=plain)).plain()


def test_a_service_whose_port_was_taken_before_it_bound_starts_on_another():
    """The race CI met: a port found free is taken (here: held by a listener) before the
    service binds it; the service then starts on another port, not the run failing."""
    taken = socket.create_server(("127.0.0.1", 0))
    tried: list[int] = []

    def start(port: int) -> socket.socket:  # binds as a service does, failing as its start does
        port = taken.getsockname()[1] if not tried else port
        tried.append(port)
        try:
            return socket.create_server(("127.0.0.1", port))
        except OSError as exc:
            raise BenchError(f"ours did not start:\n  apec-bot: {exc}") from exc

    with taken, _on_a_free_port(start) as started:  # type: ignore[arg-type]
        assert tried[0] == taken.getsockname()[1]
        assert started.getsockname()[1] == tried[1] != tried[0]


def test_a_service_that_fails_for_another_reason_is_not_started_again():
    tried: list[int] = []

    def start(port: int) -> None:
        tried.append(port)
        raise BenchError("ours did not start:\n  apec-bot: no such store")

    with pytest.raises(BenchError, match="no such store"):
        _on_a_free_port(start)  # type: ignore[arg-type]
    assert len(tried) == 1
