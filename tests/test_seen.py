"""The record of requests (bot/seen.py): a request's path writes nothing; one writer a process
records the keys in the shared file, off the path.

The window, as bot/seen.py states it: a replay is refused in the process that saw the first at
once; in another process once this one's writer has written the key (within FLUSH_EVERY and the
write's time; here `flush()` waits for it, and a process ending cleanly writes what waits).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from bot.seen import _PRUNE, Seen
from tests.conftest import ROOT


def keys_in(path: Path) -> set[str]:
    """The keys the file holds, read by a connection of this test's own."""
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT key FROM seen")}
    finally:
        conn.close()


def in_another_process(path: Path, code: str) -> list[bool]:
    """Run `code` in a new Python process, with `seen = Seen(path)`; what it put in `results`."""
    script = (
        "import json, os, sys\n"
        "from bot.seen import Seen\n"
        f"seen = Seen({str(path)!r})\n"
        "results = []\n"
        f"{code}\n"
        "print(json.dumps(results))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_the_request_path_writes_nothing_while_another_holds_the_files_write_lock(tmp_path, caplog):
    path = tmp_path / "apec.db.seen"
    seen = Seen(path)
    assert seen.signature("1000", "v0=a", now=1000.0)
    assert seen.flush()  # the file and its table are made
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writes, for as long as it likes
    try:
        # A write here would wait for the lock (SQLite's busy timeout), then fail.
        assert seen.signature("1001", "v0=b", now=1001.0)
        assert not seen.signature("1001", "v0=b", now=1002.0)  # a replay: refused from memory
        assert seen.event("Ev1", now=1001.0) and not seen.event("Ev1", now=1003.0)
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert seen.flush()  # the writer waited for the lock, then wrote
    assert keys_in(path) == {"signature 1000:v0=a", "signature 1001:v0=b", "event Ev1"}


def test_another_process_refuses_what_this_ones_writer_has_written_and_the_other_way(tmp_path):
    path = tmp_path / "apec.db.seen"
    seen = Seen(path)
    assert seen.signature("1000", "v0=a", now=1000.0) and seen.event("EvA", now=1000.0)
    assert seen.flush()  # the window's end: the keys are in the file
    refused = in_another_process(
        path,
        "results += [seen.signature('1000', 'v0=a', now=1001.0), seen.event('EvA', now=1002.0)]\n"
        "results.append(seen.event('EvB', now=1002.0))",  # written as the process ends
    )
    assert refused == [False, False, True]
    assert not seen.event("EvB", now=1003.0)  # this process reads the other's key in the file
    assert seen.signature("1000", "v0=c", now=1003.0)


def claimed_at_once(path: Path, event_id: str, now: float, threads: int = 8) -> list[bool]:
    """`threads` threads, released together, each claiming `event_id` with a `Seen` of its own."""
    results: list[bool] = []
    start = threading.Barrier(threads)

    def claim() -> None:
        start.wait()
        results.append(Seen(path).event(event_id, now=now))

    running = [threading.Thread(target=claim) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join(timeout=30)
    return results


def test_within_this_process_every_thread_and_every_seen_of_the_file_share_one_memory(tmp_path):
    results = claimed_at_once(tmp_path / "apec.db.seen", "EvShared", now=1000.0)
    assert sorted(results) == [False] * 7 + [True]


def test_nothing_waiting_is_lost_at_a_clean_stop(tmp_path):
    path = tmp_path / "apec.db.seen"
    seen = Seen(path)

    def requests(first: int) -> None:
        for n in range(first, first + 250):
            assert seen.signature("1000", f"v0={n}", now=1000.0)

    threads = [threading.Thread(target=requests, args=(n * 250,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    seen.close()  # serve's stop
    assert len(keys_in(path)) == 1000


def test_a_forked_child_writes_what_it_sees_with_a_writer_of_its_own(tmp_path):
    """The parent's writer is a thread: it does not exist in the child, which starts its own."""
    path = tmp_path / "apec.db.seen"
    code = (
        "assert seen.event('EvParent', now=1000.0) and seen.flush()  # the parent's writer ran\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    ok = seen.event('EvChild', now=1001.0) and not seen.event('EvParent', now=1001.0)\n"
        "    ok = ok and seen.flush(timeout=10)\n"
        "    os._exit(0 if ok else 1)\n"
        "results.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0)\n"
    )
    assert in_another_process(path, code) == [True]
    assert keys_in(path) == {"event EvParent", "event EvChild"}


def test_a_key_claimed_again_past_its_time_is_kept_in_the_file_from_its_new_time(tmp_path):
    path = tmp_path / "apec.db.seen"
    seen = Seen(path)
    for n in range(50):
        assert seen.event(f"Ev{n}", now=1000.0)
    assert seen.flush()
    assert seen.count("event") == 50
    assert seen.event("Ev0", now=1000.0 + 86_400 + 100)  # past its day: new, kept from now
    seen.close()
    conn = sqlite3.connect(path)
    try:
        at = conn.execute("SELECT at FROM seen WHERE key = 'event Ev0'").fetchone()[0]
    finally:
        conn.close()
    assert at == 1000.0 + 86_400 + 100


def test_a_key_costs_this_process_under_a_hundred_and_twenty_bytes_once_written(tmp_path):
    # The record holds every signature for its 5 minutes: under load that is the most of what a
    # worker's memory grows by (bench/load_bench.py --memory). Counted by tracemalloc, which is
    # exact for the same code, after the writer has written (nothing waits), with a margin for
    # the dict's growth in steps.
    import gc
    import tracemalloc

    seen = Seen(tmp_path / "apec.db.seen")
    now = 1_000_000.0
    seen.signature(str(int(now)), "v0=warm", now)
    seen.flush()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(20_000):  # a signature as long as Slack's, each at a moment of its own
            seen.signature(str(int(now)), f"v0={n:064x}", now + n / 1000)
        assert seen.flush()
        gc.collect()
        per_key = (tracemalloc.get_traced_memory()[0] - before) / 20_000
    finally:
        tracemalloc.stop()
        seen.close()
    assert per_key < 120, f"{per_key:.0f} bytes a key"


def test_the_writer_writes_a_batch_in_one_statement_a_kind_whatever_its_size(tmp_path):
    # Each statement SQLite steps lets the interpreter's lock go and waits to take it back: with
    # a request thread busy in Python, that wait is a switch interval (5 ms) or so. Row by row
    # (executemany), 5,000 keys took 4 s to write instead of 18 ms, and under load the window
    # in which a replay to another worker passes grew with it, and the keys waiting with it.
    # So a batch is written in one statement a kind, however many keys it holds.
    from bot import seen as record

    path = tmp_path / "apec.db.seen"
    memory = record._Memory(path)
    conn = record._open_writer(path)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    keys = [(f"signature {n}:v0={n:064x}", "signature", 1000.0 + n, 300.0) for n in range(500)]
    keys += [(f"event Ev{n}", "event", 1000.0 + n, 86_400.0) for n in range(500)]
    conn = memory._write(conn, keys, {"signature": 900.0})
    assert conn is not None
    writes = [s for s in statements if s.lstrip().upper().startswith(("INSERT", "DELETE"))]
    assert len(writes) <= 3, f"{len(writes)} statements for 1,000 keys of two kinds and a prune"
    assert len(keys_in(path)) == 1000
    conn.close()


def test_an_event_id_that_is_no_text_is_recorded_and_refused_again_like_any_other(tmp_path):
    # JSON can carry a lone surrogate ("\ud800"), which is no UTF-8: SQLite cannot take it as
    # it is. It must neither raise on the request's path (a 500) nor stop the writer.
    seen = Seen(tmp_path / "apec.db.seen")
    try:
        assert seen.event("Ev\ud800x", now=1000.0)
        assert not seen.event("Ev\ud800x", now=1001.0)
        assert seen.flush()
        other = Seen(tmp_path / "apec.db.seen")
        assert seen.count("event") == 1
        assert other.event("Ev\udfffx", now=1002.0)  # another id: new
    finally:
        seen.close()


def test_new_keys_are_decided_in_memory_reading_the_file_at_most_once_a_pull(tmp_path, monkeypatch):
    # A read of the file on each new key let each request thread's interpreter lock go and wait
    # to take it back: 40% of a kept reply's CPU under load. The others' keys come by pulls.
    from bot import seen as record

    monkeypatch.setattr(record, "PULL_EVERY", 3600.0)  # one pull good for the whole test
    seen = Seen(tmp_path / "apec.db.seen")
    try:
        assert seen.signature("1000", "v0=first", now=1000.0)
        assert seen.flush()  # the file is made
        memory = seen._memory
        with memory.pulling:
            memory._pull(memory._reader())  # a pull of this thread's own: its connection opens
        reads: list[str] = []
        memory.local.conn.set_trace_callback(reads.append)
        for n in range(200):
            assert seen.signature("1000", f"v0={n}", now=1000.0)
        assert not seen.signature("1000", "v0=7", now=1001.0)
        assert not [r for r in reads if "seen" in r], reads[:3]
    finally:
        seen.close()


def test_a_pull_finds_the_others_keys_after_every_row_was_pruned_and_rowids_began_again(
    tmp_path,
):
    path = tmp_path / "apec.db.seen"
    seen = Seen(path)
    try:
        for n in range(5):
            assert seen.event(f"EvOld{n}", now=1000.0)
        assert seen.flush()
        memory = seen._memory
        with memory.pulling:
            memory._pull(memory._reader())  # has pulled up to the fifth row
        # Another process prunes every row (a day later), then writes new ones from rowid 1.
        in_another_process(
            path,
            "results.append(seen.event('EvLate', now=1000.0 + 86_400 + 61))\n"
            "seen.flush()\n"
            "import sqlite3\n"
            f"c = sqlite3.connect({str(path)!r})\n"
            "c.execute('DELETE FROM seen'); c.commit()\n"
            "results.append(seen.event('EvNew', now=1000.0 + 86_400 + 62))\n",
        )
        seen._memory.pulled_at = float("-inf")  # the pull is due (as PULL_EVERY later)
        assert not seen.event("EvNew", now=1000.0 + 86_400 + 63)
    finally:
        seen.close()


def test_every_first_request_of_a_process_waits_for_its_first_pull(tmp_path):
    # Later pulls are skipped by a request while another thread pulls; the first never is: until
    # it is done, this process knows nothing of what the others saw.
    path = tmp_path / "apec.db.seen"
    assert in_another_process(path, "results.append(seen.event('EvK', now=1000.0))") == [True]
    assert claimed_at_once(path, "EvK", now=1001.0) == [False] * 8


def test_a_pull_brings_back_none_of_this_processs_own_keys(tmp_path):
    # Its own keys are in its memory already: read back, each is a short-lived row object made
    # between the long-lived keys, and the holes they leave kept the process's memory growing
    # (+10 MB over 100,000 keys, against the record without pulls).
    path = tmp_path / "apec.db.seen"
    seen = Seen(path)
    try:
        memory = seen._memory
        before = memory.rows_pulled
        for n in range(300):
            assert seen.event(f"EvOwn{n}", now=1000.0)
        assert seen.flush()  # the writer wrote them, and pulled after
        assert in_another_process(path, "results.append(seen.event('EvOther', now=1000.0))")
        with memory.pulling:
            memory._pull(memory._reader())
        assert not seen.event("EvOther", now=1001.0)  # the other's key came
        assert memory.rows_pulled - before == 1, f"{memory.rows_pulled - before} rows read"
    finally:
        seen.close()


def test_a_file_an_older_version_made_is_read_and_brought_up_to_date(tmp_path):
    path = tmp_path / "apec.db.seen"
    old = sqlite3.connect(path)  # the table as the version before this one made it
    old.executescript(
        "CREATE TABLE seen (key TEXT PRIMARY KEY, kind TEXT NOT NULL, at REAL NOT NULL);"
        "CREATE INDEX seen_kind_at ON seen (kind, at);"
        "INSERT INTO seen VALUES ('event EvOld', 'event', 1000.0);"
    )
    old.commit()
    old.close()
    seen = Seen(path)
    try:
        assert not seen.event("EvOld", now=1001.0)  # read before this process writes anything
        assert seen.event("EvNew", now=1001.0) and seen.flush()  # the writer adds its column
        refused = in_another_process(path, "results.append(seen.event('EvNew', now=1002.0))")
        assert refused == [False]
    finally:
        seen.close()


def test_a_signature_stamped_ahead_does_not_prune_the_keys_still_within_their_time(tmp_path):
    # Slack's timestamp check takes a signature up to 5 minutes ahead of this clock, and its key
    # is kept from that time: pruning from there would forget keys seen a moment ago, whose
    # replays the timestamp check still lets through.
    seen = Seen(tmp_path / "apec.db.seen")
    assert seen.signature("1000", "v0=now", now=1000.0)
    assert seen.signature("1309", "v0=ahead", now=1010.0)  # 5 minutes ahead, less a second
    assert not seen.signature("1000", "v0=now", now=1011.0)  # still a replay, in memory
    seen.close()
    assert "signature 1000:v0=now" in keys_in(tmp_path / "apec.db.seen")  # and in the file


def test_a_prune_keeps_the_last_row_so_no_rowid_is_handed_out_twice(tmp_path):
    # Pulls read past the last rowid they read: a rowid given again would be a key never pulled.
    path = tmp_path / "apec.db.seen"
    seen = Seen(path)
    assert seen.event("EvKept", now=1000.0)  # rowid 1, good for a day
    assert seen.flush()
    assert seen.signature("1001", "v0=old", now=1001.0)  # rowid 2, the last, good for 5 minutes
    seen.close()
    conn = sqlite3.connect(path)
    try:
        conn.execute(_PRUNE, ["signature", 2000.0])  # as a batch that added no row would prune
        conn.execute("INSERT INTO seen (key, kind, at) VALUES ('event EvNext', 'event', 2000)")
        assert conn.execute("SELECT max(rowid) FROM seen").fetchone()[0] == 3
    finally:
        conn.close()


def test_keys_past_the_first_thousands_are_refused_once_moved_into_the_compact_arrays(tmp_path):
    # FREEZE keys at a time leave the dict for the sorted arrays (bot/kept.py): every replay must
    # still be refused there, a key kept again later still counts from its later time, and the
    # file's keys pulled by another process land among them.
    from bot.kept import FREEZE

    seen = Seen(tmp_path / "apec.db.seen")
    count = 2 * FREEZE + 17
    assert all(seen.signature("1000", f"v0={i}", now=1000.0) for i in range(count))
    assert not any(seen.signature("1000", f"v0={i}", now=1100.0) for i in range(count))
    later = 1000.0 + 301  # past the signatures' 5 minutes: new again, and kept from now
    again = range(0, count, 97)
    assert all(seen.signature(str(int(later)), f"v0={i}", now=later) for i in again)
    assert not any(seen.signature(str(int(later)), f"v0={i}", now=later + 200) for i in again)
    assert all(seen.event(f"Ev{i}", now=later) for i in range(FREEZE + 1))
    assert seen.flush()
    others = in_another_process(
        tmp_path / "apec.db.seen",
        f"results.extend(seen.event(f'Ev{{i}}', now={later + 1}) for i in range({FREEZE + 1}))",
    )
    assert not any(others)


def test_each_connection_to_the_record_keeps_a_small_page_cache(tmp_path):
    # Every request thread that pulls has its own connection; with SQLite's default 2 MB page
    # cache, eight readers that had each walked a 110,000-key file held 17 MB more between them.
    seen = Seen(tmp_path / "apec.db.seen")
    assert seen.signature("1000", "v0=a", now=1000.0)
    assert seen.flush()
    reader = seen._memory._reader()  # this thread's, as a request's pull opens it
    assert reader is not None
    assert reader.execute("PRAGMA cache_size").fetchone()[0] == -128
