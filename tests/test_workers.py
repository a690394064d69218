"""`apec-bot serve --workers N`: N real processes on one port, one store, one that posts.

The service is started as an admin starts it, with the Web API stand-in of the test process. What
the workers are is read from /proc (the supervisor's children); nothing here sleeps for time to
pass: tests wait on the stand-in's calls, on lines the service writes, or on a state polled with a
deadline.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import BOT_TOKEN, ROOT, SIGNING_SECRET
from tests.test_serve_scheduler import (
    METADATA,
    POSTED,
    TICK_DONE,
    WAIT,
    T,
    lease_pid,
    subscribe,
)

IDLE_WINDOW = 10.0  # seconds the idle supervisor's CPU is measured over (10 ms clock ticks)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads workers from /proc")


def children(pid: int) -> set[int]:
    """The live child processes of `pid`."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie has exited: only its parent's wait is missing)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def port_is_free(port: int) -> bool:
    """Whether a server could listen on `port` now (no process listens there, SO_REUSEPORT or
    not)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as every server sets it
        sock.bind(("127.0.0.1", port))
        sock.listen()
        return True
    except OSError:
        return False
    finally:
        sock.close()


def until(check, what: str, timeout: float = WAIT):
    """Poll `check()` until it returns something true; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_workers_share_the_port_and_exactly_one_posts(db_path, web_api, bots):
    subscribe(db_path)
    service = bots.start(T - timedelta(seconds=2), APEC_WORKERS="2")
    web_api.wait_for("chat.postMessage", timeout=WAIT)
    service.wait_line(POSTED)
    service.wait_line(TICK_DONE, count=2)  # each worker has ticked: both answer /healthz
    roles, leaders = Counter(), set()
    for _ in range(30):  # a new connection each: the kernel spreads them over the workers
        status, health = service.health()
        assert status == 200 and health["ok"], health
        roles[health["scheduler"]] += 1
        leaders.add(health["posting"])
    assert set(roles) == {"posting", "standby"}  # both workers answered
    assert len(leaders) == 1 and leaders.pop().endswith(f"pid {lease_pid(db_path)}")
    assert len(web_api.calls_to("chat.postMessage")) == 1


def test_metrics_add_up_every_worker(db_path, web_api, bots):
    service = bots.start(T - timedelta(days=1), APEC_WORKERS="2")
    for _ in range(12):
        status, _ = service.served.command("next-meeting")
        assert status == 200

    def page() -> str:
        status, text = service.served.get("/metrics")
        assert status == 200
        return text if "apec_scheduler_posting 1.0" in text else ""

    text = until(page, "one worker to hold the lease in /metrics")
    line = r'apec_requests_total\{command="next-meeting",kind="command",outcome="ok"\} 12\.0'
    assert re.search(line, text), text
    assert "apec_workers 2.0" in text


def test_sigterm_stops_every_worker_and_a_killed_worker_is_replaced(db_path, web_api, bots):
    service = bots.start(T - timedelta(days=1), APEC_WORKERS="2")
    service.wait_line(TICK_DONE, count=2)
    first = until(
        lambda: children(service.pid) if len(children(service.pid)) == 2 else None, "two workers"
    )
    killed = min(first)
    subprocess.run(["kill", "-KILL", str(killed)], check=True)
    now = until(
        lambda: (c := children(service.pid)) and killed not in c and len(c) == 2 and c,
        "the killed worker's replacement",
    )
    service.wait_line(TICK_DONE, count=3)  # the new worker is up
    assert service.health()[0] == 200
    service.proc.send_signal(signal.SIGTERM)
    assert service.proc.wait(timeout=WAIT) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in now)


@pytest.mark.parametrize("bad", ["0", "-1", "many", "1000"])
def test_a_bad_number_of_workers_is_bad_usage(bad):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--workers", bad],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 2 and "--workers" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_idle_supervisor_sleeps(bots, reports):
    service = bots.start(T - timedelta(days=1), APEC_WORKERS="2")
    service.wait_line(TICK_DONE, count=2)  # both workers listen and have ticked: nothing to do
    before, started = cpu_seconds(service.pid), time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):  # and it stays up, idle, all along
        service.proc.wait(timeout=IDLE_WINDOW)
    used, elapsed = cpu_seconds(service.pid) - before, time.monotonic() - started
    reports.append(
        f"workers: idle supervisor used {used:.2f} s of CPU in {elapsed:.1f} s "
        f"({100 * used / elapsed:.2f} % of one core)"
    )
    assert used / elapsed < 0.01, f"{used:.2f} s of CPU in {elapsed:.1f} s"


def test_workers_do_not_outlive_their_supervisor(db_path, web_api, bots, tmp_path, reports):
    subscribe(db_path)
    service = bots.start(T - timedelta(days=1), APEC_WORKERS="2")  # nothing due for a day
    service.wait_line(TICK_DONE, count=2)
    port = int(service.served.base.rsplit(":", 1)[1])
    workers = until(
        lambda: children(service.pid) if len(children(service.pid)) == 2 else None, "two workers"
    )
    until(lambda: lease_pid(db_path) in workers, "a worker to hold the lease")

    killed = time.monotonic()
    service.kill()  # SIGKILL: the supervisor passes nothing on
    until(lambda: not any(alive(pid) for pid in workers), "the workers to exit", timeout=2.0)
    gone = time.monotonic() - killed
    until(lambda: port_is_free(port), "the port to be free", timeout=2.0)
    assert lease_pid(db_path) is None  # the leader gave it up on its way out
    reports.append(f"workers: SIGKILL of the supervisor to both workers gone: {gone:.2f} s")

    # A fresh service on the same port takes the lease at once and posts what falls due.
    base = {k: v for k, v in os.environ.items() if not k.startswith(("APEC_", "SLACK_"))}
    env = {
        **base,
        "APEC_DB": str(db_path),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": web_api.url,
        "APEC_NOW": (T - timedelta(seconds=2)).isoformat(),
        "APEC_WORKERS": "1",
    }
    with (tmp_path / "fresh.log").open("w") as log:
        fresh = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            (call,) = web_api.wait_for("chat.postMessage", timeout=WAIT)
            assert call.params["metadata"] == METADATA
            assert lease_pid(db_path) == fresh.pid
        finally:
            fresh.send_signal(signal.SIGTERM)
            assert fresh.wait(timeout=WAIT) == 0


def test_a_frozen_worker_is_killed_at_the_stop_timeout_and_the_supervisor_exits_0(bots):
    stop_timeout = 3.0
    service = bots.start(
        T - timedelta(days=1), APEC_WORKERS="2", APEC_STOP_TIMEOUT=str(stop_timeout)
    )
    service.wait_line(TICK_DONE, count=2)
    workers = until(
        lambda: children(service.pid) if len(children(service.pid)) == 2 else None, "two workers"
    )
    frozen = min(workers)
    os.kill(frozen, signal.SIGSTOP)  # it cannot act on SIGTERM: only SIGKILL ends it
    started = time.monotonic()
    service.proc.send_signal(signal.SIGTERM)
    assert service.proc.wait(timeout=stop_timeout + WAIT) == 0
    assert time.monotonic() - started < stop_timeout + 1.0
    assert not any(alive(pid) for pid in workers)
    service.wait_line(re.compile(rf"worker \d+ \(pid {frozen}\) did not stop in time: killed"))
