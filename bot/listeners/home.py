"""The App Home tab: published for the one who opens it, after the ack, in their own zone."""

from __future__ import annotations

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.listeners.common import AskFrom, Body, Listening, after
from handlers.home import home_view


def register(app: App, on: Listening) -> None:
    @app.event("app_home_opened")
    def home_opened(ack: Ack, event: Body, client: WebClient) -> None:
        ack()
        if event.get("tab", "home") == "home" and event.get("user"):
            after(on.later, publish_home, on.ask, client, str(event["user"]))


def publish_home(ask: AskFrom, client: WebClient, user: str) -> None:
    """The Home tab as `user` sees it now."""
    client.views_publish(user_id=user, view=home_view(ask("", user, "", zoned=True)))
