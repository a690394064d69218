"""The README's "Where to change what", tried: each kind of change made with a toy example, in the
files that section names and nowhere else, and seen to work through the real parts."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.app import SURFACES
from bot.listeners.common import Body, Listening, after, who_where
from tests.conftest import served_app

# -- add a Slack surface: a module with `register(app, on)`, named in bot/app.py's SURFACES ------


class AskAboutMessage:
    """A toy message shortcut, "Ask APEC about this": the message's words answered to the one who
    used it, after the ack, as every listener answers (`on.answer`, `after`)."""

    @staticmethod
    def register(app: App, on: Listening) -> None:
        @app.shortcut("toy_ask_about_message")
        def ask_about(ack: Ack, body: Body, client: WebClient) -> None:
            ack()
            user, channel = who_where(body)
            text = str((body.get("message") or {}).get("text", ""))
            after(on.later, _answer_privately, on, client, text, user, channel)


def _answer_privately(on: Listening, client: WebClient, text: str, user: str, channel: str) -> None:
    page: dict[str, Any] = on.answer(text, user, channel).payload()
    client.chat_postEphemeral(channel=channel, user=user, text=page["text"], blocks=page["blocks"])


def test_a_new_slack_surface_is_one_module_named_in_surfaces(db_path, web_api, clock, changes):
    clock.now = clock.now.replace(year=2026, month=12, day=1)
    surfaces = (*SURFACES, AskAboutMessage)
    with served_app(db_path, web_api, clock, changes, surfaces=surfaces) as served:
        shortcut = {
            "type": "message_action",
            "callback_id": "toy_ask_about_message",
            "user": {"id": "U1"},
            "channel": {"id": "C1"},
            "team": {"id": "T1"},
            "message": {"text": "who leads Peru's delegation?"},
            "trigger_id": "1.2.3",
        }
        assert served.action(shortcut)[0] == 200
        (call,) = web_api.wait_for("chat.postEphemeral")
    assert call.params["user"] == "U1" and call.params["channel"] == "C1"
    assert "Peru" in call.params["text"]


# -- add a kind of record: a table, made by the next numbered migration on a store that exists ---


def m999_toy_briefing_notes(db) -> None:
    """A toy kind of record: a briefing note, citing its source with a quote."""
    db.conn.execute(
        "CREATE TABLE IF NOT EXISTS toy_notes (id TEXT PRIMARY KEY, text TEXT NOT NULL, "
        "source_id TEXT NOT NULL REFERENCES sources(id), quote TEXT NOT NULL)"
    )


def test_a_new_kind_of_record_is_one_more_migration_applied_once(db_path):
    from store.db import connect
    from store.schema import MIGRATIONS, migrate

    db = connect(db_path)
    with_toy = (*MIGRATIONS, m999_toy_briefing_notes)
    assert migrate(db, with_toy) == ["m999_toy_briefing_notes"]
    assert migrate(db, with_toy) == []  # recorded: never applied twice
    source = db.execute("SELECT id FROM sources LIMIT 1").fetchone()[0]
    db["toy_notes"].insert(
        {"id": "n1", "text": "Bring the cards.", "source_id": source, "quote": ""}
    )
    assert db.execute("SELECT text FROM toy_notes").fetchall() == [("Bring the cards.",)]
    assert migrate(db) == []  # the store as shipped is unaffected by the toy
