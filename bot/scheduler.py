"""Reminders and digests on APScheduler: on time, exactly once.

The SQLite store is the one source of truth. APScheduler's jobs (memory job store) are derived from
it: one job per moment something falls due in the next hours, plus a tick every TICK seconds that
renews the lease, re-derives the jobs and sends anything due. Exactly once:
- one scheduler posts per store: a lease in SQLite, renewed by the holder; a standby takes over when
  it lapses (or at once when the holder's process on this host is gone);
- each post's key is claimed in the delivery log before it is sent, its Slack `ts` recorded after,
  and the key travels in the message's metadata;
- a claim left without a `ts` (a crash mid-post) is resolved by looking for the key in the channel's
  recent history: found, it is recorded; not found, it is sent (if still useful).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from bot.observe import Metrics
from bot.posting import Poster, PostError
from bot.stores import Stores
from handlers.posts import failure_notice, message_for
from store.desk import Desk
from store.schedule import Post, plan

log = logging.getLogger("apec.scheduler")

TICK = 30.0  # seconds between ticks: lease renewal, re-deriving jobs, catching anything missed
LEASE_TTL = 90.0  # a holder that has not renewed for this long is taken over
POST_TIMEOUT = 60.0  # a claim younger than this may still be in flight in a live process
LOOKBACK = timedelta(days=62)  # how far back a missed post is still considered
HORIZON = timedelta(hours=6)  # how far ahead jobs are derived at each tick
ON_TIME = timedelta(minutes=2)  # later than this, a post is marked late
ONE_OFF_USEFUL = timedelta(hours=12)
MAX_ATTEMPTS = 5


def pid_alive(pid: int) -> bool:
    """Whether a process of this host still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Outcome:
    """What one run of `run_due` did, for logs and tests."""

    sent: list[str]
    skipped: list[str]
    failed: list[str]


class Engine:
    """Decides and delivers: which posts are due, claiming, sending, recording, recovering."""

    def __init__(
        self,
        stores: Stores,
        poster: Poster,
        clock: Callable[[], datetime],
        tz: ZoneInfo,
        reminder_channel: str = "",
        admins: frozenset[str] = frozenset(),
        wall: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        self.stores = stores
        self.poster = poster
        self.clock = clock
        self.tz = tz
        self.reminder_channel = reminder_channel
        self.admins = admins
        self.wall = wall
        self.metrics = (
            metrics  # leases and claims use real time: two processes may run different clocks
        )
        self.host = socket.gethostname()
        self.holder = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.leader = False
        self.lock = threading.RLock()  # one delivery run at a time; stop() waits on it

    def _count(self, post: Post, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.posts.labels(post.kind, outcome).inc()

    def desk(self) -> Desk:
        return Desk(self.stores.get().db)

    # -- the lease -----------------------------------------------------------------------------

    def hold_lease(self) -> bool:
        """Take or renew the lease; whether this process is the one that posts."""
        desk = self.desk()
        lease = desk.lease()
        gone = bool(
            lease and lease[0] != self.holder and lease[1] == self.host and not pid_alive(lease[2])
        )
        was = self.leader
        self.leader = desk.acquire_lease(
            self.holder, self.host, os.getpid(), self.wall(), LEASE_TTL, gone
        )
        if self.leader and not was:
            log.info("scheduler %s holds the lease: it posts", self.holder)
        elif was and not self.leader:
            log.warning("scheduler %s lost the lease: standing by", self.holder)
        return self.leader

    def release(self) -> None:
        """Give the lease up on a clean stop."""
        if self.leader:
            self.desk().release_lease(self.holder)
            self.leader = False

    # -- planning ------------------------------------------------------------------------------

    def plan(self, start: datetime, end: datetime) -> list[Post]:
        """Every post due in [start, end)."""
        return plan(self.stores.get(), self.desk(), start, end, self.tz, self.reminder_channel)

    def upcoming(self, now: datetime, until: datetime) -> list[Post]:
        """Posts due after now and before `until` that are not done."""
        known = self.desk().known_keys()
        return [p for p in self.plan(now, until) if p.key not in known]

    def useful(self, post: Post, now: datetime) -> str:
        """Why a post missed at its time is no longer worth sending ('' if it still is)."""
        if post.kind == "reminder":
            meeting = next(
                (m for m in self.stores.get().meetings() if m.id == post.meeting_id), None
            )
            if meeting is None or meeting.starts_at is None or now >= meeting.starts_at:
                return "the meeting has begun"
        elif post.kind == "digest":
            zone = ZoneInfo(post.tz)
            if now.astimezone(zone).date() != post.due.astimezone(zone).date():
                return "a digest is only worth its own day"
        elif now - post.due > ONE_OFF_USEFUL:
            return "more than 12 hours late"
        return ""

    # -- delivering ----------------------------------------------------------------------------

    def run_due(self, now: datetime | None = None) -> Outcome:
        """Send everything due by now that is not done; skip (and say why) what is no longer useful."""
        outcome = Outcome([], [], [])
        if not self.leader:
            return outcome
        with self.lock:
            now = now or self.clock()
            desk = self.desk()
            known = desk.known_keys()
            pauses = desk.pauses()
            for post in self.plan(now - LOOKBACK, now + timedelta(microseconds=1)):
                if post.key in known or post.due < post.since:
                    continue
                if not self.leader:
                    break
                pause = pauses.get(post.channel)
                if pause and (pause.until is None or now < pause.until):
                    self._skip(desk, post, "channel paused", outcome)
                    continue
                late = now - post.due > ON_TIME
                reason = self.useful(post, now) if late else ""
                if reason:
                    self._skip(desk, post, f"missed while the bot was down: {reason}", outcome)
                    continue
                if not desk.claim(
                    post.key,
                    post.channel,
                    post.kind,
                    post.meeting_id,
                    post.due,
                    self.holder,
                    self.wall(),
                ):
                    continue
                self._send(desk, post, now, late, outcome)
        return outcome

    def _skip(self, desk: Desk, post: Post, reason: str, outcome: Outcome) -> None:
        """Record a post that will not be made, once, with its reason (logged: skips are news)."""
        if desk.record_skipped(
            post.key, post.channel, post.kind, post.meeting_id, post.due, reason
        ):
            log.warning("skipped %s (due %s): %s", post.key, post.due.isoformat(), reason)
            outcome.skipped.append(post.key)
            self._count(post, "skipped")

    def _send(self, desk: Desk, post: Post, now: datetime, late: bool, outcome: Outcome) -> None:
        started = time.perf_counter()
        try:
            payload = message_for(
                post, self.stores.get(), now, self._last_digest(desk, post), late=late
            )
            ts = self.poster.post(post.channel, payload, post.key)
        except PostError as exc:
            self._failed(desk, post, exc, now, outcome)
            return
        except Exception as exc:  # noqa: BLE001 - a bug must not leave the claim hanging
            log.exception("building or sending %s failed", post.key)
            self._failed(
                desk, post, PostError(f"internal: {type(exc).__name__}", True), now, outcome
            )
            return
        desk.record_sent(post.key, ts, late)
        outcome.sent.append(post.key)
        self._count(post, "late" if late else "sent")
        log.info(
            "posted %s %s to %s%s in %.0f ms",
            post.kind,
            post.key,
            post.channel,
            " (late)" if late else "",
            (time.perf_counter() - started) * 1000,
        )

    def _failed(
        self, desk: Desk, post: Post, exc: PostError, now: datetime, outcome: Outcome
    ) -> None:
        """Record a refused post: to retry later if Slack may change its mind, else tell the admins."""
        entry = desk.delivery(post.key)
        retry = exc.transient and (entry is None or entry.attempts < MAX_ATTEMPTS)
        desk.record_failed(post.key, exc.error, retry=retry)
        log.warning(
            "post %s to %s failed: %s (%s)",
            post.key,
            post.channel,
            exc.error,
            "will retry" if retry else "given up",
        )
        outcome.failed.append(post.key)
        self._count(post, "retry" if retry else "failed")
        if not retry:
            self._alert(desk, post, exc.error, now)

    def _last_digest(self, desk: Desk, post: Post) -> datetime | None:
        if post.kind != "digest":
            return None
        sent = [
            d
            for d in desk.deliveries(post.channel, status="sent")
            if d.kind == "digest" and d.key != post.key
        ]
        return max((d.due_at for d in sent), default=post.since)

    def _alert(self, desk: Desk, post: Post, error: str, now: datetime) -> None:
        """A direct message to each admin, once per channel, error and day."""
        for admin in sorted(self.admins):
            key = f"alert:{admin}:{post.channel}:{error}:{now.date().isoformat()}"
            if not desk.claim(key, admin, "alert", post.meeting_id, now, self.holder, self.wall()):
                continue
            try:
                # Recorded with the D… channel it went to: a DM is never looked for in history.
                channel, ts = self.poster.dm(admin, failure_notice(post, error))
                desk.record_sent(key, ts, False, channel=channel)
            except PostError as exc:
                desk.record_failed(key, exc.error, retry=False)
                log.error("could not tell admin %s that %s failed: %s", admin, post.key, exc.error)

    # -- recovering ----------------------------------------------------------------------------

    def recover(self, now: datetime | None = None) -> list[str]:
        """Resolve claims left without a ts by a scheduler that is gone; the keys resolved."""
        if not self.leader:
            return []
        with self.lock:
            return self._recover(now or self.clock())

    def _recover(self, now: datetime) -> list[str]:
        desk = self.desk()
        resolved = []
        for entry in desk.deliveries(status="claimed"):
            if entry.holder == self.holder or not self._gone(entry.holder, entry.claimed_at):
                continue
            if entry.kind == "alert":  # a DM to an admin: not worth a second one if in doubt
                desk.record_failed(entry.key, "outcome unknown after a crash", retry=False)
                continue
            try:
                ts = self.poster.find(entry.channel, entry.key, entry.claimed_at - 60)
            except PostError as exc:
                log.warning(
                    "could not look for %s in %s: %s; will look again",
                    entry.key,
                    entry.channel,
                    exc.error,
                )
                continue
            if not desk.take_over(entry.key, entry.holder, self.holder, self.wall()):
                continue
            if ts is not None:
                desk.record_sent(entry.key, ts, late=False)
                log.warning(
                    "found %s already posted in %s (ts %s) after a crash: recorded",
                    entry.key,
                    entry.channel,
                    ts,
                )
                resolved.append(entry.key)
                continue
            post = next(
                (
                    p
                    for p in self.plan(entry.due_at, entry.due_at + timedelta(microseconds=1))
                    if p.key == entry.key
                ),
                None,
            )
            reason = "no longer on the plan" if post is None else self.useful(post, now)
            if reason:
                desk.record_failed(
                    entry.key, f"claim left by a crash, not sent: {reason}", retry=False
                )
                log.warning("claim %s left by a crash: not sent, %s", entry.key, reason)
            else:
                assert post is not None
                self._send(desk, post, now, now - post.due > ON_TIME, Outcome([], [], []))
            resolved.append(entry.key)
        return resolved

    def _gone(self, holder: str, claimed_at: float) -> bool:
        host, _, rest = holder.partition(":")
        pid = rest.partition(":")[0]
        if host == self.host and pid.isdigit():
            return not pid_alive(int(pid)) or int(pid) == os.getpid()
        return self.wall() - claimed_at > POST_TIMEOUT


class Scheduler:
    """APScheduler in this process, its jobs derived from the store; `notify()` after a change."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.aps = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(1)},  # one delivery run at a time
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.last_tick: float | None = None
        self._stopping = threading.Event()

    def start(self) -> None:
        """Take the lease if free, recover, send what was missed, and start the jobs."""
        self.aps.start()
        self.aps.add_job(
            self.tick, "interval", seconds=TICK, id="tick", next_run_time=datetime.now(UTC)
        )

    def stop(self) -> None:
        """Stop the jobs, wait for a delivery under way to finish (nothing half-posted), give the lease up."""
        self._stopping.set()
        if self.aps.running:
            # not wait=True: a job calling the scheduler's API while it shuts down deadlocks it
            self.aps.shutdown(wait=False)
        with self.engine.lock:
            self.engine.release()

    @property
    def running(self) -> bool:
        return self.aps.running

    def notify(self) -> None:
        """The store changed (a subscription, a one-off, an edit): re-derive now."""
        if self.aps.running and not self._stopping.is_set():
            self.aps.add_job(self.tick, id="changed", replace_existing=True)

    def tick(self) -> None:
        """Renew the lease, recover, send what is due, and re-derive the jobs for the next hours."""
        if self._stopping.is_set():
            return
        try:
            self.last_tick = time.time()
            if not self.engine.hold_lease():
                return
            self.engine.recover()
            self.engine.run_due()
            self._derive_jobs()
        except Exception:
            log.exception("scheduler tick failed; the next tick tries again")

    def _derive_jobs(self) -> None:
        if self._stopping.is_set():
            return
        now = self.engine.clock()
        offset = now - datetime.now(UTC)  # the injected clock may run ahead or behind the real one
        wanted = {}
        for post in self.engine.upcoming(now, now + HORIZON):
            wanted[f"due:{post.due.isoformat()}"] = post.due - offset
        for job in self.aps.get_jobs():
            if job.id.startswith("due:") and job.id not in wanted:
                job.remove()
        for job_id, run_at in wanted.items():
            self.aps.add_job(self._due, "date", run_date=run_at, id=job_id, replace_existing=True)

    def _due(self) -> None:
        try:
            if self.engine.leader:
                self.engine.run_due()
        except Exception:
            log.exception("delivery run failed; the next tick tries again")

    def lag(self) -> float | None:
        """Seconds since the last tick (for /healthz and metrics)."""
        return None if self.last_tick is None else time.time() - self.last_tick
