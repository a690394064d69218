"""The README's "Where to change what", tried: each kind of change made with a toy example, in the
files that section names and nowhere else, and seen to work through the real parts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.app import SURFACES
from bot.listeners.common import Body, Listening, after, who_where
from tests.conftest import served_app

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)

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


# -- add an intent: a function of (Question, Store), a row in handlers/reader/table.py ------------


def first_source(q, store):
    """A toy intent: "which source came first?", answered from the sources' own dates and cited."""
    if not q.has("first") or not q.has("source"):
        return None  # not a question it can account for: the next row is asked
    from handlers.reader.base import Answer, cited
    from handlers.render import esc

    earliest = min(store.sources(), key=lambda s: (s.reference_date, s.id))
    return Answer(f"The first source on record is *{esc(earliest.title)}*.", cite=cited(earliest))


def test_a_new_intent_is_asked_in_its_turn_and_cites_what_it_says(store):
    from handlers.answer import card, respond
    from handlers.question import parse
    from handlers.reader.table import INTENTS

    now = NOW
    asked = parse(store, "which source came first?", now)
    before = respond(asked, store)
    found = respond(asked, store, (first_source, *INTENTS))
    assert found.by == "first_source" and before.by != "first_source"
    shown = card(found).plain()
    assert shown.startswith("The first source on record is") and "Source" in shown
    # a question it does not account for goes on to the rows after it, as before
    other = parse(store, "when is SOM1?", now)
    assert respond(other, store, (first_source, *INTENTS)).by == respond(other, store).by


# -- change how reminders are timed: store/schedule.py's reminder_time, through the plan ---------


def test_a_subscriptions_offsets_time_its_reminders_through_the_plan(store):
    from zoneinfo import ZoneInfo

    from store.desk import Desk
    from store.schedule import plan, reminder_time

    tokyo = ZoneInfo("Asia/Tokyo")
    desk = Desk(store.db)
    desk.subscribe_reminders("CTOY", "Asia/Tokyo", ("3d", "2h"), ("som",), by="U1", now=NOW)
    som = next(m for m in store.meetings() if m.kind == "som" and m.bounds() is not None)
    first_day = som.bounds()[0].date()
    posts = plan(store, desk, NOW.replace(year=2000), NOW.replace(year=2030), tokyo, channel="CTOY")
    times = {p.due for p in posts if p.meeting_id == som.id}
    assert reminder_time(first_day, "3d", tokyo) in times  # 09:00 Tokyo, three days before
    assert reminder_time(first_day, "2h", tokyo) in times  # 07:00 Tokyo on the first day
    assert reminder_time(first_day, "3d", tokyo).astimezone(tokyo).hour == 9
    assert reminder_time(first_day, "2h", tokyo).astimezone(tokyo).hour == 7
