"""A channel's schedule: subscribe, unsubscribe, subscriptions, reminders, remind, cancel, pause,
resume."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.router import REGISTRY, Ask, route
from store.desk import DEFAULT_KINDS, DEFAULT_OFFSETS, Desk
from tests.conftest import SEOUL, at

JULY = at("2026-07-20T09:00+09:00")  # SOM3 is "in August": known only to the month
NOV = at("2026-11-01T09:00+09:00")  # the Leaders' Summit opens 18 November
EVENING = at("2026-11-01T20:00+09:00")  # a Sunday
COMMANDS = [
    "subscribe",
    "unsubscribe",
    "subscriptions",
    "reminders",
    "remind",
    "cancel",
    "pause",
    "resume",
]


class Changes:
    """Counts the calls to `ask.on_change`."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@pytest.fixture
def changes() -> Changes:
    return Changes()


def say(
    store,
    text: str,
    now: datetime = NOV,
    changes=None,
    channel: str = "C1",
    reminder_channel: str = "",
    user_tz: ZoneInfo | None = None,
    user: str = "U1",
    admin: bool = False,
    member_of=lambda channel: None,
) -> dict:
    ask = Ask(
        store=store,
        now=now,
        text=text,
        user=user,
        channel=channel,
        tz=SEOUL,
        reminder_channel=reminder_channel,
        on_change=changes or (lambda: None),
        user_tz=user_tz,
        can_edit=lambda: admin,
        member_of=member_of,
    )
    card = route(ask)
    return {
        **card.payload(),
        "text": card.plain(),
    }  # the words as read; the blocks as Slack gets them


def seoul(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SEOUL)


def token(moment: datetime) -> str:
    return f"<!date^{int(moment.timestamp())}^"


def queued_lines(reply: dict) -> list[str]:
    return [line for line in reply["text"].splitlines() if line[:1].isdigit()]


# -- the commands are registered with their help --------------------------------------------


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_is_registered_with_one_line_help_usage_and_example(name):
    cmd = REGISTRY[name]
    assert cmd.summary and cmd.usage.startswith(name) and cmd.example.split()[0] == name
    assert not cmd.share or name in ("reminders", "subscriptions")  # sharing re-runs the command
    assert "\n\n" not in (cmd.handler.__doc__ or "").strip()  # its help: the docstring, whole


@pytest.mark.parametrize("text", [f"{name} 1" if name == "cancel" else name for name in COMMANDS])
def test_without_a_channel_each_command_says_how_to_give_one_and_changes_nothing(
    store, changes, text
):
    reply = say(store, text, changes=changes, channel="")
    assert "--channel C123" in reply["text"]
    assert changes.count == 0
    assert Desk(store.db).subscriptions() == [] and Desk(store.db).pauses() == {}


# -- subscribe ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "offsets", "kinds", "tz"),
    [
        ("subscribe reminders", DEFAULT_OFFSETS, DEFAULT_KINDS, "Asia/Seoul"),
        ("subscribe reminders 14d 2d 1h", ("14d", "2d", "1h"), DEFAULT_KINDS, "Asia/Seoul"),
        ("subscribe reminders som summit", DEFAULT_OFFSETS, ("som", "summit"), "Asia/Seoul"),
        ("subscribe reminders som 14d 2d tz Asia/Tokyo", ("14d", "2d"), ("som",), "Asia/Tokyo"),
        (
            "subscribe reminders tz asia/tokyo 2d summits ministerials",
            ("2d",),
            ("summit", "ministerial"),
            "Asia/Tokyo",
        ),
        ("subscribe reminders 0h soms 1d 1d", ("1d", "0d"), ("som",), "Asia/Seoul"),
        ("subscribe reminder 365d", ("365d",), DEFAULT_KINDS, "Asia/Seoul"),
    ],
)
def test_subscribe_reminders_reads_kinds_offsets_and_zone_in_any_order(
    store, changes, text, offsets, kinds, tz
):
    reply = say(store, text, changes=changes)
    sub = Desk(store.db).subscription("C1", "reminders")
    assert sub is not None
    assert (sub.offsets, sub.kinds, sub.tz, sub.created_by) == (offsets, kinds, tz, "U1")
    assert changes.count == 1
    assert "This channel now gets" in reply["text"]


def test_subscribe_reminders_reply_names_the_next_reminder_and_the_month_only_som3(store):
    text = say(store, "subscribe reminders", JULY)["text"]
    assert "7 days before, 1 day before and on the first day" in text
    assert "Next: Wed 11 Nov 2026 09:00 (Asia/Seoul)" in text and "AELM 2026" in text
    assert "no reminders until dated" in text and "SOM3" in text


@pytest.mark.parametrize(
    ("text", "cadence", "weekday", "at_time", "tz"),
    [
        ("subscribe digest", "weekly", 0, "09:00", "Asia/Seoul"),
        ("subscribe digest weekly monday 09:00", "weekly", 0, "09:00", "Asia/Seoul"),
        ("subscribe digest daily 08:30", "daily", 0, "08:30", "Asia/Seoul"),
        ("subscribe digest daily 8:30am", "daily", 0, "08:30", "Asia/Seoul"),
        ("subscribe digest weekly friday 17:00", "weekly", 4, "17:00", "Asia/Seoul"),
        ("subscribe digest weekly fri 5pm", "weekly", 4, "17:00", "Asia/Seoul"),
        ("subscribe digest wed 9am tz UTC", "weekly", 2, "09:00", "UTC"),
        ("subscribe digest weekly on thursday at 9 am", "weekly", 3, "09:00", "Asia/Seoul"),
        ("subscribe digest 9:00 sun", "weekly", 6, "09:00", "Asia/Seoul"),
        ("subscribe digest daily 12am", "daily", 0, "00:00", "Asia/Seoul"),
    ],
)
def test_subscribe_digest_reads_cadence_weekday_time_and_zone(
    store, changes, text, cadence, weekday, at_time, tz
):
    say(store, text, changes=changes)
    sub = Desk(store.db).subscription("C1", "digest")
    assert sub is not None
    assert (sub.cadence, sub.weekday, sub.at_time, sub.tz) == (cadence, weekday, at_time, tz)
    assert changes.count == 1


def test_a_subscription_made_without_a_zone_keeps_the_zone_already_set_for_the_channel(store):
    say(store, "subscribe reminders tz Asia/Tokyo")
    say(store, "subscribe digest")
    assert Desk(store.db).subscription("C1", "digest").tz == "Asia/Tokyo"


def test_subscribing_again_changes_the_subscription_rather_than_adding_one(store):
    say(store, "subscribe reminders")
    say(store, "subscribe reminders som 2d")
    (sub,) = Desk(store.db).subscriptions("C1")
    assert (sub.offsets, sub.kinds) == (("2d",), ("som",))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("subscribe", "`reminders` (before meetings) or a `digest`"),
        ("subscribe news", "I can't subscribe to `news`"),
        ("subscribe reminders tz Mars/Base", "I don't know the time zone `Mars/Base`"),
        ("subscribe reminders tz ../../etc/passwd", "I don't know the time zone"),
        ("subscribe reminders tz", "`tz` needs a zone after it"),
        ("subscribe reminders 0x", "`0x` is not an offset"),
        ("subscribe reminders 999d", "`999d` is more than a year before"),
        ("subscribe reminders 366d", "more than a year before"),
        ("subscribe reminders 1000d", "too many digits"),
        ("subscribe reminders conferences", "I don't understand `conferences`"),
        ("subscribe reminders <!channel>", "`&lt;!channel&gt;`"),
        ("subscribe reminders 1d 2d 3d 4d 5d 6d 7d 8d 9d 10d 11d", "10 at most"),
        ("subscribe digest 25:00", "I don't understand `25:00`"),
        ("subscribe digest 13pm", "I don't understand `13pm`"),
        ("subscribe digest fortnightly", "I don't understand `fortnightly`"),
        ("subscribe digest daily monday", "A daily digest comes every day"),
    ],
)
def test_subscribe_with_bad_input_explains_with_usage_and_changes_nothing(
    store, changes, text, says
):
    reply = say(store, text, changes=changes)
    blocks = json.dumps(reply["blocks"])
    assert says in blocks
    assert "Usage: `/apec subscribe" in reply["text"]
    assert Desk(store.db).subscriptions() == []
    assert changes.count == 0


# -- unsubscribe ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "left"),
    [
        ("unsubscribe", []),
        ("unsubscribe all", []),
        ("unsubscribe reminders", ["digest"]),
        ("unsubscribe digest", ["reminders"]),
    ],
)
def test_unsubscribe_stops_what_it_names_or_both(store, changes, text, left):
    say(store, "subscribe reminders")
    say(store, "subscribe digest")
    reply = say(store, text, changes=changes)
    assert [s.kind for s in Desk(store.db).subscriptions("C1")] == left
    assert "Stopped" in reply["text"]
    assert changes.count == 1


def test_unsubscribe_with_nothing_to_stop_says_so_without_a_change(store, changes):
    reply = say(store, "unsubscribe", changes=changes)
    assert "had no subscriptions to stop" in reply["text"]
    assert changes.count == 0


def test_unsubscribe_from_something_unknown_gets_usage(store, changes):
    say(store, "subscribe reminders")
    reply = say(store, "unsubscribe news", changes=changes)
    assert "say `reminders` or `digest`" in reply["text"] and "Usage:" in reply["text"]
    assert changes.count == 0 and len(Desk(store.db).subscriptions("C1")) == 1


def test_unsubscribe_in_the_reminder_channel_says_it_still_gets_reminders(store):
    say(store, "subscribe reminders")
    reply = say(store, "unsubscribe", reminder_channel="C1")
    assert "APEC_REMINDER_CHANNEL" in reply["text"]


# -- subscriptions --------------------------------------------------------------------------


def test_subscriptions_shows_each_subscription_with_its_settings(store):
    say(store, "subscribe reminders som 14d tz Asia/Tokyo")
    say(store, "subscribe digest daily 08:30")
    text = say(store, "subscriptions")["text"]
    assert "Reminders before every SOM on record: 14 days before" in text
    assert "Asia/Tokyo" in text
    assert "Digest daily at 08:30 Asia/Tokyo" in text
    assert "Not paused." in text


def test_subscriptions_without_any_says_how_to_subscribe(store):
    text = say(store, "subscriptions")["text"]
    assert "no subscriptions" in text and "/apec subscribe reminders" in text


def test_subscriptions_shows_the_last_success_and_the_last_failure_with_its_error(store):
    desk = Desk(store.db)
    say(store, "subscribe reminders")
    due = seoul("2026-10-01T09:00")
    desk.claim("digest:C1:2026-10-01", "C1", "digest", "", due, "h1", 0.0)
    desk.record_sent("digest:C1:2026-10-01", "1700000000.0001", late=False)
    desk.claim("digest:C1:2026-10-08", "C1", "digest", "", seoul("2026-10-08T09:00"), "h1", 0.0)
    desk.record_failed("digest:C1:2026-10-08", "not_in_channel", retry=False)
    text = say(store, "subscriptions")["text"]
    assert "Last post: digest due Thu 1 Oct 2026 09:00 (Asia/Seoul)" in text
    assert "Last failure: digest due Thu 8 Oct 2026 09:00 (Asia/Seoul) — `not_in_channel`" in text


def test_subscriptions_in_the_reminder_channel_says_it_gets_som_and_summit_reminders_anyway(store):
    text = say(store, "subscriptions", reminder_channel="C1")["text"]
    assert "APEC_REMINDER_CHANNEL" in text and "SOM and Leaders' Summit reminders" in text
    assert "APEC_REMINDER_CHANNEL" not in say(store, "subscriptions", reminder_channel="C9")["text"]


# -- reminders (what is queued) -------------------------------------------------------------


def test_reminders_in_july_list_nothing_for_som3_and_note_it_is_known_only_to_the_month(store):
    say(store, "subscribe reminders", JULY)
    reply = say(store, "reminders", JULY)
    assert queued_lines(reply) == []
    assert "Nothing is queued for this channel in the next 30 days" in reply["text"]
    assert "no reminders until dated" in reply["text"] and "SOM3" in reply["text"]


def test_reminders_in_november_list_the_leaders_summit_reminders_in_seoul_time(store):
    say(store, "subscribe reminders", JULY)
    reply = say(store, "reminders", NOV)
    lines = queued_lines(reply)
    assert [line.split(" — ")[0] for line in lines] == [
        "1. Wed 11 Nov 2026 09:00 (Asia/Seoul)",
        "2. Tue 17 Nov 2026 09:00 (Asia/Seoul)",
        "3. Wed 18 Nov 2026 09:00 (Asia/Seoul)",
    ]
    assert all("reminder" in line and "AELM 2026" in line for line in lines)
    assert "7 days before" in lines[0] and "on the first day" in lines[2]
    blocks = json.dumps(reply["blocks"])
    for moment in ("2026-11-11T09:00", "2026-11-17T09:00", "2026-11-18T09:00"):
        assert token(seoul(moment)) in blocks


def test_reminders_in_the_channel_zone_fall_at_nine_there(store):
    say(store, "subscribe reminders summit 1d tz America/New_York", JULY)
    (line,) = queued_lines(say(store, "reminders", NOV))
    assert line.startswith("1. Tue 17 Nov 2026 09:00 (America/New_York)")


def test_reminders_leave_out_posts_already_in_the_delivery_log(store):
    say(store, "subscribe reminders", JULY)
    desk = Desk(store.db)
    key = "reminder:C1:aelm-2026:2026-11-18:7d"
    desk.claim(key, "C1", "reminder", "aelm-2026", seoul("2026-11-11T09:00"), "h1", 0.0)
    desk.record_sent(key, "1.2", late=False)
    lines = queued_lines(say(store, "reminders", NOV))
    assert len(lines) == 2 and "Wed 11 Nov" not in "".join(lines)


def test_reminders_keep_a_post_waiting_for_a_retry(store):
    say(store, "subscribe reminders", JULY)
    desk = Desk(store.db)
    key = "reminder:C1:aelm-2026:2026-11-18:7d"
    desk.claim(key, "C1", "reminder", "aelm-2026", seoul("2026-11-11T09:00"), "h1", 0.0)
    desk.record_failed(key, "ratelimited", retry=True)
    assert len(queued_lines(say(store, "reminders", NOV))) == 3


def test_reminders_list_the_reminder_channel_s_som_and_summit_reminders_without_a_subscription(
    store,
):
    lines = queued_lines(say(store, "reminders", NOV, reminder_channel="C1"))
    assert len(lines) == 3 and "APEC_REMINDER_CHANNEL" in lines[0]
    assert queued_lines(say(store, "reminders", NOV, reminder_channel="C9")) == []


def test_reminders_merge_one_offs_and_digests_in_time_order(store):
    say(store, "subscribe reminders summit 1d", JULY)
    say(store, "subscribe digest weekly tuesday 08:00", NOV)
    say(store, "remind tomorrow 9am prep the brief", NOV)
    lines = queued_lines(say(store, "reminders", NOV))
    assert lines[0].startswith("1. Mon 2 Nov 2026 09:00") and "“prep the brief”" in lines[0]
    assert "asked by <@U1>" in lines[0]
    assert lines[1].startswith("2. Tue 3 Nov 2026 08:00") and "digest" in lines[1]
    assert any("Tue 17 Nov 2026 09:00" in line and "reminder" in line for line in lines)


# -- remind ---------------------------------------------------------------------------------


def test_remind_som3_before_it_is_dated_is_refused_with_the_reason(store, changes):
    reply = say(store, "remind SOM3 3 days before", NOV, changes)
    assert "known only to the month" in reply["text"] and "August 2026" in reply["text"]
    assert "won't make up a time" in reply["text"]
    assert Desk(store.db).one_offs() == [] and changes.count == 0


@pytest.mark.parametrize(
    ("text", "due", "offset"),
    [
        ("remind summit 1 day before", "2026-11-17T09:00", "1d"),
        ("remind summit 2 hours before", "2026-11-18T07:00", "2h"),
        ("remind AELM 2026 3 days before", "2026-11-15T09:00", "3d"),
        ("remind the summit one day before", "2026-11-17T09:00", "1d"),
        ("remind summit 2 weeks before", "2026-11-04T09:00", "14d"),
        ("remind summit 7d", "2026-11-11T09:00", "7d"),
        ("remind summit on the first day", "2026-11-18T09:00", "0d"),
    ],
)
def test_remind_a_meeting_queues_a_one_off_counted_back_from_its_first_day(
    store, changes, text, due, offset
):
    reply = say(store, text, NOV, changes)
    (one,) = Desk(store.db).one_offs("C1")
    assert one.due_at == seoul(due)
    assert (one.meeting_id, one.offset_text, one.tz, one.created_by) == (
        "aelm-2026",
        offset,
        "Asia/Seoul",
        "U1",
    )
    assert "Leaders' Meeting" in one.text and "18–19 November 2026" in one.text
    assert f"One-off #{one.id} queued" in reply["text"]
    assert token(seoul(due)) in json.dumps(reply["blocks"])
    assert changes.count == 1


def test_remind_an_unknown_meeting_suggests_close_names(store, changes):
    reply = say(store, "remind SOM9 3 days before", NOV, changes)
    assert "no meeting called `SOM9`" in reply["text"] and "SOM3" in reply["text"]
    assert changes.count == 0


@pytest.mark.parametrize(
    ("text", "now", "due", "body"),
    [
        ("remind tomorrow 9am prep", EVENING, "2026-11-02T09:00", "prep"),
        (
            "remind tomorrow 9am prepare SOM2 talking points",
            EVENING,
            "2026-11-02T09:00",
            "prepare SOM2 talking points",
        ),
        ("remind in 2 hours call Seoul", EVENING, "2026-11-01T22:00", "call Seoul"),
        ("remind next friday 15:00 send notes", EVENING, "2026-11-06T15:00", "send notes"),
        ("remind 2026-11-05 10:00 send the brief", EVENING, "2026-11-05T10:00", "send the brief"),
        (
            "remind tomorrow 9am call about SOM2 1 day before",
            EVENING,
            "2026-11-02T09:00",
            "call about SOM2 1 day before",
        ),
        # A day without a time of day falls at 09:00, as meeting reminders do.
        ("remind tomorrow prep", EVENING, "2026-11-02T09:00", "prep"),
        ("remind friday send notes", EVENING, "2026-11-06T09:00", "send notes"),
        # The issue: dateparser took the text's words for parts of the date.
        ("remind tomorrow 9am a & b", EVENING, "2026-11-02T09:00", "a & b"),
        ("remind in 1 hour a b c", EVENING, "2026-11-01T21:00", "a b c"),
        (
            "remind march 5 at 9am review the agenda",
            EVENING,
            "2027-03-05T09:00",
            "review the agenda",
        ),
        # The time at the end, and "to", as Slack's /remind takes them.
        ("remind tomorrow at 9am to call Seoul", EVENING, "2026-11-02T09:00", "call Seoul"),
        ("remind call Seoul in 2 hours", EVENING, "2026-11-01T22:00", "call Seoul"),
    ],
)
def test_remind_at_a_time_reads_the_time_at_the_start_or_the_end_and_keeps_the_rest_as_text(
    store, changes, text, now, due, body
):
    reply = say(store, text, now, changes)
    (one,) = Desk(store.db).one_offs("C1")
    assert (one.due_at, one.text, one.meeting_id) == (seoul(due), body, "")
    assert f"One-off #{one.id} queued for" in reply["text"]
    assert changes.count == 1


@pytest.mark.parametrize(
    ("text", "due", "body"),
    [
        ("remind me tomorrow at 9am call Tokyo", "2026-11-02T09:00", "call Tokyo"),
        ("remind me to call Seoul tomorrow at 9am", "2026-11-02T09:00", "call Seoul"),
    ],
)
def test_remind_me_is_a_direct_message_to_the_asker(store, changes, text, due, body):
    say(store, text, EVENING, changes)
    (one,) = Desk(store.db).one_offs()
    assert (one.channel, one.for_user, one.due_at, one.text) == ("U1", "", seoul(due), body)
    assert changes.count == 1


def test_remind_reads_the_time_in_the_asker_s_zone_not_the_channel_s(store):
    # The channel's subscription is in Tokyo, the desk in Seoul; the asker is in New York.
    say(store, "subscribe reminders tz Asia/Tokyo", EVENING)
    new_york = ZoneInfo("America/New_York")
    reply = say(store, "remind tomorrow 9am prep", EVENING, user_tz=new_york)
    (one,) = Desk(store.db).one_offs("C1")
    assert one.tz == "America/New_York"
    # Said at 06:00 on Sunday 1 November in New York (20:00 Seoul): tomorrow is the 2nd.
    assert one.due_at == datetime(2026, 11, 2, 9, 0, tzinfo=new_york)
    assert "(America/New_York)" in reply["text"] and "your time zone" in reply["text"]


def test_remind_without_the_asker_s_zone_reads_the_desk_s(store):
    reply = say(store, "remind tomorrow 9am prep", EVENING)
    (one,) = Desk(store.db).one_offs("C1")
    assert (one.tz, one.due_at) == ("Asia/Seoul", seoul("2026-11-02T09:00"))
    assert "the desk's time zone" in reply["text"]


@pytest.mark.parametrize(
    ("text", "due"),
    [
        # remind_spec: a bare hour with no day is the first of H:00 and (H+12):00 to come.
        ("remind me to call Tokyo at 3", "2026-11-02T03:00"),  # said 20:00: 15:00 has gone
        ("remind at 9 call Tokyo", "2026-11-01T21:00"),
        # With a day given, the morning one from 7 to 11, else the afternoon one.
        ("remind march 5 at 9 review the agenda", "2027-03-05T09:00"),
        ("remind tomorrow at 3 call", "2026-11-02T15:00"),
        ("remind tomorrow at 12 lunch", "2026-11-02T12:00"),
    ],
)
def test_remind_reads_a_bare_hour_as_its_next_sensible_occurrence(store, text, due):
    say(store, text, EVENING)
    (one,) = Desk(store.db).one_offs()
    assert one.due_at == seoul(due)


@pytest.mark.parametrize(
    ("text", "now", "says"),
    [
        ("remind yesterday 9am x", EVENING, "has passed"),
        ("remind today 9am x", EVENING, "has passed"),
        ("remind SOM2 1 day before", NOV, "has passed"),
        ("remind 2028-01-01 9am x", EVENING, "more than a year ahead"),
        ("remind summit 400 days before", NOV, "more than a year before"),
        ("remind tomorrow 9am", EVENING, "What should the reminder say?"),
        ("remind tomorrow 9am !!!", EVENING, "What should the reminder say?"),
        ("remind", EVENING, "When, and of what?"),
        ("remind a call with Seoul", EVENING, "I can't read a time at the start"),
        ("remind <!channel> now", EVENING, "`&lt;!channel&gt; now`"),
        ("remind feb 30 at 9am x", EVENING, "no such day: 30 February 2027"),
        ("remind this morning x", EVENING, "`this morning` (09:00) has passed"),
        ("remind @casey tomorrow 9am x", EVENING, "I can't tell who or where `@casey` is"),
    ],
)
def test_remind_refuses_past_far_empty_and_unreadable_times_with_usage(
    store, changes, text, now, says
):
    reply = say(store, text, now, changes)
    assert says in json.dumps(reply["blocks"])
    assert "Usage: `/apec remind" in reply["text"]
    assert Desk(store.db).one_offs() == [] and changes.count == 0


def test_remind_names_the_channel_s_zone_and_says_when_a_time_today_has_passed(store):
    reply = say(store, "remind at 3pm call Seoul", EVENING)
    (one,) = Desk(store.db).one_offs("C1")
    assert one.due_at == seoul("2026-11-02T15:00")  # the next 3pm, as Slack's /remind has it
    assert "Mon 2 Nov 2026 15:00 in Asia/Seoul" in reply["text"]
    assert "has passed today, so this is tomorrow's" in reply["text"]


def test_remind_keeps_hostile_text_as_written_and_escapes_it_in_the_reply(store):
    reply = say(store, "remind tomorrow 9am <!channel> & <@U2> `x`", EVENING)
    (one,) = Desk(store.db).one_offs("C1")
    assert one.text == "<!channel> & <@U2> `x`"
    blocks = json.dumps(reply["blocks"])
    assert "&lt;!channel&gt; &amp; &lt;@U2&gt;" in blocks and "<!channel>" not in blocks


# -- for whom, and again and again ----------------------------------------------------------


def test_remind_a_person_is_a_direct_message_to_them_naming_the_asker(store, changes):
    reply = say(store, "remind <@U2|ann> tomorrow 9am send the cables", EVENING, changes)
    (one,) = Desk(store.db).one_offs()
    assert (one.channel, one.for_user, one.created_by, one.text) == (
        "U2",
        "U2",
        "U1",
        "send the cables",
    )
    assert "for <@U2> (a direct message saying you asked)" in reply["text"]
    assert changes.count == 1


def test_remind_a_channel_the_bot_is_in_posts_there(store, changes):
    asked = []

    def member_of(channel: str) -> bool:
        asked.append(channel)
        return True

    reply = say(store, "remind <#C9|apec-desk> at 3pm call", EVENING, changes, member_of=member_of)
    (one,) = Desk(store.db).one_offs()
    assert (one.channel, one.for_user) == ("C9", "") and asked == ["C9"]
    assert "in <#C9>" in reply["text"]


def test_remind_a_channel_the_bot_is_not_in_is_refused_with_the_reason(store, changes):
    reply = say(
        store, "remind <#C9|apec-desk> at 3pm call", EVENING, changes, member_of=lambda c: False
    )
    assert "I'm not in <#C9>" in reply["text"] and "/invite" in reply["text"]
    assert Desk(store.db).one_offs() == [] and changes.count == 0


def test_remind_me_needs_to_know_who_asks(store, changes):
    reply = say(store, "remind me tomorrow 9am x", EVENING, changes, user="")
    assert "`remind me` needs to know who you are" in reply["text"]
    assert Desk(store.db).one_offs() == [] and changes.count == 0


def test_remind_me_works_without_a_channel(store, changes):
    say(store, "remind me tomorrow 9am x", EVENING, changes, channel="")
    (one,) = Desk(store.db).one_offs()
    assert one.channel == "U1" and changes.count == 1


def test_remind_every_keeps_a_recurring_reminder_and_names_its_next_three(store, changes):
    reply = say(store, "remind every monday at 9am send the weekly APEC note", EVENING, changes)
    (rec,) = Desk(store.db).recurring()
    assert (rec.target, rec.tz, rec.rule, rec.start, rec.text, rec.created_by) == (
        "C1",
        "Asia/Seoul",
        "FREQ=WEEKLY;BYDAY=MO",
        datetime(2026, 11, 2, 9, 0),
        "send the weekly APEC note",
        "U1",
    )
    blocks = json.dumps(reply["blocks"])
    assert f"Recurring reminder #{rec.id}: every Monday at 09:00 (Asia/Seoul)" in reply["text"]
    for day in ("2026-11-02", "2026-11-09", "2026-11-16"):
        assert token(seoul(f"{day}T09:00")) in blocks
    assert changes.count == 1


def test_remind_every_in_the_asker_s_zone_keeps_its_wall_time_across_a_clock_change(store):
    new_york = ZoneInfo("America/New_York")
    now = datetime(2026, 10, 30, 12, 0, tzinfo=new_york)  # a Friday; clocks go back on Sunday
    say(store, "remind me every day at 9am stand up", now, user_tz=new_york)
    (rec,) = Desk(store.db).recurring()
    assert (rec.target, rec.tz, rec.start) == ("U1", "America/New_York", datetime(2026, 10, 31, 9))
    reply = say(store, "reminders", now, user_tz=new_york)
    assert "every day at 09:00 (America/New_York)" in reply["text"]


def test_remind_every_until_a_meeting_ends_before_it_and_may_take_its_text(store):
    reply = say(store, "remind every monday until summit", NOV)
    (rec,) = Desk(store.db).recurring()
    assert rec.meeting_id == "aelm-2026" and rec.until_text == "until summit"
    assert rec.text.startswith("AELM 2026") and "opens 18–19 November 2026" in rec.text
    # Mondays 2, 9 and 16 November; the summit opens Wednesday 18 November.
    assert f"The last, until summit: {token(seoul('2026-11-16T09:00'))}" in json.dumps(
        reply["blocks"]
    )


def test_remind_every_until_a_meeting_known_only_to_the_month_is_refused(store, changes):
    reply = say(store, "remind every monday until SOM3 x", JULY, changes)
    assert "SOM3 is known only to the month" in reply["text"]
    assert Desk(store.db).recurring() == [] and changes.count == 0


def test_reminders_number_the_channel_s_queue_its_recurring_and_the_asker_s_own(store):
    say(store, "remind tomorrow 9am prep the brief", EVENING)
    say(store, "remind every friday at 5pm file the week's cables", EVENING)
    say(store, "remind me every weekday at 8:30 read the wires", EVENING)
    say(store, "remind me in 2 hours call Seoul", EVENING)
    text = say(store, "reminders", EVENING)["text"]
    lines = queued_lines({"text": text})
    assert lines[0].startswith("1. Mon 2 Nov 2026 09:00") and "prep the brief" in lines[0]
    assert lines[1].startswith("2. every Friday at 17:00") and "file the week's cables" in lines[1]
    assert lines[2].startswith("3. ") and "call Seoul" in lines[2] and "for you" in lines[2]
    assert lines[3].startswith("4. every weekday at 08:30") and "read the wires" in lines[3]
    assert "Recurring in this channel (1)" in text and "Your reminders elsewhere (2)" in text
    # Another person in the channel sees the channel's, not the first one's own.
    other = queued_lines(say(store, "reminders", EVENING, user="U3"))
    assert len(other) == 2


def test_cancel_a_recurring_reminder_by_its_number_stops_it(store, changes):
    say(store, "remind every friday at 5pm file cables", EVENING)
    reply = say(store, "cancel 1", EVENING, changes)
    assert "Cancelled #1: recurring reminder #1, every Friday at 17:00" in reply["text"]
    assert Desk(store.db).recurring() == [] and changes.count == 1


@pytest.mark.parametrize("text", ["cancel 1", "pause 1", "resume 1"])
def test_a_reminder_between_two_others_is_not_a_third_person_s_to_change(store, changes, text):
    say(store, "remind <@U2> every friday at 5pm file cables", EVENING)
    if text == "resume 1":
        say(store, "pause 1", EVENING)
    before = Desk(store.db).recurring()
    # U3 is none of them, and sees it in the channel's list only if it is posted there: it is
    # not, so #1 is nothing of theirs.
    reply = say(store, text, EVENING, changes, user="U3")
    assert "Nothing is queued" in reply["text"] or "There is no #1" in reply["text"]
    assert Desk(store.db).recurring() == before and changes.count == 0


def test_a_channel_s_recurring_reminder_is_changed_only_by_its_asker_or_an_admin(store, changes):
    say(store, "remind every friday at 5pm file cables", EVENING)
    refused = say(store, "cancel 1", EVENING, changes, user="U3")
    assert "only <@U1> or an admin can change this reminder" in refused["text"]
    assert len(Desk(store.db).recurring()) == 1 and changes.count == 0
    done = say(store, "pause 1", EVENING, changes, user="U3", admin=True)
    assert "Paused #1" in done["text"] and Desk(store.db).recurring()[0].paused
    assert changes.count == 1


def test_the_person_reminded_may_cancel_what_was_set_for_them(store):
    say(store, "remind <@U2> every friday at 5pm file cables", EVENING)
    reply = say(store, "cancel 1", EVENING, user="U2", channel="D2")
    assert "Cancelled #1" in reply["text"] and Desk(store.db).recurring() == []


def test_pause_and_resume_a_recurring_reminder_by_number(store, changes):
    say(store, "remind every friday at 5pm file cables", EVENING)
    paused = say(store, "pause 1", EVENING, changes)
    assert "Paused #1" in paused["text"] and "skipped, not sent later" in paused["text"]
    assert "· paused ·" in say(store, "reminders", EVENING)["text"]
    again = say(store, "pause 1", EVENING, changes)
    assert "is already paused" in again["text"]
    resumed = say(store, "resume 1", EVENING, changes)
    assert "Resumed #1" in resumed["text"]
    assert token(seoul("2026-11-06T17:00")) in json.dumps(resumed["blocks"])
    assert not Desk(store.db).recurring()[0].paused and changes.count == 2
    assert Desk(store.db).pauses() == {}  # the channel itself was never paused


def test_pause_a_number_that_is_not_a_recurring_reminder_says_so(store, changes):
    say(store, "remind tomorrow 9am prep", EVENING)
    reply = say(store, "pause 1", EVENING, changes)
    assert "#1 is not a recurring reminder" in reply["text"] and changes.count == 0
    assert Desk(store.db).pauses() == {}


# -- cancel ---------------------------------------------------------------------------------


def test_cancel_a_subscription_reminder_removes_it_from_reminders(store, changes):
    say(store, "subscribe reminders", JULY)
    reply = say(store, "cancel 1", NOV, changes)
    assert "Cancelled #1" in reply["text"] and "7 days before AELM 2026" in reply["text"]
    assert "the subscription stands" in reply["text"]
    lines = queued_lines(say(store, "reminders", NOV))
    assert [line.split(" — ")[0] for line in lines] == [
        "1. Tue 17 Nov 2026 09:00 (Asia/Seoul)",
        "2. Wed 18 Nov 2026 09:00 (Asia/Seoul)",
    ]
    entry = Desk(store.db).delivery("reminder:C1:aelm-2026:2026-11-18:7d")
    assert entry is not None and entry.status == "cancelled" and entry.error == "cancelled by <@U1>"
    assert changes.count == 1


def test_cancel_a_one_off_cancels_it_in_the_desk(store, changes):
    say(store, "remind tomorrow 9am prep", EVENING)
    reply = say(store, "cancel 1", EVENING, changes)
    assert "one-off #1 “prep”" in reply["text"]
    assert Desk(store.db).one_offs() == []
    assert queued_lines(say(store, "reminders", EVENING)) == []
    assert changes.count == 1


def test_cancel_a_digest_skips_that_one_digest_only(store):
    say(store, "subscribe digest daily 08:00", EVENING)
    before = queued_lines(say(store, "reminders", EVENING))
    say(store, "cancel 1", EVENING)
    after = queued_lines(say(store, "reminders", EVENING))
    assert len(after) == len(before) - 1
    assert Desk(store.db).delivery("digest:C1:2026-11-02").status == "cancelled"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("cancel abc", "`abc` is not the number of a post"),
        ("cancel", "Give the number of a post"),
        ("cancel 99", "There is no #99: `/apec reminders` lists 3 posts queued here"),
        ("cancel 0", "There is no #0"),
        ("cancel -1", "is not the number"),
        ("cancel 1 2", "is not the number"),
    ],
)
def test_cancel_with_a_bad_number_names_the_list_size_and_changes_nothing(
    store, changes, text, says
):
    say(store, "subscribe reminders", JULY)
    reply = say(store, text, NOV, changes)
    assert says in reply["text"] and "Usage: `/apec cancel N`" in reply["text"]
    assert len(queued_lines(say(store, "reminders", NOV))) == 3
    assert changes.count == 0


def test_cancel_with_nothing_queued_says_so(store, changes):
    reply = say(store, "cancel 1", NOV, changes)
    assert "Nothing is queued" in reply["text"] and changes.count == 0


# -- pause and resume -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "until"),
    [
        ("pause until friday", "2026-11-07T00:00"),  # through Friday: resumes Saturday 00:00
        ("pause until 2026-11-20", "2026-11-21T00:00"),
        ("pause till tomorrow", "2026-11-03T00:00"),
        ("pause until next week", "2026-11-09T00:00"),  # through Sunday of next week
        ("pause until tomorrow 15:00", "2026-11-02T15:00"),  # a time of day: that moment
        ("pause friday", "2026-11-07T00:00"),
    ],
)
def test_pause_until_a_day_lasts_to_the_end_of_that_day_in_the_channel_zone(
    store, changes, text, until
):
    reply = say(store, text, EVENING, changes)
    pause = Desk(store.db).pauses()["C1"]
    assert pause.until == seoul(until) and pause.paused_by == "U1"
    assert "posts resume" in reply["text"] and token(seoul(until)) in json.dumps(reply["blocks"])
    assert changes.count == 1


def test_pause_alone_lasts_until_resumed(store, changes):
    reply = say(store, "pause", EVENING, changes)
    assert Desk(store.db).pauses()["C1"].until is None
    assert "/apec resume" in reply["text"] and changes.count == 1


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("pause until 2026-05-20", "has passed"),
        ("pause until blah", "I can't read `blah` as a day"),
        ("pause until 2030", "more than a year off"),
    ],
)
def test_pause_with_a_bad_date_explains_and_changes_nothing(store, changes, text, says):
    reply = say(store, text, EVENING, changes)
    assert says in reply["text"] and "Usage: `/apec pause" in reply["text"]
    assert Desk(store.db).pauses() == {} and changes.count == 0


def test_pause_and_resume_show_in_subscriptions(store, changes):
    say(store, "subscribe reminders", EVENING)
    say(store, "pause until friday", EVENING, changes)
    text = say(store, "subscriptions", EVENING)["text"]
    assert "paused until Sat 7 Nov 2026 00:00 (Asia/Seoul)" in text
    reply = say(store, "resume", EVENING, changes)
    assert "Resumed" in reply["text"]
    assert "Not paused." in say(store, "subscriptions", EVENING)["text"]
    assert changes.count == 2


def test_a_pause_that_has_ended_no_longer_shows(store):
    say(store, "pause until friday", EVENING)
    assert "Not paused." in say(store, "subscriptions", at("2026-11-07T00:00+09:00"))["text"]


def test_reminders_while_paused_say_so_and_mark_the_posts_that_will_be_skipped(store):
    say(store, "subscribe reminders", JULY)
    say(store, "pause until 2026-11-16", NOV)
    reply = say(store, "reminders", NOV)
    assert "paused until Tue 17 Nov 2026 00:00 (Asia/Seoul)" in reply["text"]
    lines = queued_lines(reply)
    assert "will be skipped" in lines[0]
    assert "will be skipped" not in lines[1] and "will be skipped" not in lines[2]


def test_resume_when_not_paused_says_so_without_a_change(store, changes):
    reply = say(store, "resume", EVENING, changes)
    assert "not paused" in reply["text"] and changes.count == 0


# -- on_change ------------------------------------------------------------------------------


def test_on_change_is_called_once_for_each_command_that_changed_the_schedule(store, changes):
    steps = [
        ("subscribe reminders", 1),
        ("subscriptions", 0),
        ("reminders", 0),
        ("subscribe reminders 0x", 0),
        ("remind summit 1 day before", 1),
        ("remind SOM3 1 day before", 0),
        ("cancel 1", 1),
        ("cancel 99", 0),
        ("pause", 1),
        ("resume", 1),
        ("resume", 0),
        ("unsubscribe", 1),
        ("unsubscribe", 0),
    ]
    for text, expected in steps:
        before = changes.count
        say(store, text, NOV, changes)
        assert changes.count - before == expected, text


# -- any input ------------------------------------------------------------------------------


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.sampled_from(COMMANDS), rest=st.text(max_size=200))
def test_any_text_after_a_schedule_command_gets_a_reply_not_an_exception(store, name, rest):
    reply = say(store, f"{name} {rest}", EVENING)
    assert reply["text"].strip()
    assert len(reply["blocks"]) <= 50
