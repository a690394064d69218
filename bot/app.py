"""The Bolt app: built here, with a listener module for each of Slack's surfaces wired onto it.

Built with no network at construction (`token_verification_enabled=False`) and a WebClient whose
base URL comes from SLACK_API_URL. Store look-ups are answered before the HTTP response
(`process_before_response=True`); Web API calls (a form to open, a long answer's later parts, a
mention's reply) run after the ack, so Slack gets it within its 3 seconds.

`http_front` wires the app behind its WSGI front as `apec-bot serve` runs it: `/apec` over HTTP is
answered without Bolt's dispatch (bot/listeners/commands.py, `Direct`), by the same listener code.

Where each thing is: `/apec` in bot/listeners/commands.py, the buttons in buttons.py, the forms
in forms.py, the Home tab in home.py, mentions in events.py (what they share in common.py); the
gate every request passes in bot/gate.py, the kept replies in bot/replies.py, canvases and files
in bot/documents.py, the questions asked of the handlers in bot/questions.py.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Protocol, TypeVar

from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import gate
from bot.config import Config
from bot.documents import Briefs
from bot.documents import post_document as _post_document
from bot.faults import AdminAlerts
from bot.listeners import buttons, commands, events, forms, home
from bot.listeners.commands import Apec, Direct, command_text
from bot.listeners.common import Listening
from bot.listeners.events import mention_text
from bot.observe import Metrics
from bot.permissions import Names, Permissions, lookup_client
from bot.posting import SlackPoster
from bot.questions import Alarm, Questions
from bot.replies import Replies, kept_reply
from bot.server import SlackHTTP
from bot.stores import Stores
from bot.users import Membership, UserZones
from bot.webapi import web_client  # on kept connections (bot/webapi.py)
from bot.workspace import Workspace
from handlers.calendar import calendar
from store.desk import Desk

# What others import from here, wherever it now lives.
__all__ = [
    "Alarm",
    "Authorizer",
    "HttpFront",
    "Replies",
    "_post_document",
    "after_ack_pool",
    "authorizer",
    "command_text",
    "create_app",
    "http_front",
    "kept_reply",
    "mention_text",
    "web_client",
]

log = logging.getLogger("apec.app")


class Surface(Protocol):
    """A listener module for one of Slack's surfaces: it registers its listeners on the app."""

    def register(self, app: App, on: Listening) -> None: ...


# Every surface but `/apec` (which needs the kept replies and briefs too), in the order registered.
SURFACES: tuple[Surface, ...] = (events, home, forms, buttons)
ON_EVENTS = events  # the surface that answers @-mentions


class _NoTokenNotice(logging.Filter):
    """Bolt warns that a token in the environment goes unused when given a client: meant here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.App").addFilter(_NoTokenNotice())


class Authorizer:
    """Bolt's authorize: the bot token, and the bot's identity from one `auth.test` on first need.

    Bolt's own single-team path calls `auth.test` on the first request and fails every request
    while Slack is unreachable; here a failure answers without the bot's identity, and is not
    retried for a minute. The identity tells the workspace which team is ours. The HTTP front's
    `/apec` (bot/listeners/commands.py, `Direct`) asks it as Bolt does; Bolt is given `for_bolt`.
    """

    def __init__(
        self, config: Config, client: WebClient, workspace: Workspace | None = None
    ) -> None:
        self.config, self.client, self.workspace = config, client, workspace
        self._found: AuthorizeResult | None = None
        self._failed_at = float("-inf")
        self._lock = threading.Lock()

    def __call__(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        found = self._found  # once known, known for good: no lock
        if found is not None:
            return found
        with self._lock:
            if self._found is not None:
                return self._found
            if time.monotonic() - self._failed_at > 60:
                try:
                    return self._learn()
                except (SlackApiError, OSError) as exc:
                    self._failed_at = time.monotonic()
                    log.warning(
                        "auth.test failed (%s); answering without the bot's identity",
                        type(exc).__name__,
                    )
        return AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, bot_token=self.config.bot_token
        )

    def _learn(self) -> AuthorizeResult:
        token = self.config.bot_token
        response = self.client.auth_test(token=token)
        found = AuthorizeResult.from_auth_test_response(
            auth_test_response=response, bot_token=token
        )
        if self.workspace is not None:
            self.workspace.learn(response.get("team_id"), response.get("enterprise_id"))
        self._found = found
        return found

    def for_bolt(self) -> Callable[..., AuthorizeResult]:
        """This, as Bolt's `authorize=` takes it (a function whose arguments Bolt names)."""

        def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            return self(enterprise_id, team_id)

        return authorize


def authorizer(
    config: Config, client: WebClient, workspace: Workspace | None = None
) -> Callable[..., AuthorizeResult]:
    """Bolt's authorize (`Authorizer`), as Bolt's `authorize=` takes it."""
    return Authorizer(config, client, workspace).for_bolt()


T = TypeVar("T")
AFTER_ACK_WORKERS = 8
AFTER_ACK_BACKLOG = 256  # tasks waiting or running at most, before a request waits for room
AFTER_ACK_WAIT = 1.0  # seconds a request waits for room at most (Slack wants the ack within 3)


class BoundedPool(ThreadPoolExecutor):
    """A pool of `workers` threads holding at most `backlog` tasks, waiting or running: a request
    thread that would pass that waits for room (its ack with it), up to `wait` seconds; then, and
    from the pool's own threads (work that hands on work), the task is taken all the same. So a
    flood of mentions acknowledged faster than they are answered slows the acks instead of growing
    the queue without end; and no task is ever dropped, nor a worker left waiting on itself."""

    def __init__(self, workers: int, backlog: int, wait: float) -> None:
        super().__init__(max_workers=workers, thread_name_prefix="later")
        self.wait = wait
        self.waiting = 0  # request threads waiting for room this moment
        self._room = threading.BoundedSemaphore(backlog)
        self._ours = threading.local()  # set in the pool's own threads
        self._count = threading.Lock()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        took = self._room.acquire(blocking=False)
        if not took and not getattr(self._ours, "inside", False):
            with self._count:
                self.waiting += 1
            try:
                took = self._room.acquire(timeout=self.wait)
            finally:
                with self._count:
                    self.waiting -= 1

        def run() -> T:
            self._ours.inside = True
            try:
                return fn(*args, **kwargs)
            finally:
                if took:
                    self._room.release()

        try:
            return super().submit(run)
        except BaseException:  # refused (the pool is shut down): its room is not kept
            if took:
                self._room.release()
            raise


def after_ack_pool() -> ThreadPoolExecutor:
    """The pool that does what comes after an ack: late answers, forms, mention replies."""
    return BoundedPool(AFTER_ACK_WORKERS, AFTER_ACK_BACKLOG, AFTER_ACK_WAIT)


@dataclass(frozen=True)
class Built:
    """The Bolt app, and what the HTTP front shares with it to answer `/apec` itself."""

    app: App
    apec: Apec
    authorize: Authorizer
    client: WebClient  # the app's own: `Direct` makes its clients as Bolt makes one per request
    workspace: Workspace
    replies: Replies
    later: ThreadPoolExecutor


def create_app(
    config: Config,
    stores: Stores,
    clock: Callable[[], datetime],
    on_change: Callable[[], None] = lambda: None,
    *,
    replies: Replies | None = None,
    workspace: Workspace | None = None,
    later: ThreadPoolExecutor | None = None,
    surfaces: tuple[Surface, ...] = SURFACES,
) -> App:
    """The Bolt app with every listener registered (`/apec`, then each of `surfaces`); makes no
    network call. `replies` and `workspace` are given when an HTTP front shares them
    (`kept_reply`); `later`, the pool for work after an ack, when the caller waits for it on the
    way out. `http_front` builds the front `serve` runs."""
    built = build(
        config,
        stores,
        clock,
        on_change,
        replies=replies,
        workspace=workspace,
        later=later,
        surfaces=surfaces,
    )
    return built.app


def build(
    config: Config,
    stores: Stores,
    clock: Callable[[], datetime],
    on_change: Callable[[], None] = lambda: None,
    *,
    replies: Replies | None = None,
    workspace: Workspace | None = None,
    later: ThreadPoolExecutor | None = None,
    surfaces: tuple[Surface, ...] = SURFACES,
) -> Built:
    """`create_app`'s app, with what it is built of."""
    client = web_client(config)
    workspace = workspace or Workspace()
    authorize = Authorizer(config, client, workspace)
    app = App(
        client=client,
        authorize=authorize.for_bolt(),
        signing_secret=config.signing_secret or None,
        token_verification_enabled=False,
        process_before_response=True,
        request_verification_enabled=True,
        ignoring_self_events_enabled=True,
        url_verification_enabled=True,
        ssl_check_enabled=True,
    )
    later = later or after_ack_pool()
    lookups = lookup_client(config.api_url, config.bot_token or None)
    admin_client = web_client(config, config.bot_token or None)
    # A fault of the store's files or disk is told once an episode, and its end too (bot/faults.py).
    stores.faults.tell = AdminAlerts(config.admins, SlackPoster(admin_client))
    questions = Questions(
        config,
        stores,
        clock,
        permissions=Permissions(config.admins, lookups, workspace),
        zones=UserZones(lookups),
        membership=Membership(lookups),
        alarm=Alarm(config.admins, admin_client, later, told=stores.faults.failing),
        on_change=on_change,
    )
    on = Listening(questions.ask, questions.answer, later, Names(lookups))

    def briefs() -> Briefs:
        return Briefs(Desk(stores.get().db), clock())

    gate.register(app, workspace, stores, clock)
    replies = replies or Replies(stores, clock)
    apec = Apec(on, replies, stores.changed, briefs)
    commands.register(app, apec)
    for surface in surfaces:
        surface.register(app, on)
    return Built(app, apec, authorize, client, workspace, replies, later)


@dataclass(frozen=True)
class HttpFront:
    """What `serve` runs over HTTP: the WSGI front (`wsgi`), the Bolt app behind it (Socket
    Mode's too), and the pool of work after an ack, to wait for on the way out."""

    wsgi: SlackHTTP
    app: App
    later: ThreadPoolExecutor


def http_front(
    config: Config,
    stores: Stores,
    clock: Callable[[], datetime],
    *,
    health: Callable[[], dict[str, Any]],
    on_change: Callable[[], None] = lambda: None,
    metrics: Metrics | None = None,
    events: bool = True,
    later: ThreadPoolExecutor | None = None,
    surfaces: tuple[Surface, ...] = SURFACES,
    lean: bool = True,
    exact: bool = False,
) -> HttpFront:
    """The app and its WSGI front, wired as `apec-bot serve` wires them (and the tests' served
    app, and the benches): `/apec` and @-mentions answered by `Direct` from the body the front
    parsed, the rest by Bolt. `lean=False` sends them through Bolt's dispatch too (a kept reply
    still sent by the front), as before `Direct`. `exact` reads the store anew for the feed and
    the timeline's pictures, for tests that change it from another connection (serve reads it
    `quick`)."""
    built = build(config, stores, clock, on_change, later=later, surfaces=surfaces)
    store = stores.get if exact else partial(stores.get, quick=True)
    direct = Direct(
        built.apec,
        built.workspace,
        built.authorize,
        built.client,
        handled_before=partial(gate.handled_before, stores, clock),
        mentions=ON_EVENTS in surfaces,  # (`events` here is whether to serve the endpoint)
    )
    wsgi = SlackHTTP(
        built.app,
        config.signing_secret,
        health,
        calendar=lambda: calendar(store(), clock()),
        metrics=metrics,
        events=events,
        store=store,
        seen=stores.seen,
        metrics_token=config.metrics_token,
        kept=None if lean else partial(kept_reply, built.replies, built.workspace),
        direct=direct if lean else None,
    )
    return HttpFront(wsgi, built.app, built.later)
