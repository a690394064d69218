"""The Bolt app: `/apec`, @-mentions, the Home tab and the share button, each a few lines.

Built with no network at construction (`token_verification_enabled=False`) and a WebClient whose
base URL comes from SLACK_API_URL. Store look-ups are answered before the HTTP response
(`process_before_response=True`); Web API calls run in lazy listeners so Slack gets its ack at once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from slack_bolt import App, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.config import Config
from bot.permissions import Permissions
from bot.stores import Stores
from handlers.answer import MORE_ACTION, mention
from handlers.edits import FORM, submit_form
from handlers.home import home_view
from handlers.render import SHARE_ACTION, Card
from handlers.router import Ask, route

log = logging.getLogger("apec.app")


class _NoTokenNotice(logging.Filter):
    """Bolt warns that a token in the environment goes unused when given a client: by design here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.App").addFilter(_NoTokenNotice())


def web_client(config: Config, token: str | None = None) -> WebClient:
    """A Web API client that waits out 429s as Slack's Retry-After asks."""
    client = WebClient(token=token, base_url=config.api_url, timeout=10)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client


def authorizer(config: Config, client: WebClient) -> Callable[..., AuthorizeResult]:
    """Bolt's authorize: the bot token, and the bot's identity from one `auth.test` on first need.

    Bolt's own single-team path calls `auth.test` on the first request and fails every request
    while Slack is unreachable; here a failure answers without the bot's identity, and is not
    retried for a minute.
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


def create_app(
    config: Config,
    stores: Stores,
    clock: Callable[[], datetime],
    on_change: Callable[[], None] = lambda: None,
) -> App:
    """The Bolt app with every listener registered; makes no network call."""
    client = web_client(config)
    app = App(
        client=client,
        authorize=authorizer(config, client),
        signing_secret=config.signing_secret or None,
        token_verification_enabled=False,
        process_before_response=True,
        request_verification_enabled=True,
        ignoring_self_events_enabled=True,
        url_verification_enabled=True,
        ssl_check_enabled=True,
    )

    permissions = Permissions(config.admins, web_client(config, config.bot_token or None))

    def ask_from(text: str, user: str, channel: str) -> Ask:
        return config.ask(stores.get(), clock(), text, via="slack", user=user, channel=channel,
                          on_change=on_change, can_edit=lambda: permissions.may_edit(user))  # fmt: skip

    @app.middleware
    def once_per_event(body: dict, next: Callable[[], BoltResponse]) -> BoltResponse | None:
        """Slack retries events it thinks were lost; answer each `event_id` once."""
        event_id = body.get("event_id") if isinstance(body, dict) else None
        if event_id and not stores.claim_event(event_id, clock()):
            log.info("event %s already handled: acknowledged, not answered again", event_id)
            return BoltResponse(status=200, body="")
        return next()

    @app.command("/apec")
    def apec(ack, command, client):
        reply = route(
            ask_from(
                command.get("text", ""), command.get("user_id", ""), command.get("channel_id", "")
            )
        )
        modal = reply.pop("modal", None)
        if modal is not None:
            try:
                client.views_open(trigger_id=command.get("trigger_id", ""), view=modal)
                ack()
                return
            except SlackApiError as exc:
                log.warning("views.open failed: %s", exc.response.get("error"))
                reply = (
                    Card()
                    .section(
                        "I could not open the form; type the change instead, e.g. "
                        '`/apec add-meeting "SOM3" 2026-08-10..2026-08-21 Dalian`.'
                    )
                    .payload()
                )
        ack(**reply)

    @app.view(FORM)
    def meeting_form_submitted(ack, body, view, client):
        user = body.get("user", {}).get("id", "")
        meta = view.get("private_metadata", "")
        try:
            channel = json.loads(meta or "{}").get("channel", "")
        except ValueError:
            channel = ""
        errors, reply = submit_form(
            ask_from("", user, channel), view.get("state", {}).get("values", {}), meta
        )
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        if reply and channel:
            try:
                client.chat_postEphemeral(
                    channel=channel, user=user, text=reply["text"], blocks=reply["blocks"]
                )
            except SlackApiError as exc:
                log.warning("could not confirm the form to %s: %s", user, exc.response.get("error"))

    def mention_reply(event, client):
        reply = mention(
            ask_from(event.get("text", ""), event.get("user", ""), event.get("channel", ""))
        )
        client.chat_postMessage(
            channel=event["channel"],
            thread_ts=event.get("thread_ts") or event["ts"],
            text=reply["text"],
            blocks=reply["blocks"],
        )

    app.event("app_mention")(ack=lambda ack: ack(), lazy=[mention_reply])

    def publish_home(event, client):
        if event.get("tab", "home") == "home":
            client.views_publish(
                user_id=event["user"], view=home_view(ask_from("", event["user"], ""))
            )

    app.event("app_home_opened")(ack=lambda ack: ack(), lazy=[publish_home])

    @app.action(SHARE_ACTION)
    def share(ack, body, respond):
        ack()
        action = body["actions"][0]
        user = body.get("user", {}).get("id", "")
        channel = (body.get("channel") or {}).get("id", "")
        reply = route(ask_from(action.get("value", ""), user, channel))
        reply = {**reply, "blocks": [b for b in reply["blocks"] if b.get("type") != "actions"]}
        respond(**{**reply, "response_type": "in_channel", "replace_original": False})

    @app.action(MORE_ACTION)
    def more(ack, body, respond):
        """The whole card behind a short answer, shown to the one who asked for it."""
        ack()
        action = body["actions"][0]
        user = body.get("user", {}).get("id", "")
        channel = (body.get("channel") or {}).get("id", "")
        reply = route(ask_from(action.get("value", ""), user, channel))
        respond(**{**reply, "response_type": "ephemeral", "replace_original": False})

    @app.event("message")
    def ignore_messages():
        """Channel messages that are not mentions: nothing to say."""

    return app
