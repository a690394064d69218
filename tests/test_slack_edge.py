"""The Slack edge: one workspace only, permission look-ups that hold no worker, forms acknowledged
at once, a failed store answered plainly (and the admins told once), long answers in parts."""

from __future__ import annotations

import statistics
import threading
import time

from handlers.render import Card
from store.db import connect
from tests.conftest import ADMIN, BOT_TOKEN


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def test_a_command_from_another_workspace_is_refused_and_logged(server, web_api, caplog):
    status, body = server.command('add-meeting "X" 2026-09-01 Y', user=ADMIN, team="T2")
    assert status == 200 and "only in the workspace it is installed in" in body
    assert "refused a request from team T2" in caplog.text
    status, body = server.command("next-meeting", team="T1")
    assert status == 200 and "SOM1" in body


def test_a_mention_from_another_workspace_is_not_answered(server, web_api):
    event = {
        "type": "app_mention",
        "user": "U9",
        "user_team": "T2",
        "channel": "C1",
        "ts": "1.1",
        "text": "<@UBOT> next SOM?",
    }
    assert server.event(event, event_id="EvForeign")[0] == 200
    assert server.command("next-meeting")[0] == 200  # a request after it has been handled
    assert web_api.calls_to("chat.postMessage") == []


def test_an_admin_of_another_organisation_is_no_admin_here(server, web_api):
    web_api.set_user("UGUEST", is_admin=True, team_id="T9")  # a Slack Connect guest's own admin
    web_api.set_user("UHOME", is_admin=True)  # this workspace's admin
    _, refused = server.command('add-meeting "X9" 2026-09-01 Xian note="n"', user="UGUEST")
    _, allowed = server.command('add-meeting "X9" 2026-09-01 Xian note="n"', user="UHOME")
    assert "only the desk's calendar keepers" in refused and "Added" in allowed


def test_a_slow_users_info_holds_no_worker_and_delays_no_one(server, web_api, reports):
    web_api.delay("users.info", 5.0, times=100)
    threads = [
        threading.Thread(
            target=server.command, args=("cancel-meeting SOM3",), kwargs={"user": f"U{n}"}
        )
        for n in range(16)
    ]
    for t in threads:
        t.start()
    web_api.wait_for("users.info")  # the edits are waiting on Slack: now the unrelated answer
    took = [timed(lambda: server.command("next-meeting")) for _ in range(5)]
    for t in threads:
        t.join(timeout=30)
    reports.append(
        "next-meeting while 16 edits wait on a 5 s users.info: "
        f"median {statistics.median(took) * 1000:.0f} ms, worst {max(took) * 1000:.0f} ms"
    )
    assert max(took) < 1.0
    assert len(web_api.calls_to("users.info")) <= 2  # after one times out, nobody asks for a while


def test_the_form_is_acknowledged_at_once_while_views_open_is_slow(server, web_api, reports):
    web_api.delay("views.open", 3.5)
    took = timed(lambda: server.command("add-meeting", user=ADMIN))
    (call,) = web_api.wait_for("views.open", timeout=10)
    reports.append(f"add-meeting acknowledged in {took * 1000:.0f} ms while views.open took 3.5 s")
    assert took < 1.0 and call.params["view"]["callback_id"] == "meeting_form"


def test_a_failed_store_is_answered_plainly_and_the_admins_told_once(server, web_api, db_path):
    db = connect(db_path)
    db.execute(
        "DROP TABLE deliveries"
    )  # a store that fails under the request (as a damaged one does)
    db.conn.commit()
    db.close()
    for _ in range(3):
        status, body = server.command("reminders", channel="C1")
        assert status == 200 and "store is unavailable" in body and "Traceback" not in body
    (dm,) = web_api.wait_for("chat.postMessage")
    (opened,) = web_api.wait_for("conversations.open")
    assert (
        dm.params["channel"] == opened.response["channel"]["id"]
        and "store failed" in dm.params["text"]
    )


def test_the_admins_are_told_of_a_failed_store_once_an_hour(web_api):
    from concurrent.futures import ThreadPoolExecutor

    from bot.app import Alarm, web_client
    from bot.config import Config
    from tests.conftest import BOT_TOKEN

    now = [0.0]
    later = ThreadPoolExecutor(max_workers=4)
    client = web_client(Config(bot_token=BOT_TOKEN, api_url=web_api.url), BOT_TOKEN)
    alarm = Alarm(frozenset({"UA", "UB"}), client, later, clock=lambda: now[0])
    for _ in range(5):
        alarm("OperationalError: disk I/O error")
    now[0] += 3601
    alarm("OperationalError: disk I/O error")
    later.shutdown(wait=True)  # every message it meant to send is sent
    assert len(web_api.calls_to("chat.postMessage")) == 4  # two admins, twice in two hours


def test_a_long_answer_goes_in_parts_and_nothing_is_left_out():
    card = Card()
    for n in range(120):
        card.section(f"line {n}")
    card.button("Post to channel", "post_to_channel", "meetings")
    pages = card.pages()
    assert len(pages) == 3 and all(len(p["blocks"]) <= 50 for p in pages)
    said = [b["text"]["text"] for p in pages for b in p["blocks"] if b["type"] == "section"]
    assert said == [f"line {n}" for n in range(120)]
    assert "Part 1 of 3: continued below." in str(pages[0]["blocks"])
    assert [b["type"] for b in pages[0]["blocks"]][-1] == "actions"
    assert not any(b["type"] == "actions" for p in pages[1:] for b in p["blocks"])


def test_what_slack_sends_escaped_is_shown_as_typed_escaped_once(server, web_api):
    # Slack sends "a & b <c>" typed in /apec as "a &amp; b &lt;c&gt;": shown once escaped, not
    # twice.
    status, body = server.command("remind tomorrow 9am a &amp; b &lt;c&gt;", channel="C1")
    assert status == 200
    assert "a &amp; b &lt;c&gt;" in body and "&amp;amp;" not in body and "&amp;lt;" not in body


def test_an_edit_waiting_on_the_store_is_acknowledged_first_and_answered_after(
    server, web_api, db_path
):
    import threading as _threading

    from store.db import connect as _connect

    holder = _connect(db_path)
    holder.conn.execute("BEGIN IMMEDIATE")  # another writer holds the store
    done: list[tuple[int, str]] = []
    ask = _threading.Thread(
        target=lambda: done.append(
            server.command(
                'edit-meeting SOM3 city="Xian"',
                user=ADMIN,
                response_url=web_api.url + "hooks.response",
            )
        )
    )
    started = time.perf_counter()
    ask.start()
    ask.join(timeout=5)
    acked = time.perf_counter() - started
    assert done and done[0][0] == 200 and "Working on it" in done[0][1] and acked < 1.0
    holder.conn.execute("ROLLBACK")  # the other writer is done: the change goes through
    holder.close()
    (answer,) = web_api.wait_for("hooks.response", timeout=30)
    assert "Changed" in answer.params["text"] and "Xian" in answer.params["text"]


def test_an_admin_asking_before_the_workspace_is_known_is_not_refused_for_long(web_api):
    from bot.permissions import KEEP_FAILURE, Permissions, lookup_client
    from bot.workspace import Workspace
    from tests.slack_stub import TEAM_ID

    web_api.set_user("UBOSS", is_admin=True)
    workspace, now = Workspace(), [0.0]
    check = Permissions(
        frozenset(), lookup_client(web_api.url, BOT_TOKEN), workspace, lambda: now[0]
    )
    assert not check.may_edit("UBOSS")  # auth.test has not answered: no verdict yet
    workspace.learn(TEAM_ID, None)
    now[0] += KEEP_FAILURE + 1  # not the five minutes a real answer is kept
    assert check.may_edit("UBOSS")


def test_a_form_command_answered_late_still_opens_its_form(server, web_api):
    web_api.set_user("UBOSS", is_admin=True)  # a workspace admin: known only through users.info
    web_api.delay("users.info", 1.0)  # so the answer is not ready within the ack's wait
    status, body = server.command(
        "add-meeting", user="UBOSS", response_url=web_api.url + "hooks.response"
    )
    assert status == 200 and "Working on it" in body
    (call,) = web_api.wait_for("views.open", timeout=10)
    assert call.params["view"]["callback_id"] == "meeting_form"
