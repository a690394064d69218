"""Reminders and digests on APScheduler: on time, exactly once.

The SQLite store is the one source of truth. The plan is derived from it and kept between runs
(store.schedule.Schedule): built at start with a look-back for what was missed while down, then
re-planned only where the store changed (in this process or another) or a zone's day turned, and
held in due order, so a run looks only at what is due. APScheduler (memory job store) runs a tick
every TICK seconds (the lease, claims to resolve, anything due, a look for changes), one job at the
next post's time, and the lease's own job. Exactly once:
- one scheduler posts per store: a lease in SQLite, renewed every third of its TTL by a job on an
  executor of its own, so a delivery waiting on Slack never lets it lapse; a standby takes over
  when it lapses (or at once when the holder's process on this host is gone);
- each post's key is claimed in the delivery log before it is sent, only while this scheduler's
  lease is live (checked in the claim's own statement), and its Slack `ts` recorded after, only
  while the claim is still this scheduler's; the key travels in the message's metadata;
- an outcome that is neither a `ts` nor a clear refusal (a timeout, a 5xx, a crash mid-post) is
  resolved from the channel's recent history once an accepted post would show there: found, it is
  recorded; not found, it is sent again (if still useful). Nothing is re-sent without looking.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from bot.observe import Metrics
from bot.posting import Poster, PostError, waits_within
from bot.stores import Stores
from handlers.posts import failure_notice, message_for
from store.desk import Delivery, Desk
from store.errors import StoreFault, StoreUnavailable
from store.schedule import Post, Schedule, plan
from store.watch import Polled
from store.watch import run as run_watch

log = logging.getLogger("apec.scheduler")

TICK = 30.0  # seconds between ticks: re-deriving jobs, catching anything missed
LEASE_TTL = 90.0  # a holder that has not renewed for this long is taken over; renewed every third
# The longest one post may take (10 s client timeout x 3 requests + 2 waits of at most 10 s), and so
# how long after an attempt its post may still appear in the channel: history is trusted after it.
POST_TIMEOUT = 60.0
LOOKBACK = timedelta(days=62)  # how far back a missed post is still considered
ON_TIME = timedelta(minutes=2)  # later than this, a post is marked late
ONE_OFF_USEFUL = timedelta(hours=12)
MAX_ATTEMPTS = 5
WATCH_EVERY = 60.0  # seconds between looks at the watched sources (each is fetched at most once
# in store.watch.INTERVAL: a look finds the sources due, so a source added is fetched within this)


def pid_alive(pid: int) -> bool:
    """Whether a process of this host still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Timing:
    """The scheduler's waits, in wall-clock seconds."""

    tick: float = TICK
    lease_ttl: float = LEASE_TTL
    post_timeout: float = POST_TIMEOUT

    @property
    def renew_every(self) -> float:
        return self.lease_ttl / 3

    @classmethod
    def for_lease(cls, ttl: float | None) -> Timing:
        """A lease of `ttl` seconds (APEC_LEASE_TTL, for drills); the post timeout stays two
        thirds of it."""
        return (
            cls()
            if ttl is None
            else cls(lease_ttl=ttl, post_timeout=ttl * POST_TIMEOUT / LEASE_TTL)
        )


@dataclass
class Outcome:
    """What one run of `run_due` did, for logs and tests."""

    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


RELOOK = 2.0  # seconds before an unresolved claim already of age is looked for again


class Engine:
    """Decides and delivers: which posts are due, claiming, sending, recording, resolving."""

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
        host: str | None = None,
        timing: Timing | None = None,
        desk_channel: str = "",
    ) -> None:
        self.stores = stores
        self.poster = poster
        self.clock = clock
        self.tz = tz
        self.reminder_channel = reminder_channel
        self.admins = admins
        self.wall = wall  # leases and claims use real time: two processes may run different clocks
        self.metrics = metrics
        self.timing = timing or Timing()
        self.host = host or socket.gethostname().replace(":", "-")
        self.holder = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.leader = False
        self.expires = 0.0  # when this scheduler's lease lapses unless renewed (wall)
        self.lapses = 0  # renewals that found this scheduler's own lease had already lapsed
        self.lock = threading.RLock()  # one delivery run at a time; stop() waits on it
        self._lease_lock = threading.Lock()
        self._released = False
        # The plan kept between runs (used under `lock`); built anew each time the lease is taken.
        self.desk_channel = desk_channel  # APEC_DESK_CHANNEL: each document's proposals, once
        self.schedule = Schedule(stores.path, tz, reminder_channel, LOOKBACK, desk_channel)
        self._catch_up = True

    @property
    def replans(self) -> Counter[str]:
        """Re-plans so far, by cause: catch-up, subscriptions, one-offs, meetings, day."""
        return self.schedule.replans

    def _count(self, post: Post, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.posts.labels(post.kind, outcome).inc()

    def desk(self) -> Desk:
        return Desk(self.stores.get().db)

    # -- the lease -----------------------------------------------------------------------------

    def hold_lease(self) -> bool:
        """Take or renew the lease; whether this process is the one that posts."""
        with self._lease_lock:
            if self._released:
                return False
            desk, wall = self.desk(), self.wall()
            lease = desk.lease()
            self._note_lapse(lease, wall)
            # a holder on this host whose process is gone: taken over at once, if still it
            dead = (
                lease[0]
                if lease
                and lease[0] != self.holder
                and lease[1] == self.host
                and not pid_alive(lease[2])
                else ""
            )
            was = self.leader
            ttl = self.timing.lease_ttl
            self.leader = desk.acquire_lease(self.holder, self.host, os.getpid(), wall, ttl, dead)
            if self.leader:
                self.expires = wall + ttl
        if self.leader and not was:
            self._catch_up = True  # another may have posted, or missed posts, meanwhile
            log.info("scheduler %s holds the lease: it posts", self.holder)
        elif was and not self.leader:
            log.warning("scheduler %s lost the lease: standing by", self.holder)
        return self.leader

    def _note_lapse(self, lease: tuple[str, str, int, float] | None, wall: float) -> None:
        """Count (and log) a renewal that comes after this scheduler's own lease ran out."""
        if self.leader and lease is not None and lease[0] == self.holder and lease[3] <= wall:
            self.lapses += 1
            log.warning(
                "scheduler %s: its lease lapsed %.1f s before renewal", self.holder, wall - lease[3]
            )

    def lease_left(self) -> float:
        """Seconds before this scheduler's lease lapses unless renewed (0 when it holds none)."""
        return max(0.0, self.expires - self.wall()) if self.leader else 0.0

    def release(self) -> None:
        """Give the lease up on a clean stop, for good: a renewal under way cannot take it back."""
        with self._lease_lock:
            self._released = True
            if self.leader:
                self.desk().release_lease(self.holder)
                self.leader = False
            self.schedule.close()

    # -- planning ------------------------------------------------------------------------------

    def plan(self, start: datetime, end: datetime, channel: str | None = None) -> list[Post]:
        """Every post due in [start, end) (in one channel if given), done or not, as the store
        stands (read on the plan's own connection, which sees every commit at once)."""
        with self.lock:
            store, desk = self.schedule.store, self.schedule.desk
            return plan(
                store, desk, start, end, self.tz, self.reminder_channel, channel, self.desk_channel
            )

    def upcoming(self, now: datetime, until: datetime) -> list[Post]:
        """Posts due after now and before `until` that are not done."""
        known = self.desk().known_keys()
        return [p for p in self.plan(now, until) if p.key not in known]

    def useful(self, post: Post, now: datetime) -> str:
        """Why a post missed at its time is no longer worth sending ('' if it still is)."""
        if post.kind == "reminder":
            with self.lock:  # the plan's connection, one thread at a time
                meetings = self.schedule.store.meetings()
            meeting = next((m for m in meetings if m.id == post.meeting_id), None)
            if meeting is None or meeting.starts_at is None or now >= meeting.starts_at:
                return "the meeting has begun"
        elif post.kind == "digest":
            zone = ZoneInfo(post.tz)
            if now.astimezone(zone).date() != post.due.astimezone(zone).date():
                return "a digest is only worth its own day"
        elif post.kind == "proposals":
            return ""  # planned only while the document has open proposals: the desk still decides
        elif now - post.due > ONE_OFF_USEFUL:
            return "more than 12 hours late"
        return ""

    # -- delivering ----------------------------------------------------------------------------

    def next_due(self) -> datetime | None:
        """When the next planned post falls due."""
        with self.lock:
            return self.schedule.next_due()

    def run_due(self, now: datetime | None = None) -> Outcome:
        """Send everything due by now that is not done; skip (and say why) what is no longer useful.

        The plan is brought up to date first (store.schedule.Schedule.refresh), and only what it
        holds as due is looked at. A post leaves the plan once the delivery log holds it: one that
        a run could not settle (left for a retry, a claim refused) is looked at again next run."""
        outcome = Outcome()
        if not self.leader:
            return outcome
        with self.lock, waits_within(self.lease_left):
            now = now or self.clock()
            desk = self.desk()
            try:
                due = self._due(desk, now)
                self._deliver(desk, due, now, outcome)
            except BaseException:
                self._catch_up = True  # what was taken out may be lost: the next run catches up
                raise
            self.schedule.hold(due)
        return outcome

    def _due(self, desk: Desk, now: datetime) -> list[Post]:
        """The posts due by now that the delivery log does not hold (catching up after the lease
        is taken, following the store's changes)."""
        if self._catch_up:
            self._catch_up = False
            if self.reminder_channel:  # owed from this store's first scheduler on, not before
                self.schedule.reminder_since = desk.owed_since(self.reminder_channel, now)
            self.schedule.reset()
        self.schedule.refresh(now)
        posts = self.schedule.pop_due(now)
        done = desk.done_keys([post.key for post in posts])
        return [post for post in posts if post.key not in done]

    def _deliver(self, desk: Desk, due: list[Post], now: datetime, outcome: Outcome) -> None:
        pauses = desk.pauses() if due else {}
        for post in due:
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
            if self._claim(desk, post):
                self._send(desk, post, now, late, outcome)

    def _claim(self, desk: Desk, post: Post) -> bool:
        """Claim a post's key, only while this scheduler's lease is live."""
        return desk.claim(
            post.key,
            post.channel,
            post.kind,
            post.meeting_id,
            post.due,
            self.holder,
            self.wall(),
            leased=True,
        )

    def _skip(self, desk: Desk, post: Post, reason: str, outcome: Outcome) -> None:
        """Record a post that will not be made, once, with its reason (logged: skips are news)."""
        if desk.record_skipped(
            post.key,
            post.channel,
            post.kind,
            post.meeting_id,
            post.due,
            reason,
            holder=self.holder,
            wall=self.wall(),
        ):
            # a paused channel is the desk's own doing; a post missed while down is news
            level = logging.INFO if reason == "channel paused" else logging.WARNING
            log.log(level, "skipped %s (due %s): %s", post.key, post.due.isoformat(), reason)
            outcome.skipped.append(post.key)
            self._count(post, "skipped")

    def _send(self, desk: Desk, post: Post, now: datetime, late: bool, outcome: Outcome) -> None:
        """Send a claimed post and record what came of it: sent, refused, or unknown."""
        started = time.perf_counter()
        try:
            payload = message_for(
                post, self.stores.get(), now, self._last_digest(desk, post), late=late
            )
        except Exception as exc:  # noqa: BLE001 - a bug must not leave the claim hanging
            log.exception("building %s failed", post.key)
            self._failed(
                desk, post, PostError(f"internal: {type(exc).__name__}", True), now, outcome
            )
            return
        if not desk.holds_claim(post.key, self.holder, self.wall()):
            # Left as claimed: whoever holds the lease next resolves it from the channel.
            log.warning("%s not sent: the lease or the claim lapsed before the send", post.key)
            return
        try:
            ts = self.poster.post(post.channel, payload, post.key)
        except PostError as exc:
            if exc.unknown:
                self._unknown(desk, post, exc, outcome)
            else:
                self._failed(desk, post, exc, now, outcome)
            return
        except Exception as exc:  # noqa: BLE001 - it may have gone out: look before sending again
            log.exception("sending %s failed", post.key)
            error = PostError(f"internal: {type(exc).__name__}", True, unknown=True)
            self._unknown(desk, post, error, outcome)
            return
        if not desk.record_sent(post.key, ts, late, holder=self.holder):
            self._dropped(post.key, f"sent as ts {ts}")
            return
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

    def _unknown(self, desk: Desk, post: Post, exc: PostError, outcome: Outcome) -> None:
        """A post that may be out: kept as unknown, looked for once it would show in the channel."""
        if not desk.record_unknown(post.key, exc.error, self.holder, self.wall()):
            self._dropped(post.key, f"outcome unknown: {exc.error}")
            return
        log.warning(
            "post %s to %s: outcome unknown (%s); will look in the channel in %.0f s",
            post.key,
            post.channel,
            exc.error,
            self.timing.post_timeout,
        )
        outcome.unknown.append(post.key)
        self._count(post, "unknown")

    def _failed(
        self, desk: Desk, post: Post, exc: PostError, now: datetime, outcome: Outcome
    ) -> None:
        """Record a refused post: retried later if Slack may change its mind, else admins told."""
        entry = desk.delivery(post.key)
        retry = exc.transient and (entry is None or entry.attempts < MAX_ATTEMPTS)
        if not desk.record_failed(post.key, exc.error, retry=retry, holder=self.holder):
            self._dropped(post.key, f"refused: {exc.error}")
            return
        log.warning(
            "post %s to %s failed: %s (%s)",
            post.key,
            post.channel,
            exc.error,
            "will retry" if retry else "given up",
        )
        outcome.failed.append(post.key)
        self._count(post, "retry" if retry else "failed")
        if retry:
            self.schedule.hold([post])  # the next run tries it again (a resend from `recover` too)
        else:
            self._alert(desk, post, exc.error, now)

    def _dropped(self, key: str, what: str) -> None:
        """A result for a claim another scheduler took over meanwhile: logged, never recorded."""
        log.warning("result for %s dropped (%s): another scheduler took its claim over", key, what)

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
            if not desk.claim(
                key, admin, "alert", post.meeting_id, now, self.holder, self.wall(), leased=True
            ):
                continue
            if not desk.holds_claim(key, self.holder, self.wall()):
                continue
            try:
                # Recorded with the D… channel it went to: a DM is never looked for in history.
                channel, ts = self.poster.dm(admin, failure_notice(post, error))
            except PostError as exc:
                desk.record_failed(key, exc.error, retry=False, holder=self.holder)
                log.error("could not tell admin %s that %s failed: %s", admin, post.key, exc.error)
                continue
            desk.record_sent(key, ts, False, channel=channel, holder=self.holder)

    # -- resolving -----------------------------------------------------------------------------

    def recover(self, now: datetime | None = None) -> list[str]:
        """Resolve claims left without an outcome (a crash), and unknown outcomes; the keys
        resolved."""
        if not self.leader:
            return []
        with self.lock, waits_within(self.lease_left):
            now = now or self.clock()
            desk = self.desk()
            return [e.key for e in desk.unresolved() if self._resolve(desk, e, now)]

    def next_look(self) -> float | None:
        """The wall time at which the next unresolved claim may be resolved; None if none waits.
        A claim already of age but unresolved (it came of age while the run went on, or Slack
        could not be asked) is looked for again RELOOK seconds on, never left to a later tick."""
        wall = self.wall()
        times = []
        for entry in self.desk().unresolved():
            state = self._holder_state(entry.holder)
            if state != "alive":
                at = max(entry.claimed_at, entry.attempted_at) + self._min_age(entry, state)
                times.append(at if at > wall else wall + RELOOK)
        return min(times, default=None)

    def _holder_state(self, holder: str) -> str:
        """ "idle": it cannot be posting now (this scheduler, whose posts are all done while it
        holds its lock; a process of this host that is gone, or this process under a scheduler
        since replaced); "alive": a live process of this host; "remote": another host's, known
        only by its lease."""
        if holder == self.holder:
            return "idle"
        host, _, rest = holder.partition(":")
        pid = rest.partition(":")[0]
        if host != self.host or not pid.isdigit():
            return "remote"
        return "idle" if int(pid) == os.getpid() or not pid_alive(int(pid)) else "alive"

    def _min_age(self, entry: Delivery, state: str) -> float:
        """How old a claim's last attempt must be before it is resolved: at once for a process
        that is gone, else the post timeout (an accepted post has shown in history by then)."""
        return 0.0 if state == "idle" and entry.holder != self.holder else self.timing.post_timeout

    def _resolve(self, desk: Desk, entry: Delivery, now: datetime) -> bool:
        """Find out whether an unresolved post went out, then finish it: recorded, sent again, or
        given up. False when it is not this scheduler's to resolve yet."""
        state = self._holder_state(entry.holder)
        min_age = self._min_age(entry, state)
        if state == "alive" or self.wall() - max(entry.claimed_at, entry.attempted_at) < min_age:
            return False
        why = "an unknown outcome" if entry.status == "unknown" else "a crash"
        if entry.kind == "alert":  # a DM to an admin: never looked for, not worth a second one
            if self._take(desk, entry, state, min_age):
                desk.record_failed(entry.key, f"outcome unknown after {why}", False, self.holder)
            return False
        try:
            ts = self.poster.find(entry.channel, entry.key, self._since(entry))
        except PostError as exc:
            log.warning(
                "could not look for %s in %s: %s; will look again",
                entry.key,
                entry.channel,
                exc.error,
            )
            return False
        if not self._take(desk, entry, state, min_age):
            return False
        if ts is None:
            self._send_again(desk, entry, now, why)
        elif desk.record_sent(entry.key, ts, late=False, holder=self.holder):
            log.info(  # the recovery working as designed: nothing to act on
                "found %s already posted in %s (ts %s) after %s: recorded",
                entry.key,
                entry.channel,
                ts,
                why,
            )
        return True

    def _take(self, desk: Desk, entry: Delivery, state: str, min_age: float) -> bool:
        """Take the claim over, in one statement that checks the lease and the claim's age."""
        return desk.take_over(
            entry.key,
            entry.holder,
            self.holder,
            self.wall(),
            min_age=min_age,
            dead=state == "idle",
        )

    def _since(self, entry: Delivery) -> float:
        """Where to start looking in history: a minute before the claim, and before every earlier
        attempt (each at most a post timeout apart), so a late-showing first post is still found."""
        return entry.claimed_at - 60 - entry.attempts * self.timing.post_timeout

    def _send_again(self, desk: Desk, entry: Delivery, now: datetime, why: str) -> None:
        """Send a post not found in its channel, if still on the plan and useful; else say why
        not."""
        moment = (entry.due_at, entry.due_at + timedelta(microseconds=1))
        post = next((p for p in self.plan(*moment, entry.channel) if p.key == entry.key), None)
        late = post is not None and now - post.due > ON_TIME
        reason = "no longer on the plan" if post is None else self.useful(post, now) if late else ""
        if not reason and entry.attempts >= MAX_ATTEMPTS:
            reason = f"given up after {entry.attempts} attempts"
        if reason or post is None:
            desk.record_failed(entry.key, f"not sent after {why}: {reason}", False, self.holder)
            log.warning(
                "%s not found in %s after %s: not sent, %s", entry.key, entry.channel, why, reason
            )
            if post is not None and entry.attempts >= MAX_ATTEMPTS:
                self._alert(desk, post, "outcome unknown, given up", now)
            return
        log.warning("%s not found in %s after %s: sending it again", entry.key, entry.channel, why)
        self._send(desk, post, now, late, Outcome())


class WatchJob:
    """The watch as a job: poll the sources due (APEC_FEEDS's and the desk's), ingest what is new
    and propose its changes, fetching only from the public web and `allow` (APEC_FETCH_ALLOW).
    `abort()` ends its fetches in flight within a second and refuses new ones: stopping calls it,
    so no fetch holds a stop up."""

    def __init__(
        self,
        stores: Stores,
        clock: Callable[[], datetime],
        feeds: tuple[str, ...],
        allow: tuple[str, ...] = (),
    ) -> None:
        from store.fetch import Fetcher

        self.stores, self.clock, self.feeds = stores, clock, feeds
        self.fetcher = Fetcher(allow=allow)  # one for the process: it is safe across threads

    def __call__(self) -> list[Polled]:
        db = self.stores.get().db  # the server's APEC_FEEDS is the one of record: it prunes
        polled = run_watch(
            db,
            now=self.clock(),
            seeds=self.stores.seeds,
            env=self.feeds,
            prune=True,
            fetcher=self.fetcher,
        )
        for source in polled:
            for found in source.found:
                log.info(
                    "new document %s from %s: %d proposals",
                    found.report.source_id,
                    source.url,
                    len(found.proposals),
                )
        return polled

    def abort(self) -> None:
        self.fetcher.abort()


class Scheduler:
    """APScheduler in this process, its jobs derived from the store; `notify()` after a change.

    `watch`, when given, polls the watched sources (store.watch.run): run every `watch_every`
    seconds on a thread of its own (a slow source never holds up a post), only by the holder
    of the lease."""

    def __init__(
        self,
        engine: Engine,
        watch: WatchJob | None = None,
        watch_every: float = WATCH_EVERY,
    ) -> None:
        self.engine = engine
        self.watch = watch
        self.watch_every = watch_every
        self.aps = BackgroundScheduler(
            timezone=UTC,
            # One delivery run at a time; the lease has a thread of its own, never held up by one.
            executors={
                "default": ThreadPoolExecutor(1),
                "lease": ThreadPoolExecutor(1),
                "watch": ThreadPoolExecutor(1),
            },
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.last_tick: float | None = None
        self._stopping = threading.Event()

    def start(self) -> None:
        """Take the lease if free, recover, send what was missed, and start the jobs."""
        timing = self.engine.timing
        self.aps.start()
        self.aps.add_job(
            self.renew, "interval", seconds=timing.renew_every, id="lease", executor="lease"
        )
        self.aps.add_job(
            self.tick, "interval", seconds=timing.tick, id="tick", next_run_time=datetime.now(UTC)
        )
        if self.watch is not None:
            self.aps.add_job(
                self.watch_tick, "interval", seconds=self.watch_every, id="watch", executor="watch"
            )

    def stop(self) -> None:
        """Stop the jobs, wait for a delivery under way to finish (nothing half-posted), give the
        lease up."""
        self._stopping.set()
        if self.watch is not None:
            self.watch.abort()  # a source that trickles must not hold the stop up
        if self.aps.running:
            # not wait=True: a job calling the scheduler's API while it shuts down deadlocks it
            self.aps.shutdown(wait=False)
        with self.engine.lock:
            self.engine.release()

    @property
    def running(self) -> bool:
        return self.aps.running

    def notify(self) -> None:
        """The store changed here (a subscription, a one-off, an edit): tick now, which re-plans
        what changed (a change made by another process is found by the next tick)."""
        if self.aps.running and not self._stopping.is_set():
            self.aps.add_job(self.tick, id="changed", replace_existing=True)

    def renew(self) -> None:
        """The lease's own job: renew (or take) it whatever delivery is doing; just taken, tick
        now."""
        if self._stopping.is_set():
            return
        was = self.engine.leader
        try:
            if self.engine.hold_lease() and not was:
                self.notify()
        except Exception as exc:
            _failed(
                exc,
                "renewing the lease failed; trying again in "
                f"{self.engine.timing.renew_every:.0f} s",
            )

    def tick(self) -> None:
        """Renew the lease, recover, send what is due (the plan follows the store's changes), and
        set the job for the next post."""
        if self._stopping.is_set():
            return
        try:
            self.last_tick = time.time()
            if not self.engine.hold_lease():
                return
            self.engine.recover()
            self.engine.run_due()
            self._arm()
        except Exception as exc:
            _failed(exc, "scheduler tick failed; the next tick tries again")

    def watch_tick(self) -> bool:
        """Poll the watched sources, if this scheduler holds the lease; whether it polled."""
        if self.watch is None or self._stopping.is_set():
            return False
        try:
            if not (self.engine.leader and self.engine.lease_left() > 0):  # renewed by its job
                return False
            polled = self.watch()
            if any(source.found for source in polled):
                self.notify()  # new documents may have proposals: their card goes out now
        except Exception as exc:
            _failed(exc, "watching the sources failed; the next look tries again")
        return True

    def _arm(self) -> None:
        """A job at the next planned post's time, and a tick when an unknown outcome (or a claim
        left by a crash) may be looked for."""
        if self._stopping.is_set():
            return
        due = self.engine.next_due()
        if due is not None:  # (a job left from before with nothing planned only makes a run)
            offset = self.engine.clock() - datetime.now(UTC)  # the injected clock may run apart
            run_at = due - offset
            self.aps.add_job(self._due, "date", run_date=run_at, id="due", replace_existing=True)
        look = self.engine.next_look()
        if look is not None:
            run_at = datetime.now(UTC) + timedelta(seconds=look - self.engine.wall())
            self.aps.add_job(self.tick, "date", run_date=run_at, id="look", replace_existing=True)

    def _due(self) -> None:
        """The job at a post's time: send what is due, and set the job for the next one."""
        try:
            if self.engine.leader:
                self.engine.run_due()
                self._arm()
        except Exception as exc:
            _failed(exc, "delivery run failed; the next tick tries again")

    def lag(self) -> float | None:
        """Seconds since the last tick (for /healthz and metrics)."""
        return None if self.last_tick is None else time.time() - self.last_tick


def _failed(exc: Exception, what: str) -> None:
    """A job's failure logged: one line when the store is failing (its episode is reported to the
    admins once, by bot/faults.py: a traceback every tick would say nothing new), else in full."""
    if isinstance(exc, StoreFault | StoreUnavailable):
        log.warning("%s: the store is failing (%s)", what, exc)
    else:
        log.exception("%s", what)
