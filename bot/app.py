"""The Bolt app: built here, with a listener module for each of Slack's surfaces wired onto it.

Built with no network at construction (`token_verification_enabled=False`) and a WebClient whose
base URL comes from SLACK_API_URL. Store look-ups are answered before the HTTP response
(`process_before_response=True`); Web API calls (a form to open, a long answer's later parts, a
mention's reply) run after the ack, so Slack gets it within its 3 seconds.

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
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Protocol

from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler

from bot import gate
from bot.config import Config
from bot.documents import Briefs
from bot.documents import post_document as _post_document
from bot.faults import AdminAlerts
from bot.listeners import buttons, commands, events, forms, home
from bot.listeners.commands import Apec, command_text
from bot.listeners.common import Listening
from bot.listeners.events import mention_text
from bot.permissions import Names, Permissions, lookup_client
from bot.posting import SlackPoster
from bot.questions import Alarm, Questions
from bot.replies import Replies, kept_reply
from bot.stores import Stores
from bot.users import Membership, UserZones
from bot.workspace import Workspace
from store.desk import Desk

# What others import from here, wherever it now lives.
__all__ = [
    "Alarm",
    "Replies",
    "_post_document",
    "after_ack_pool",
    "authorizer",
    "command_text",
    "create_app",
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


class _NoTokenNotice(logging.Filter):
    """Bolt warns that a token in the environment goes unused when given a client: meant here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.App").addFilter(_NoTokenNotice())


def web_client(config: Config, token: str | None = None) -> WebClient:
    """A Web API client that waits out 429s as Slack's Retry-After asks, and nothing else: the
    default handler would send a request again after a dropped connection, and a message or a
    canvas whose first sending may have arrived is not sent again without looking."""
    retry: list[RetryHandler] = [RateLimitErrorRetryHandler(max_retry_count=3)]
    return WebClient(token=token, base_url=config.api_url, timeout=10, retry_handlers=retry)


def authorizer(
    config: Config, client: WebClient, workspace: Workspace | None = None
) -> Callable[..., AuthorizeResult]:
    """Bolt's authorize: the bot token, and the bot's identity from one `auth.test` on first need.

    Bolt's own single-team path calls `auth.test` on the first request and fails every request
    while Slack is unreachable; here a failure answers without the bot's identity, and is not
    retried for a minute. The identity tells the workspace which team is ours.
    """
    found: dict[str, AuthorizeResult] = {}
    failed_at = [float("-inf")]
    lock = threading.Lock()

    def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        with lock:
            if "result" in found:
                return found["result"]
            if time.monotonic() - failed_at[0] > 60:
                try:
                    response = client.auth_test(token=config.bot_token)
                    found["result"] = AuthorizeResult.from_auth_test_response(
                        auth_test_response=response, bot_token=config.bot_token
                    )
                    if workspace is not None:
                        workspace.learn(response.get("team_id"), response.get("enterprise_id"))
                    return found["result"]
                except (SlackApiError, OSError) as exc:
                    failed_at[0] = time.monotonic()
                    log.warning(
                        "auth.test failed (%s); answering without the bot's identity",
                        type(exc).__name__,
                    )
        return AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, bot_token=config.bot_token
        )

    return authorize


def after_ack_pool() -> ThreadPoolExecutor:
    """The pool that does what comes after an ack: late answers, forms, mention replies."""
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="later")


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
    network call. `replies` and `workspace` are given when the HTTP front shares them
    (`kept_reply`); `later`, the pool for work after an ack, when the caller waits for it on the
    way out (`serve`)."""
    client = web_client(config)
    workspace = workspace or Workspace()
    app = App(
        client=client,
        authorize=authorizer(config, client, workspace),
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
    commands.register(app, Apec(on, replies, stores.changed, briefs))
    for surface in surfaces:
        surface.register(app, on)
    return app
