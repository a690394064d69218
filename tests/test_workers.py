"""`apec-bot serve --workers N`: N real processes on one port, one store, one that posts.

The service is started as an admin starts it, with the Web API stand-in of the test process. What
the workers are is read from /proc (the supervisor's children); nothing here sleeps for time to
pass: tests wait on the stand-in's calls, on lines the service writes, or on a state polled with a
deadline.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_serve_scheduler import POSTED, TICK_DONE, WAIT, Bots, T, lease_pid, subscribe

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads workers from /proc")


@pytest.fixture
def bots(db_path: Path, web_api) -> Iterator[Bots]:
    running = Bots(db_path, web_api.url)
    try:
        yield running
    finally:
        for bot in running.started:
            bot.stop()


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
    first = until(lambda: children(service.pid) if len(children(service.pid)) == 2 else None,
                  "two workers")  # fmt: skip
    killed = min(first)
    subprocess.run(["kill", "-KILL", str(killed)], check=True)
    now = until(lambda: (c := children(service.pid)) and killed not in c and len(c) == 2 and c,
                "the killed worker's replacement")  # fmt: skip
    service.wait_line(TICK_DONE, count=3)  # the new worker is up
    assert service.health()[0] == 200
    service.proc.send_signal(signal.SIGTERM)
    assert service.proc.wait(timeout=WAIT) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in now)


@pytest.mark.parametrize("bad", ["0", "-1", "many", "1000"])
def test_a_bad_number_of_workers_is_bad_usage(bad):
    result = subprocess.run([sys.executable, "-m", "bot", "serve", "--workers", bad],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)  # fmt: skip
    assert result.returncode == 2 and "--workers" in result.stderr
    assert "Traceback" not in result.stderr
