"""Nothing anyone types reaches a channel live: every Slack control sequence, through every input a
user or an admin has, against every byte the bot sends (HTTP bodies, response_url posts, every Web
API call, scheduled posts).

The sequences carry their own markers (UEVIL, SEVIL, CEVIL, evil.example) so that the bot's own
tokens (dates, the admins it names) are never mistaken for an injected one. A live sequence is one
in a field Slack reads as mrkdwn (a message's `text`, a mrkdwn block or element).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import web_client
from bot.config import Config
from bot.posting import SlackPoster
from bot.scheduler import Engine
from bot.stores import Stores
from handlers.render import Card, esc, from_slack
from handlers.router import Ask, route
from store.db import connect
from store.ingest import ingest
from tests.conftest import ADMIN, BOT_TOKEN, SEEDS, at

# As Slack sends them: a real broadcast or mention arrives as an entity; typed text arrives escaped.
SEQUENCES = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^SEVIL|@ops>",
    "<@UEVIL>",
    "<@UEVIL|boss>",
    "<#CEVIL|general>",
    "<https://evil.example/x|click here>",
    "<mailto:evil@evil.example|mail>",
    "&lt;!channel&gt;",
    "&lt;@UEVIL&gt;",
    "&lt;https://evil.example|click&gt;",
]
LIVE = re.compile(
    r"<!(?:channel|here|everyone)|<!subteam\^SEVIL|<@UEVIL|<#CEVIL"
    r"|<(?:https?://|mailto:)[^>]*evil\.example"
)
NOW = at("2026-01-20T09:00+09:00")


def live_in(payload: object) -> list[str]:
    """Every live injected sequence in a payload's mrkdwn: its `text`, mrkdwn blocks, elements."""
    found: list[str] = []

    def walk(node: object, mrkdwn: bool) -> None:
        if isinstance(node, dict):
            is_mrkdwn = node.get("type") == "mrkdwn"
            for key, value in node.items():
                if key == "text" and isinstance(value, str) and (mrkdwn or is_mrkdwn):
                    found.extend(m[0] for m in LIVE.finditer(value))
                else:
                    walk(value, mrkdwn=False)
        elif isinstance(node, list):
            for item in node:
                walk(item, mrkdwn=False)

    if isinstance(payload, dict) and isinstance(payload.get("text"), str):
        found.extend(m[0] for m in LIVE.finditer(payload["text"]))
    walk(payload, mrkdwn=False)
    return found


def _body(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return {"text": text}


def slash_inputs(seq: str) -> list[str]:
    """What a user or admin types after /apec, with the sequence in every argument it has."""
    return [
        seq,
        f"meeting {seq}",
        f"member {seq}",
        f"who {seq}",
        f"delegation {seq}",
        f"meetings {seq}",
        f"next-meeting {seq}",
        f"ask is {seq} in apec?",
        # questions read part by part, claims put to be confirmed, errands taken off
        f"ask SOM2: where, when, and who led {seq}?",
        f"ask {seq} + when is SOM2?",
        f"ask I heard {seq} is in Beijing - is that right?",
        f"ask was SOM2 in {seq}, correct?",
        f"ask when is SOM2 for the {seq} brief? and what is {seq}?",
        f"remind tomorrow 9am {seq} prepare",
        f"remind in 1 minute {seq} hello",
        f"remind {seq} in 2 hours",
        f"subscribe reminders {seq}",
        f"pause until {seq}",
        f"history {seq}",
        f'add-meeting "{seq}" 2026-09-01 Xian note="{seq}"',
        f'edit-meeting SOM3 city="{seq}" note="{seq}"',
        f'add-delegate US SOM1 "{seq}" "{seq}"',
        f'remove-delegate US SOM1 "{seq}"',
    ]


def test_no_sequence_typed_anywhere_reaches_slack_live(server, web_api, reports):
    sent: list[object] = []
    injected = 0
    for seq in SEQUENCES:
        for text in slash_inputs(seq):
            injected += 1
            status, body = server.command(
                text, user=ADMIN, response_url=web_api.url + "hooks.response"
            )
            assert status == 200
            sent.append(_body(body))
        for question in (
            f"<@UBOT> what is {seq}?",
            f"<@UBOT> {seq}",
            f"<@UBOT> remind tomorrow 9am {seq}",
            f"<@UBOT> where is {seq}, and who leads the US delegation?",
        ):
            injected += 1
            server.event(
                {
                    "type": "app_mention",
                    "user": ADMIN,
                    "channel": "C1",
                    "ts": "1.1",
                    "text": question,
                },
                event_id=f"Ev{injected}",
            )
    web_api.wait_for("chat.postMessage", count=4 * len(SEQUENCES), timeout=30)
    sent += [c.params for c in web_api.calls]
    live = [s for payload in sent for s in live_in(payload)]
    reports.append(
        f"Injection: {injected} inputs carrying a control sequence, {len(live)} live sequences sent"
    )
    assert live == []


def _submission(values: dict[str, str]) -> dict:
    state = {
        k: {"value": {"type": "static_select", "selected_option": {"value": v}}}
        if k in ("kind", "status")
        else {"value": {"type": "plain_text_input", "value": v}}
        for k, v in values.items()
    }
    view = {
        "id": "V1",
        "type": "modal",
        "callback_id": "meeting_form",
        "state": {"values": state},
        "private_metadata": json.dumps({"id": "", "channel": "C1"}),
    }
    return {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": ADMIN},
        "api_app_id": "A1",
        "token": "x",
        "trigger_id": "1.2",
        "view": view,
    }


@pytest.mark.parametrize("seq", SEQUENCES)
def test_form_fields_are_shown_inert(server, web_api, seq):
    plain = from_slack(seq)  # a form's fields arrive as typed, not escaped
    values = {
        "name": f"{plain} meeting",
        "short": "X9",
        "kind": "som",
        "start": "2026-09-01",
        "city": plain,
        "host": "CN",
        "tz": "Asia/Shanghai",
        "status": "scheduled",
        "note": plain,
    }
    status, body = server.action(_submission(values))
    assert status == 200
    (confirmed,) = web_api.wait_for("chat.postEphemeral")
    assert live_in(_body(body)) == [] and live_in(confirmed.params) == []
    server.event(
        {"type": "app_home_opened", "user": ADMIN, "channel": "D1", "tab": "home"},
        event_id="EvHome",
    )
    (home,) = web_api.wait_for("views.publish")
    assert live_in(home.params) == []


def test_scheduled_posts_carry_typed_text_inert(db_path, web_api):
    from tests.conftest import Clock

    stores = Stores(db_path, SEEDS)
    clock = Clock(NOW)
    ask = Ask(
        store=stores.get(), now=NOW, channel="C1", user=ADMIN, can_edit=lambda: True, seeds=SEEDS
    )
    for n, seq in enumerate(SEQUENCES):
        route(replace(ask, text=f"remind in {n + 1} minutes {from_slack(seq)} hello"))
    route(
        replace(
            ask,
            text=f'add-meeting "{from_slack(SEQUENCES[0])} SOM" 2026-01-27 Xian '
            f'note="{from_slack(SEQUENCES[4])}"',
        )
    )
    route(replace(ask, text="subscribe reminders som 7d"))
    engine = Engine(
        stores,
        SlackPoster(web_client(Config(bot_token=BOT_TOKEN, api_url=web_api.url), BOT_TOKEN)),
        clock,
        ask.tz,
    )
    assert engine.hold_lease()
    clock.advance(minutes=len(SEQUENCES) + 1)
    engine.run_due()
    posts = web_api.calls_to("chat.postMessage")
    assert len(posts) >= len(SEQUENCES)
    assert [s for c in posts for s in live_in(c.params)] == []


def test_an_ingested_document_is_quoted_inert(store, tmp_path):
    doc = tmp_path / "hostile.md"
    doc.write_text(
        "Hostile release\n\nThe zanzibar plenary will meet <!channel> <@UEVIL> "
        "<https://evil.example/x|click> &lt;!here&gt; in Dalian.\n",
        encoding="utf-8",
    )
    ingest(store.db, doc, NOW, SEEDS)
    card = route(Ask(store=store.refresh(), now=NOW, text="ask zanzibar plenary"))
    payload = card.payload()
    assert "zanzibar" in payload["text"] and live_in(payload) == []


CONTROL = st.sampled_from(SEQUENCES + ["<", ">", "&", "&amp;", "<!date^1^{date}|x>", "*", "_", "`"])


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parts=st.lists(st.one_of(CONTROL, st.text(max_size=20)), max_size=12))
def test_any_command_text_renders_with_nothing_live(store, parts):
    text = from_slack(" ".join(parts))
    card = route(Ask(store=store, now=NOW, text=text, channel="C1", user="U1"))
    for page in card.pages():
        assert live_in(page) == []
        assert len(page["blocks"]) <= 50
        assert all(len(b["text"]["text"]) <= 3000 for b in page["blocks"] if b["type"] == "section")


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=9000), lines=st.integers(min_value=1, max_value=400))
def test_the_renderer_never_cuts_inside_an_escape_and_never_loses_text(text, lines):
    escaped = "\n".join([esc(text)] * (lines // 100 + 1))
    card = Card().section(escaped)
    pieces = [b["text"]["text"] for b in card.blocks]
    assert all(len(p) <= 3000 for p in pieces)
    assert all(
        not re.search(r"&[a-z]*$", p) or p.endswith(("&amp;", "&lt;", "&gt;")) for p in pieces
    )
    assert re.sub(r"\s", "", "".join(pieces)) == re.sub(r"\s", "", escaped)


def test_a_long_list_is_split_over_sections_and_parts_never_cut(store, db_path):
    db = connect(db_path)
    for n in range(75):
        db.execute(
            "INSERT INTO meetings (id, name, short, kind, start_date, end_date, precision, status, "
            "source_id, quote, date_text) "
            "VALUES (?, ?, ?, 'event', '2026-09-01', '2026-09-02', 'day', "
            "'scheduled', 'kr-mofa-som1', 'q', '')",
            [f"extra-{n}", f"Extra meeting & side event number {n} <b>", f"X{n}"],
        )
    db.conn.commit()
    db.close()
    # written straight to the table (no version): the whole store, as on a day after every source
    card = route(Ask(store=store.refresh(), now=at("2026-06-01T09:00+09:00"), text="meetings 2026"))
    shown = "\n".join(
        b["text"]["text"] for page in card.pages() for b in page["blocks"] if b["type"] == "section"
    )
    assert all(f"number {n} &lt;b&gt;" in shown for n in range(75))
