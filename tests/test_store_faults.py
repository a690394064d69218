"""A store that tells the truth about itself (issue 18, items 12 to 15), its faults made for real.

Each fault is made on the real store file: a small tmpfs filled to its last byte (disk full), a
read-only bind mount over the store's folder (chmod when not root: root writes through it), the
log deleted under two `serve` processes, a page of `passages` overwritten with garbage. Each test
checks that no change is acknowledged that is not in the store afterwards, that /healthz says 503,
that the admin gets exactly one message for the fault (and one when it clears), and that the service
recovers without a restart. The admin's messages go to the Web API stand-in (tests/slack_stub.py).

Never open and close the store's files with Python in this process while the app runs in it:
closing any descriptor of a file drops every POSIX lock the process holds on it, SQLite's included.
Such reads and writes run in a child process.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest

from bot.health import AdminAlerts, Faults, Watchdog
from bot.posting import SlackPoster
from bot.seen import Seen
from bot.stores import Stores
from handlers.router import STORE_DOWN
from store.db import connect, immediate
from store.errors import StoreFault
from tests.conftest import ADMIN, BOT_TOKEN, ROOT, SEEDS, SIGNING_SECRET, Clock, Served, at, serving
from tests.slack_stub import WebAPIStub

FAILED, RECOVERED = "store failed", "takes writes again"


def wait_until(ready: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    """Poll a state until it holds, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.05)


def health(served: Served) -> int:
    return served.get("/healthz")[0]


def dms(web_api: WebAPIStub) -> list[str]:
    """The texts of the messages the admin got (each alert is a DM: conversations.open first)."""
    opened = {
        c.response["channel"]["id"]
        for c in web_api.calls_to("conversations.open")
        if c.response.get("ok")
    }
    return [
        c.params["text"]
        for c in web_api.calls_to("chat.postMessage")
        if c.params.get("channel") in opened
    ]


hooks = iter(range(1, 1_000_000))


def change(served: Served, web_api: WebAPIStub, text: str) -> str:
    """A change asked for as the admin: its answer, from the ack or, after "Working on it", from
    the late answer posted to its response_url."""
    hook = f"hooks.change{next(hooks)}"
    status, body = served.command(text, user=ADMIN, response_url=web_api.url + hook)
    assert status == 200, body
    if "Working on it" not in body:
        return body
    (late,) = web_api.wait_for(hook, timeout=60)
    return str(late.params.get("text", ""))


def add(served: Served, web_api: WebAPIStub, name: str) -> bool:
    """Add a meeting; True if acknowledged ("Added"), False if told the store is unavailable."""
    reply = change(served, web_api, f'add-meeting "{name}" 2026-09-01 Lima note="fault drill"')
    assert ("Added" in reply) != (STORE_DOWN in reply), reply  # one or the other, never both
    return "Added" in reply


def in_store(db_path: Path, names: list[str]) -> set[str]:
    """Which of the meetings named are in the store, read afresh by a child process."""
    script = (
        "import json, sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1])\n"
        "names = json.loads(sys.argv[2])\n"
        "print(json.dumps([n for n in names if c.execute("
        "'SELECT 1 FROM meetings WHERE name = ?', [n]).fetchone()]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(db_path), json.dumps(names)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(json.loads(out.stdout))


def mentioned(served: Served, n: int) -> bool:
    """An @-mention asking a question (answered in its thread, after the ack)."""
    event = {
        "type": "app_mention",
        "user": "U1",
        "channel": "C1",
        "ts": f"1.{n}",
        "text": "<@UBOT> when is the next SOM?",
    }
    return served.event(event, event_id=f"EvMention{n}")[0] == 200


def reads_answered(served: Served) -> bool:
    status, body = served.command("next-meeting")
    return status == 200 and "SOM" in body and STORE_DOWN not in body


@contextmanager
def running_app(
    db_path: Path, web_api: WebAPIStub, markers: Path, quick_every: float = 3600.0
) -> Iterator[Served]:
    """The real app behind the real HTTP front on loopback, wired as `serve` wires it (the
    record of requests, the admins' alerts, the watchdog), the store's part of /healthz."""
    from bot.app import Replies, create_app, kept_reply
    from bot.config import Config
    from bot.server import SlackHTTP
    from bot.workspace import Workspace

    markers.mkdir(exist_ok=True)
    config = Config(
        db_path=db_path,
        bot_token=BOT_TOKEN,
        signing_secret=SIGNING_SECRET,
        api_url=web_api.url,
        seeds=SEEDS,
        admins=frozenset({ADMIN}),
    )
    stores = Stores(db_path, SEEDS, faults=Faults(db_path, markers))
    clock = Clock(at("2026-01-20T09:00+09:00"))
    replies, workspace = Replies(stores, clock), Workspace()
    app = create_app(config, stores, clock, replies=replies, workspace=workspace)

    def healthz() -> dict:
        problem = stores.problem()
        return {"ok": problem is None, "store": problem or "ok"}

    front = SlackHTTP(
        app,
        SIGNING_SECRET,
        healthz,
        store=partial(stores.get, quick=True),
        seen=stores.seen,
        kept=partial(kept_reply, replies, workspace),
    )
    watchdog = Watchdog(stores, look_every=0.05, probe_every=0.25, quick_every=quick_every)
    with serving(front) as http:
        watchdog.start()
        try:
            yield Served(f"http://127.0.0.1:{http.effective_port}", SIGNING_SECRET, db_path)
        finally:
            watchdog.stop()


# -- real filesystems: a tmpfs to fill, a read-only bind mount --------------------------------


def _mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)


def _can_mount(tmp_path: Path) -> bool:
    """Whether this process may mount (root with the privilege, as in this sandbox)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    trial = tmp_path / "mount-trial"
    trial.mkdir(exist_ok=True)
    if _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(trial)).returncode != 0:
        return False
    subprocess.run(["umount", str(trial)], capture_output=True, timeout=30)
    return True


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs: a disk that fills up for real (ENOSPC, SQLITE_FULL)."""
    if not _can_mount(tmp_path):
        pytest.skip("needs root with mount: a real full disk cannot be made here")
    disk = tmp_path / "disk"
    disk.mkdir()
    assert _mount("-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)).returncode == 0
    yield disk
    subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=30)


def fill(disk: Path) -> Path:
    """Write a file until the disk refuses another byte; the file (remove it to free the disk)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        for size in (1 << 16, 1):  # big blocks, then the last bytes one at a time
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as exc:
                assert exc.errno == 28  # ENOSPC: the disk is full
    finally:
        os.close(fd)
    return filler


@contextmanager
def read_only(folder: Path, tmp_path: Path) -> Iterator[None]:
    """A read-only spell over `folder`: files opened during it are read-only for good; those
    opened before keep writing (as when a mount or a permission changes under a running service)."""
    if _can_mount(tmp_path):
        assert _mount("--bind", str(folder), str(folder)).returncode == 0
        assert _mount("-o", "remount,bind,ro", str(folder)).returncode == 0
        try:
            yield
        finally:  # lazily: connections opened through it keep it until they close
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)
    elif os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [folder, *folder.iterdir()]}
        for path in modes:
            path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
    else:
        pytest.skip("root without mount: chmod does not stop root, and no bind mount can be made")


def concurrently(work: Callable[[int], bool], n: int) -> list[bool]:
    """`work(i)` for i in range(n), all at once (so each of the app's threads gets one)."""
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(work, range(n)))


# -- item 13: disk full -------------------------------------------------------------------------


def test_a_full_disk_refuses_changes_answers_reads_and_recovers_when_space_returns(
    tmpfs, built_db, web_api, tmp_path, caplog, reports
):
    db_path = tmpfs / "apec.db"
    shutil.copy(built_db, db_path)
    acked: list[str] = []
    with running_app(db_path, web_api, tmp_path / "markers") as served:
        assert health(served) == 200 and reads_answered(served)
        assert add(served, web_api, "Before Full")
        acked.append("Before Full")
        filler = fill(tmpfs)

        # Reads are answered though the record of requests beside the store cannot be written.
        assert reads_answered(served)
        tried = [f"Full {n}" for n in range(6)]
        answered = [add(served, web_api, name) for name in tried]
        acked += [name for name, ok in zip(tried, answered, strict=True) if ok]
        assert not all(answered)  # the disk refused them: never "Added" for all
        assert health(served) == 503  # at once: the refused write began the episode
        assert reads_answered(served)
        (alert,) = web_api.wait_for("chat.postMessage", timeout=10)
        assert FAILED in alert.params["text"] and "full" in alert.params["text"]

        filler.unlink()
        freed_at = time.monotonic()
        wait_until(lambda: health(served) == 200, timeout=30, what="/healthz back to 200")
        healthy = time.monotonic() - freed_at
        web_api.wait_for("chat.postMessage", count=2, timeout=10)
        after = [f"After Full {n}" for n in range(8)]
        assert concurrently(lambda n: add(served, web_api, after[n]), 8) == [True] * 8
        acked += after
        assert reads_answered(served)
    assert in_store(db_path, acked) == set(acked)  # every change acknowledged is kept
    reports.append(
        f"disk full (tmpfs): {sum(answered)} of {len(tried)} changes acknowledged "
        f"(all kept), /healthz 200 {healthy:.1f} s after space returned"
    )
    texts = dms(web_api)
    assert len(texts) == 2 and FAILED in texts[0] and RECOVERED in texts[1], texts
    record = [r.getMessage() for r in caplog.records if "record of requests" in r.getMessage()]
    assert sum("cannot be written" in line for line in record) == 1, record  # once a spell
    assert sum("takes writes again" in line for line in record) == 1, record


def test_healthz_finds_a_disk_filled_while_idle_within_seconds(
    tmpfs, built_db, web_api, tmp_path, reports
):
    db_path = tmpfs / "apec.db"
    shutil.copy(built_db, db_path)
    with running_app(db_path, web_api, tmp_path / "markers") as served:
        assert health(served) == 200
        filler = fill(tmpfs)  # nothing is written meanwhile: only the probe can find it
        full_at = time.monotonic()
        wait_until(lambda: health(served) == 503, timeout=15, what="/healthz finds the full disk")
        took = time.monotonic() - full_at
        (alert,) = web_api.wait_for("chat.postMessage", timeout=10)
        assert FAILED in alert.params["text"] and "disk full" in alert.params["text"]
        assert reads_answered(served) and not add(served, web_api, "Idle Full")
        filler.unlink()
        wait_until(lambda: health(served) == 200, timeout=30, what="/healthz back to 200")
        web_api.wait_for("chat.postMessage", count=2, timeout=10)
    reports.append(
        f"disk filled while idle: /healthz 503 {took:.1f} s after (the probe runs at "
        f"most every 5 s)"
    )
    assert in_store(db_path, ["Idle Full"]) == set()
    texts = dms(web_api)
    assert len(texts) == 2 and FAILED in texts[0] and RECOVERED in texts[1], texts


def test_the_record_of_requests_refuses_replays_from_memory_when_its_file_cannot_be_written(
    tmp_path, caplog
):
    folder = tmp_path / "not-yet"  # no such folder: every write of the record fails (CANTOPEN)
    seen = Seen(folder / "apec.db.seen")
    assert seen.signature("1000", "v0=a", now=1000.0)
    assert not seen.signature("1000", "v0=a", now=1001.0)  # a replay: refused from memory
    assert seen.event("Ev1", now=1000.0) and not seen.event("Ev1", now=1002.0)
    assert seen.signature("1000", "v0=b", now=1003.0)
    seen.flush()  # the writer has tried (and failed)
    failures = [r for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(failures) == 1  # logged once a spell, not once a request
    folder.mkdir()  # the disk takes writes again: the record is written, shared with the others
    assert seen.signature("1004", "v0=c", now=1004.0)
    assert seen.flush()
    # v0=c is written; so may be the keys of the spell whose batch was still waiting
    written = sqlite3.connect(folder / "apec.db.seen").execute("SELECT key FROM seen").fetchall()
    spell = {"event Ev1", "signature 1000:v0=a", "signature 1000:v0=b"}
    assert ("signature 1004:v0=c",) in written and {k for (k,) in written} <= spell | {
        "signature 1004:v0=c"
    }
    assert not Seen(folder / "apec.db.seen").signature("1004", "v0=c", now=1005.0)


# -- item 14: a read-only spell -----------------------------------------------------------------


def test_connections_opened_during_a_read_only_spell_are_not_used_after_it(
    built_db, web_api, tmp_path
):
    folder = tmp_path / "store"
    folder.mkdir()
    db_path = folder / "apec.db"
    shutil.copy(built_db, db_path)
    with running_app(db_path, web_api, tmp_path / "markers") as served:
        with read_only(folder, tmp_path):
            # Eight at once: each of the app's threads opens its connection now, read-only.
            during = concurrently(lambda n: add(served, web_api, f"Read Only {n}"), 8)
            assert not any(during)  # none acknowledged: none could be kept
            assert all(concurrently(lambda n: reads_answered(served), 8))
            wait_until(lambda: health(served) == 503, what="/healthz says 503 while read-only")
            (alert,) = web_api.wait_for("chat.postMessage", timeout=10)
            assert FAILED in alert.params["text"] and "read" in alert.params["text"].lower()
        wait_until(lambda: health(served) == 200, timeout=30, what="/healthz back to 200")
        web_api.wait_for("chat.postMessage", count=2, timeout=10)
        # Every thread again, twice over: none still holds a connection opened read-only.
        after = [f"After Read Only {n}" for n in range(16)]
        assert concurrently(lambda n: add(served, web_api, after[n]), 16) == [True] * 16
    kept = in_store(db_path, after + [f"Read Only {n}" for n in range(8)])
    assert kept == set(after)
    texts = dms(web_api)
    assert len(texts) == 2 and FAILED in texts[0] and RECOVERED in texts[1], texts


def test_a_read_only_spell_only_read_through_leaves_no_read_only_connection_behind(
    built_db, web_api, tmp_path
):
    folder = tmp_path / "store"
    folder.mkdir()
    db_path = folder / "apec.db"
    shutil.copy(built_db, db_path)
    with running_app(db_path, web_api, tmp_path / "markers") as served:
        with read_only(folder, tmp_path):
            # Nothing is written and /healthz is not asked: no fault is ever reported. The threads
            # that answer open their connections now, read-only: the front's, and (for mentions,
            # answered after the ack) the pool's that later makes changes too.
            assert all(concurrently(lambda n: reads_answered(served), 16))
            assert all(concurrently(lambda n: mentioned(served, n), 16))
            web_api.wait_for("chat.postMessage", count=16, timeout=30)
        after = [f"After Quiet Spell {n}" for n in range(16)]
        assert concurrently(lambda n: add(served, web_api, after[n]), 16) == [True] * 16
        assert health(served) == 200
    assert in_store(db_path, after) == set(after)
    assert dms(web_api) == []  # nothing failed: nobody is told anything


def test_a_read_only_spell_that_begins_while_nothing_holds_the_store_open_is_read_through(
    built_db, web_api, tmp_path
):
    # The spell begins before any connection is open: the store has no -wal or -shm beside it, and
    # none can be made. SQLite cannot open a WAL store so (CI met it when the watchdog's probe had
    # just closed the last connection). Nothing can write the file then, so it is read as frozen.
    folder = tmp_path / "store"
    folder.mkdir()
    db_path = folder / "apec.db"
    shutil.copy(built_db, db_path)
    assert not any(folder.glob("apec.db-*"))
    with read_only(folder, tmp_path):
        with running_app(db_path, web_api, tmp_path / "markers") as served:
            assert all(concurrently(lambda n: reads_answered(served), 8))
            assert not any(concurrently(lambda n: add(served, web_api, f"Frozen {n}"), 4))
            assert all(concurrently(lambda n: reads_answered(served), 8))
    with running_app(db_path, web_api, tmp_path / "markers") as served:
        # The fault episode outlives the process that met it; the first probe ends it.
        wait_until(lambda: health(served) == 200, timeout=30, what="/healthz back to 200")
        after = [f"After Frozen {n}" for n in range(8)]
        assert concurrently(lambda n: add(served, web_api, after[n]), 8) == [True] * 8
    assert in_store(db_path, after + [f"Frozen {n}" for n in range(4)]) == set(after)


# -- item 15: a damaged page nobody reads -------------------------------------------------------

_PAGE = (
    "import sys\n"
    "path, offset, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])\n"
    "with open(path, 'r+b') as f:\n"
    "    f.seek(offset)\n"
    "    if len(sys.argv) > 4:\n"
    "        f.write(bytes.fromhex(sys.argv[4]))\n"
    "    else:\n"
    "        sys.stdout.write(f.read(size).hex())\n"
)


def page(db_path: Path, offset: int, size: int, data: bytes | None = None) -> bytes:
    """Read (or overwrite) bytes of the store file, from a child process."""
    args = [sys.executable, "-c", _PAGE, str(db_path), str(offset), str(size)]
    out = subprocess.run(
        args + ([data.hex()] if data is not None else []),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return bytes.fromhex(out.stdout)


def test_a_damaged_page_nobody_reads_is_found_by_the_quick_check_and_told_once(
    db_path, web_api, tmp_path
):
    db = sqlite3.connect(db_path)
    size = db.execute("PRAGMA page_size").fetchone()[0]
    (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'passages'").fetchone()
    db.close()
    offset = (root - 1) * size
    with running_app(db_path, web_api, tmp_path / "markers", quick_every=0.2) as served:
        assert health(served) == 200
        original = page(db_path, offset, size)
        page(db_path, offset, size, os.urandom(size))  # a failing disk's garbage

        wait_until(lambda: health(served) == 503, what="the quick check finds the damage")
        (alert,) = web_api.wait_for("chat.postMessage", timeout=10)
        assert FAILED in alert.params["text"] and "damaged" in alert.params["text"]
        assert reads_answered(served)  # what does not touch the damaged page is answered
        assert not add(served, web_api, "On Damage")  # no change is made in a damaged store

        page(db_path, offset, size, original)  # restored (from a backup, say)
        wait_until(lambda: health(served) == 200, timeout=30, what="/healthz back to 200")
        web_api.wait_for("chat.postMessage", count=2, timeout=10)
        assert add(served, web_api, "After Damage")
    assert in_store(db_path, ["On Damage", "After Damage"]) == {"After Damage"}
    texts = dms(web_api)
    assert len(texts) == 2 and FAILED in texts[0] and RECOVERED in texts[1], texts


# -- item 12: the log deleted under running connections ---------------------------------------


def _wal(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + "-wal")


def _rows(db_path: Path) -> list[int]:
    """The scratch table's rows, read by a new process."""
    script = (
        "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\n"
        "print([r[0] for r in c.execute('SELECT n FROM scratch ORDER BY n')])"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(db_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)


def test_a_write_after_the_log_was_deleted_is_a_fault_and_the_deleted_log_is_copied_in(db_path):
    faults: list[str] = []
    first = connect(db_path, on_fault=faults.append)
    second = connect(db_path)  # a second connection holding the same log, as another worker's
    try:
        first.execute("CREATE TABLE scratch (n INTEGER)")
        first.execute("INSERT INTO scratch VALUES (1)")  # acknowledged: in the log only
        assert _wal(db_path).stat().st_size > 0
        _wal(db_path).unlink()
        with pytest.raises(StoreFault, match="deleted"):
            connect(db_path)  # would make an empty log the index does not describe
        with pytest.raises(StoreFault, match="deleted"):
            first.execute("INSERT INTO scratch VALUES (2)")  # checked first: never committed
        assert first.broken and faults and "deleted" in faults[0]
        # The deleted log was copied in by the connection that found it: a new process reads
        # the acknowledged row, and a new log (the index agrees with it) is in place.
        assert _rows(db_path) == [1] and _wal(db_path).exists()
        with pytest.raises(StoreFault, match="replaced"), immediate(second):
            second.conn.execute("INSERT INTO scratch VALUES (3)")  # the other holder: its own check
        fresh = connect(db_path)
        with immediate(fresh):  # a connection of the new log writes as before
            fresh.conn.execute("INSERT INTO scratch VALUES (4)")
        # Deleted between the check and COMMIT: committed to the deleted log, so reported as a
        # fault (never as done), and copied in.
        with pytest.raises(StoreFault, match="deleted"), immediate(fresh):
            _wal(db_path).unlink()
            fresh.conn.execute("INSERT INTO scratch VALUES (5)")
        fresh.close()
    finally:
        first.close()
        second.close()
    assert _rows(db_path) == [1, 4, 5]
    check = sqlite3.connect(db_path)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check.close()


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen, Served]:
    """`apec-bot serve` (one process) on a free port, and how to talk to it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    for line in proc.stderr:
        found = re.search(r"serving HTTP on (http://[\d.]+:\d+)", line)
        if found:
            # read on, so a full pipe never blocks it
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, Served(found.group(1), SIGNING_SECRET)
    proc.wait(timeout=10)
    raise AssertionError(f"serve did not start: exit {proc.returncode}")


def test_a_log_deleted_under_two_serve_processes_loses_no_acknowledged_change(
    db_path, web_api, tmp_path, reports
):
    temp = tmp_path / "tmp"  # the processes' temp folder: where they mark the store's fault
    temp.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("APEC_", "SLACK_"))}
    env = {
        **base,
        "APEC_DB": str(db_path),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": web_api.url,
        "APEC_NOW": "2026-01-20T09:00+09:00",
        "APEC_ADMINS": ADMIN,
        "APEC_WORKERS": "1",
        "APEC_LEASE_TTL": "6",
        "TMPDIR": str(temp),
    }
    procs = [_serve(env) for _ in range(2)]
    both = [served for _, served in procs]
    acked: list[str] = []
    try:
        wait_until(lambda: all(health(s) == 200 for s in both), timeout=30, what="both healthy")
        before = [f"Before {n}" for n in range(4)]
        assert all(add(both[n % 2], web_api, name) for n, name in enumerate(before))
        acked += before
        assert _wal(db_path).stat().st_size > 0  # the changes are in the log, not yet the store
        _wal(db_path).unlink()

        wait_until(
            lambda: health(both[0]) == 503 or health(both[1]) == 503,
            timeout=10,
            what="/healthz says 503 once the log is gone",
        )
        during = [f"During {n}" for n in range(15)]
        answered = [add(both[n % 2], web_api, name) for n, name in enumerate(during)]
        acked += [name for name, ok in zip(during, answered, strict=True) if ok]
        (alert,) = web_api.wait_for("chat.postMessage", timeout=10)
        assert FAILED in alert.params["text"] and "deleted" in alert.params["text"]

        wait_until(lambda: all(health(s) == 200 for s in both), timeout=60, what="both recover")
        web_api.wait_for("chat.postMessage", count=2, timeout=10)
        after = [f"After {n}" for n in range(4)]
        assert all(add(both[n % 2], web_api, name) for n, name in enumerate(after))
        acked += after
    finally:
        for proc, _ in procs:
            proc.send_signal(signal.SIGTERM)
        for proc, _ in procs:
            proc.wait(timeout=30)
    kept = in_store(db_path, acked + during)
    reports.append(
        f"log deleted under two serve processes: {len(before)} changes before it, "
        f"{sum(answered)} of {len(during)} acknowledged during the fault, "
        f"{len(set(acked) - kept)} acknowledged changes lost"
    )
    assert set(acked) <= kept  # every change acknowledged is in the store, those before included
    assert kept == set(acked)  # and none answered "unavailable" was made after all
    texts = dms(web_api)
    assert len(texts) == 2 and FAILED in texts[0] and RECOVERED in texts[1], texts


# -- the admins are told once a fault, however many processes meet it -------------------------

_FAIL_AND_RECOVER = """
import sys, threading
from bot.app import web_client
from bot.config import Config
from bot.health import AdminAlerts, Faults
from bot.posting import SlackPoster
store, folder, api, token, admin, step = sys.argv[1:7]
faults = Faults(store, folder)
faults.tell = AdminAlerts(frozenset({admin}), SlackPoster(web_client(Config(api_url=api), token)))
getattr(faults, step)(*(["disk full: database or disk is full"] if step == "failed" else []))
for thread in threading.enumerate():  # the message goes on a thread of its own
    if thread.name == "store-alert":
        thread.join()
"""


def test_every_process_meeting_a_fault_tells_the_admins_once_between_them(
    db_path, web_api, tmp_path
):
    folder = tmp_path / "markers"
    folder.mkdir()

    def run_everywhere(step: str) -> None:
        args = [str(db_path), str(folder), web_api.url, BOT_TOKEN, ADMIN, step]
        procs = [
            subprocess.Popen([sys.executable, "-c", _FAIL_AND_RECOVER, *args], cwd=ROOT)
            for _ in range(4)
        ]
        assert [p.wait(timeout=60) for p in procs] == [0] * 4

    run_everywhere("failed")
    faults = Faults(db_path, folder)
    assert faults.failing() == "disk full: database or disk is full"  # every process sees it
    run_everywhere("failed")  # the same fault met again: told already
    run_everywhere("recovered")
    assert faults.failing() is None
    texts = dms(web_api)
    assert len(texts) == 2 and FAILED in texts[0] and RECOVERED in texts[1], texts
    assert "disk full" in texts[1]  # the notice says what had failed


def test_an_alert_goes_to_each_admin_by_direct_message(web_api):
    from bot.app import web_client
    from bot.config import Config

    alerts = AdminAlerts(
        frozenset({"UA", "UB"}), SlackPoster(web_client(Config(api_url=web_api.url), BOT_TOKEN))
    )
    alerts("The desk's store failed: disk full")
    assert [c.params["users"] for c in web_api.calls_to("conversations.open")] == ["UA", "UB"]
    assert len(dms(web_api)) == 2
