"""The lean request path: no query per request to learn whether the store changed, and replies kept
per (words, store epoch, minute), yet every change shows in the next answer it should.

Real stores in tmp_path; `Stores` is given its ticks (the monotonic clock it looks at the store by),
and the replies their clock, so nothing here waits for time to pass.
"""

from __future__ import annotations

from datetime import timedelta

from bot.app import Replies
from bot.stores import LOOK_EVERY, Stores
from handlers.router import STORE_DOWN, Ask, route
from store.db import connect
from tests.conftest import ADMIN, SEEDS, at


class Ticks:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def write(db_path, sql: str) -> None:
    """A change made by another process: its own connection, committed."""
    db = connect(db_path)
    with db.conn:
        db.execute(sql)
    db.close()


def city(stores: Stores, quick: bool) -> str:
    return stores.get(quick=quick).meeting("SOM1").city


def test_another_process_s_change_is_seen_within_the_look_interval_and_exact_reads_see_it_at_once(
    db_path,
):
    ticks = Ticks()
    stores = Stores(db_path, SEEDS, ticks=ticks)
    before = city(stores, quick=True)
    write(db_path, "UPDATE meetings SET city = 'Ningbo' WHERE id = 'som1-2026'")
    assert city(stores, quick=True) == before  # asked SQLite nothing: the last look is recent
    ticks.now += LOOK_EVERY
    assert city(stores, quick=True) == "Ningbo"
    write(db_path, "UPDATE meetings SET city = 'Xiamen' WHERE id = 'som1-2026'")
    assert city(stores, quick=False) == "Xiamen"  # the scheduler and the CLI always ask


def test_a_change_made_in_this_process_is_seen_by_every_thread_at_once(db_path):
    import threading

    stores = Stores(db_path, SEEDS, ticks=Ticks())
    assert city(stores, quick=True) != "Ningbo"

    def edit() -> None:  # another thread, its own connection, as a request that writes
        db = stores.get(quick=True).db
        with db.conn:
            db.execute("UPDATE meetings SET city = 'Ningbo' WHERE id = 'som1-2026'")
        stores.get(quick=True)  # its next read: this thread's own write moves the epoch

    thread = threading.Thread(target=edit)
    thread.start()
    thread.join()
    assert city(stores, quick=True) == "Ningbo"
    write(db_path, "UPDATE meetings SET city = 'Xiamen' WHERE id = 'som1-2026'")
    stores.changed()  # what the app calls after a change, whoever made it
    assert city(stores, quick=True) == "Xiamen"


def test_a_kept_reply_lasts_its_minute_and_no_longer_than_the_store_it_came_from(db_path):
    ticks = Ticks()
    stores = Stores(db_path, SEEDS, ticks=ticks)
    # after every source (the whole store answers, read from the tables written below), and
    # before a meeting dated to the day, so that a day later the reply says a day nearer
    now = [at("2026-11-10T09:00:10+09:00")]
    replies = Replies(stores, lambda: now[0])
    made: list[str] = []

    def answer():
        made.append("made")
        return route(Ask(store=stores.get(quick=True), now=now[0], text="next-meeting"))

    first = replies.pages("next-meeting", answer)
    assert replies.pages("  next-meeting ", answer) == first and len(made) == 1
    now[0] += timedelta(seconds=45)  # 09:00:55, the same minute
    assert replies.pages("next-meeting", answer) == first and len(made) == 1
    now[0] += timedelta(days=1)
    assert replies.pages("next-meeting", answer) != first and len(made) == 2  # a day nearer
    write(db_path, "UPDATE meetings SET city = 'Ningbo' WHERE id = 'aelm-2026'")
    ticks.now += LOOK_EVERY
    assert "Ningbo" in replies.pages("next-meeting", answer)[0]["text"] and len(made) == 3


def test_a_reply_about_a_failed_store_is_never_kept(db_path):
    stores = Stores(db_path, SEEDS, ticks=Ticks())
    now = at("2026-11-10T09:00:10+09:00")  # after every source: the whole store's tables answer
    replies = Replies(stores, lambda: now)

    def answer():
        return route(Ask(store=stores.get(quick=True), now=now, text="next-meeting"))

    write(db_path, "ALTER TABLE meetings RENAME TO meetings_away")  # fails under the request
    assert STORE_DOWN in replies.pages("next-meeting", answer)[0]["text"]
    write(db_path, "ALTER TABLE meetings_away RENAME TO meetings")
    assert (
        STORE_DOWN not in replies.pages("next-meeting", answer)[0]["text"]
    )  # same key: made again


def test_an_admin_s_edit_shows_in_the_next_answer_over_http(server):
    status, body = server.command("next-meeting")
    assert status == 200 and "Ningbo" not in body
    status, body = server.command("edit-meeting SOM1 city=Ningbo", user=ADMIN)
    assert status == 200, body
    status, body = server.command("next-meeting")  # within the same minute, on any thread
    assert status == 200 and "Ningbo" in body


def test_the_front_sends_a_kept_reply_itself_in_bolt_s_own_bytes(db_path):
    from slack_bolt import BoltResponse

    from bot.app import kept_reply
    from bot.workspace import Workspace

    stores = Stores(db_path, SEEDS, ticks=Ticks())
    now = at("2026-01-20T09:00:10+09:00")
    replies = Replies(stores, lambda: now)
    ours = Workspace()
    ours.learn("T1", None)
    body = {"command": "/apec", "text": "next-meeting", "team_id": "T1"}
    assert kept_reply(replies, ours, body) is None  # not kept yet: Bolt makes it
    (page,) = replies.pages(
        "next-meeting", lambda: route(Ask(store=stores.get(), now=now, text="next-meeting"))
    )
    assert (
        kept_reply(replies, ours, body) == BoltResponse(status=200, body=dict(page)).body.encode()
    )
    assert kept_reply(replies, ours, {**body, "team_id": "T2"}) is None  # another workspace's
    assert kept_reply(replies, ours, {**body, "text": "next-meeting som"}) is None
