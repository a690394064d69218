"""Reminders and digests: on time, exactly once, through the real Web API client to the local
stand-in."""

from __future__ import annotations

import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app import web_client
from bot.config import Config
from bot.posting import SlackPoster
from bot.scheduler import Engine, Scheduler
from store.db import connect
from store.desk import Desk
from tests.conftest import BOT_TOKEN, Clock, at

UTC_ZONE = ZoneInfo("UTC")
SUMMIT_7D = at("2026-11-11T09:00:00+00:00")  # 7 days before 18 November, 09:00 UTC
SUMMIT_KEY = "reminder:C1:aelm-2026:2026-11-18:7d"


@pytest.fixture
def desk(db_path):
    db = connect(db_path)
    yield Desk(db)
    db.close()


def engine_for(stores, web_api, clock, **kw) -> Engine:
    config = Config(bot_token=BOT_TOKEN, api_url=web_api.url)
    engine = Engine(stores, SlackPoster(web_client(config, BOT_TOKEN)), clock, UTC_ZONE, **kw)
    assert engine.hold_lease()
    return engine


def subscribe(
    desk,
    channel="C1",
    tz="UTC",
    offsets=("7d", "1d", "0d"),
    kinds=("som", "summit", "ministerial"),
    since="2026-11-01T00:00+00:00",
):
    desk.subscribe_reminders(channel, tz, offsets, kinds, "U1", at(since))


def test_a_reminder_is_posted_at_its_time_once_with_its_key_in_metadata(stores, desk, web_api):
    subscribe(desk)
    clock = Clock(SUMMIT_7D - timedelta(seconds=1))
    engine = engine_for(stores, web_api, clock)
    assert engine.run_due().sent == []
    clock.now = SUMMIT_7D
    assert engine.run_due().sent == [SUMMIT_KEY]
    assert engine.run_due().sent == []
    (post,) = web_api.posts("C1")
    assert post["metadata"]["event_payload"]["key"] == SUMMIT_KEY
    assert (
        "Leaders' Meeting" in post["text"]
        and "in 7 days" in post["text"]
        and "Source:" in post["text"]
    )
    entry = desk.delivery(SUMMIT_KEY)
    assert (
        entry.status == "sent"
        and entry.ts == web_api.calls_to("chat.postMessage")[0].response["ts"]
    )


def test_a_second_engine_on_the_same_store_stands_by(stores, desk, web_api):
    subscribe(desk)
    clock = Clock(SUMMIT_7D)
    first = engine_for(stores, web_api, clock)
    second = Engine(stores, first.poster, clock, UTC_ZONE)
    assert not second.hold_lease()
    assert second.run_due().sent == []
    assert first.run_due().sent == [SUMMIT_KEY]
    assert len(web_api.posts("C1")) == 1


def test_a_reminder_missed_while_down_is_sent_late_if_the_meeting_has_not_begun(
    stores, desk, web_api
):
    subscribe(desk, offsets=("7d",))
    engine = engine_for(stores, web_api, Clock(SUMMIT_7D + timedelta(days=2)))
    assert engine.run_due().sent == [SUMMIT_KEY]
    (post,) = web_api.posts("C1")
    assert "Posted late" in post["text"]
    assert desk.delivery(SUMMIT_KEY).late


def test_a_reminder_missed_until_the_meeting_began_is_skipped_and_logged(
    stores, desk, web_api, caplog
):
    subscribe(desk, offsets=("1d",))
    engine = engine_for(stores, web_api, Clock(at("2026-11-18T10:00+00:00")))
    outcome = engine.run_due()
    assert outcome.sent == [] and outcome.skipped == ["reminder:C1:aelm-2026:2026-11-18:1d"]
    assert web_api.posts() == []
    entry = desk.delivery("reminder:C1:aelm-2026:2026-11-18:1d")
    assert entry.status == "skipped" and "meeting has begun" in entry.error
    assert "missed while the bot was down" in caplog.text


def test_nothing_due_before_the_subscription_is_owed(stores, desk, web_api):
    subscribe(desk, offsets=("7d",), since="2026-11-12T00:00+00:00")
    engine = engine_for(stores, web_api, Clock(at("2026-11-12T00:01+00:00")))
    assert engine.run_due().sent == [] and web_api.posts() == []


def test_a_paused_channel_is_skipped_and_another_channel_still_posts(stores, desk, web_api):
    subscribe(desk, channel="C1", offsets=("7d",))
    subscribe(desk, channel="C2", offsets=("7d",))
    desk.pause("C1", None, "U1", at("2026-11-01T00:00+00:00"))
    engine = engine_for(stores, web_api, Clock(SUMMIT_7D))
    outcome = engine.run_due()
    assert outcome.skipped == [SUMMIT_KEY] and outcome.sent == [
        "reminder:C2:aelm-2026:2026-11-18:7d"
    ]
    assert desk.delivery(SUMMIT_KEY).error == "channel paused"


def test_slack_refusing_a_post_is_recorded_admins_told_once_and_others_still_post(
    stores, desk, web_api
):
    subscribe(desk, channel="C1", offsets=("7d", "1d"))
    subscribe(desk, channel="C2", offsets=("7d",))
    web_api.fail("chat.postMessage", "not_in_channel", times=5, channel="C1")
    clock = Clock(SUMMIT_7D)
    engine = engine_for(stores, web_api, clock, admins=frozenset({"UADMIN"}))
    outcome = engine.run_due()
    assert outcome.failed == [SUMMIT_KEY] and outcome.sent == [
        "reminder:C2:aelm-2026:2026-11-18:7d"
    ]
    assert (
        desk.delivery(SUMMIT_KEY).status == "failed"
        and desk.delivery(SUMMIT_KEY).error == "not_in_channel"
    )
    (opened,) = web_api.calls_to("conversations.open")  # a DM goes to the D… channel Slack gives
    dm = opened.response["channel"]["id"]
    dms = web_api.posts(dm)
    assert len(dms) == 1 and "not_in_channel" in dms[0]["text"] and "C1" in dms[0]["text"]
    assert [d.channel for d in desk.deliveries() if d.kind == "alert"] == [dm]
    desk.add_one_off(
        "C1", SUMMIT_7D + timedelta(hours=1), "UTC", "same day, same error", "U1", SUMMIT_7D
    )
    clock.now = SUMMIT_7D + timedelta(hours=1)
    assert engine.run_due().failed == ["one-off:1"]
    assert len(web_api.posts(dm)) == 1  # one notice a channel, error and day
    last_sent, last_failed = desk.last_outcomes("C1")
    assert last_failed.error == "not_in_channel"


def test_a_transient_refusal_is_retried_on_the_next_run(stores, desk, web_api):
    subscribe(desk, offsets=("7d",))
    web_api.fail("chat.postMessage", "service_unavailable", times=1)  # refused: nothing posted
    engine = engine_for(stores, web_api, Clock(SUMMIT_7D))
    assert engine.run_due().failed == [SUMMIT_KEY]
    assert desk.delivery(SUMMIT_KEY).status == "retry"
    assert engine.run_due().sent == [SUMMIT_KEY]
    assert len(web_api.posts("C1")) == 1 and desk.delivery(SUMMIT_KEY).attempts == 2


def test_a_429_is_waited_out_by_the_client(stores, desk, web_api):
    subscribe(desk, offsets=("7d",))
    web_api.rate_limit("chat.postMessage", times=1, retry_after=1)
    engine = engine_for(stores, web_api, Clock(SUMMIT_7D))
    assert engine.run_due().sent == [SUMMIT_KEY]
    assert [c.status for c in web_api.calls_to("chat.postMessage")] == [429, 200]


def test_a_claim_left_by_a_crash_after_posting_is_found_in_history_and_not_posted_again(
    stores, desk, web_api
):
    subscribe(desk, offsets=("7d",))
    client = web_client(Config(api_url=web_api.url), BOT_TOKEN)
    posted = client.chat_postMessage(
        channel="C1",
        text="the reminder",
        metadata={"event_type": "apec_post", "event_payload": {"key": SUMMIT_KEY}},
    )
    desk.claim(SUMMIT_KEY, "C1", "reminder", "aelm-2026", SUMMIT_7D, "ghost-host:1:dead", 0.0)
    engine = engine_for(stores, web_api, Clock(SUMMIT_7D + timedelta(seconds=30)))
    assert engine.recover() == [SUMMIT_KEY]
    assert engine.run_due().sent == []
    assert len(web_api.posts("C1")) == 1
    assert desk.delivery(SUMMIT_KEY).ts == posted["ts"]
    assert web_api.calls_to("conversations.history")


def test_a_claim_left_by_a_crash_before_posting_is_sent(stores, desk, web_api):
    subscribe(desk, offsets=("7d",))
    desk.claim(SUMMIT_KEY, "C1", "reminder", "aelm-2026", SUMMIT_7D, "ghost-host:1:dead", 0.0)
    engine = engine_for(stores, web_api, Clock(SUMMIT_7D + timedelta(seconds=30)))
    assert engine.recover() == [SUMMIT_KEY]
    assert len(web_api.posts("C1")) == 1 and desk.delivery(SUMMIT_KEY).status == "sent"


def test_a_fresh_claim_of_another_host_is_left_alone_until_it_times_out(stores, desk, web_api):
    import time

    subscribe(desk, offsets=("7d",))
    desk.claim(SUMMIT_KEY, "C1", "reminder", "aelm-2026", SUMMIT_7D, "other-host:1:x", time.time())
    engine = engine_for(stores, web_api, Clock(SUMMIT_7D))
    assert engine.recover() == [] and engine.run_due().sent == [] and web_api.posts() == []


def test_a_claim_of_a_live_process_on_this_host_is_left_alone(stores, desk, web_api):
    import os
    import socket

    subscribe(desk, offsets=("7d",))
    desk.claim(
        SUMMIT_KEY,
        "C1",
        "reminder",
        "aelm-2026",
        SUMMIT_7D,
        f"{socket.gethostname()}:{os.getppid()}:x",
        0.0,
    )
    engine = engine_for(stores, web_api, Clock(SUMMIT_7D))
    assert engine.recover() == [] and engine.run_due().sent == [] and web_api.posts() == []


def test_a_month_only_meeting_gets_no_reminder_until_the_desk_dates_it(
    stores, desk, web_api, db_path
):
    subscribe(desk, kinds=("som",), since="2026-07-01T00:00+00:00")
    engine = engine_for(stores, web_api, Clock(at("2026-07-01T00:00+00:00")))
    assert [
        p for p in engine.plan(at("2026-07-01T00:00+00:00"), at("2026-09-01T00:00+00:00"))
    ] == []
    db = connect(db_path)
    db.execute(
        "UPDATE meetings SET start_date = '2026-08-10', end_date = '2026-08-21', precision = 'day' "
        "WHERE id = 'som3-2026'"
    )
    db.close()
    due = [p.due for p in engine.plan(at("2026-07-01T00:00+00:00"), at("2026-09-01T00:00+00:00"))]
    assert due == [
        at("2026-08-03T09:00+00:00"),
        at("2026-08-09T09:00+00:00"),
        at("2026-08-10T09:00+00:00"),
    ]


def test_reminders_keep_09_00_local_across_a_daylight_saving_change(stores, desk, web_api, db_path):
    db = connect(db_path)
    db.execute(
        "UPDATE meetings SET start_date = '2026-03-09', end_date = '2026-03-10', precision = 'day' "
        "WHERE id = 'som3-2026'"
    )
    db.close()
    subscribe(desk, tz="America/New_York", kinds=("som",), since="2026-02-01T00:00+00:00")
    engine = engine_for(stores, web_api, Clock(at("2026-02-01T00:00+00:00")))
    due = [p.due for p in engine.plan(at("2026-03-01T00:00+00:00"), at("2026-03-10T00:00+00:00"))]
    # 2 March is EST (UTC-5); 8 and 9 March are EDT (UTC-4): 09:00 local each time.
    assert due == [
        at("2026-03-02T14:00+00:00"),
        at("2026-03-08T13:00+00:00"),
        at("2026-03-09T13:00+00:00"),
    ]


def test_a_digest_on_a_spring_forward_night_falls_at_a_real_time(stores, desk, web_api):
    desk.subscribe_digest(
        "C9", "America/New_York", "daily", 0, "02:30", "U1", at("2026-03-01T00:00+00:00")
    )
    engine = engine_for(stores, web_api, Clock(at("2026-03-01T00:00+00:00")))
    due = [p.due for p in engine.plan(at("2026-03-07T00:00+00:00"), at("2026-03-10T00:00+00:00"))]
    assert len(due) == 3 and len(set(due)) == 3  # one a day, 8 March's 02:30 does not exist locally


def test_a_digest_lists_the_next_30_days_the_countdown_and_month_only_meetings(
    stores, desk, web_api
):
    desk.subscribe_digest("C1", "UTC", "weekly", 0, "09:00", "U1", at("2026-07-01T00:00+00:00"))
    monday = at("2026-07-20T09:00+00:00")
    engine = engine_for(stores, web_api, Clock(monday))
    assert engine.run_due().sent == ["digest:C1:2026-07-20"]
    (post,) = web_api.posts("C1")
    text = post["text"]
    assert "APEC digest" in text and "Senior Officials' Meeting" in text and "SOM3" in text
    assert "Known only to the month" in text


def test_a_digest_missed_yesterday_is_skipped(stores, desk, web_api):
    desk.subscribe_digest("C1", "UTC", "daily", 0, "09:00", "U1", at("2026-07-01T00:00+00:00"))
    engine = engine_for(stores, web_api, Clock(at("2026-07-21T08:00+00:00")))
    outcome = engine.run_due()
    assert "digest:C1:2026-07-20" in outcome.skipped and web_api.posts() == []


def test_apec_reminder_channel_needs_no_subscription_and_a_subscription_does_not_double_it(
    stores, desk, web_api
):
    subscribe(desk, channel="CDESK", offsets=("7d",), kinds=("summit",))
    engine = engine_for(stores, web_api, Clock(SUMMIT_7D), reminder_channel="CDESK")
    assert engine.run_due().sent == ["reminder:CDESK:aelm-2026:2026-11-18:7d"]
    assert len(web_api.posts("CDESK")) == 1


def test_the_real_scheduler_posts_when_the_injected_clock_reaches_the_time(stores, desk, web_api):
    subscribe(desk, offsets=("7d",))
    # The bot's clock runs on in real time from 300 ms before the reminder.
    from bot.clock import Clock as RunningClock

    scheduler = Scheduler(
        Engine(
            stores,
            SlackPoster(web_client(Config(api_url=web_api.url), BOT_TOKEN)),
            RunningClock(SUMMIT_7D - timedelta(milliseconds=300)),
            UTC_ZONE,
        )
    )
    scheduler.start()
    try:
        (call,) = web_api.wait_for("chat.postMessage", timeout=10)
        assert call.params["metadata"]["event_payload"]["key"] == SUMMIT_KEY
    finally:
        scheduler.stop()
    assert desk.lease() is None  # given up on a clean stop


def test_a_change_while_the_scheduler_runs_is_picked_up_at_once(stores, desk, web_api):
    from bot.clock import Clock as RunningClock

    clock = RunningClock(SUMMIT_7D - timedelta(seconds=5))
    scheduler = Scheduler(
        Engine(
            stores, SlackPoster(web_client(Config(api_url=web_api.url), BOT_TOKEN)), clock, UTC_ZONE
        )
    )
    scheduler.start()
    try:
        desk.add_one_off(
            "C7", clock() + timedelta(milliseconds=300), "UTC", "call Seoul", "U1", clock()
        )
        scheduler.notify()
        (call,) = web_api.wait_for("chat.postMessage", timeout=10)
        assert call.params["channel"] == "C7" and "call Seoul" in call.params["text"]
    finally:
        scheduler.stop()


def test_stop_waits_for_a_delivery_under_way(stores, desk, web_api):
    subscribe(desk, offsets=("7d",))
    engine = engine_for(stores, web_api, Clock(SUMMIT_7D))
    scheduler = Scheduler(engine)
    web_api.delay("chat.postMessage", 1.0)  # Slack holds its answer: the post is in flight
    worker = threading.Thread(target=engine.run_due)
    worker.start()
    web_api.wait_for("chat.postMessage")
    assert desk.delivery(SUMMIT_KEY).status == "claimed"
    scheduler.stop()  # returns only when the post is recorded
    assert desk.delivery(SUMMIT_KEY).status == "sent"
    worker.join(5)


def test_schedule_cli_lists_the_posts_in_time_order(db_path, desk):
    import subprocess
    import sys

    from tests.conftest import ROOT

    subscribe(desk, channel="C1", tz="Asia/Seoul", offsets=("7d", "1d"), kinds=("summit",))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "schedule",
            "--now",
            "2026-11-01T00:00+00:00",
            "--days",
            "30",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"APEC_DB": str(db_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[:4] for line in lines] == [
        ["2026-11-11T00:00:00Z", "C1", "reminder", "AELM-2026"],
        ["2026-11-17T00:00:00Z", "C1", "reminder", "AELM-2026"],
    ]
    assert "local=2026-11-11 09:00 Asia/Seoul" in lines[0] and "offset=7d" in lines[0]


def test_of_two_standbys_that_see_the_holder_die_only_the_first_takes_the_lease(db_path):
    db = connect(db_path)
    desk = Desk(db)
    assert desk.acquire_lease("dead", "host", 1, 1000.0, 90.0)  # its process then dies
    assert desk.acquire_lease("a", "host", 2, 1010.0, 90.0, dead="dead")  # long before expiry
    assert not desk.acquire_lease("b", "host", 3, 1011.0, 90.0, dead="dead")  # "a" holds it now
    assert desk.lease()[0] == "a"
    db.close()
