"""store/remind.py: the grammar of `/remind` (issue 20), read in the asker's zone, across clock
changes; the rules it makes are the ones the desk keeps and the scheduler posts.

Calendar used: 2026-11-04 is a Wednesday. US clocks go forward at 02:00 on Sunday 8 March 2026
and back at 02:00 on Sunday 1 November 2026; UK clocks back at 01:00 UTC on Sunday 25 October
2026; Sydney's forward at 02:00 on Sunday 4 October 2026.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store.desk import check_rule
from store.remind import (
    WHEN_RULES,
    Before,
    Every,
    Once,
    RemindError,
    Target,
    read_request,
)

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")
KOLKATA = ZoneInfo("Asia/Kolkata")
UTC = ZoneInfo("UTC")
WED = "2026-11-04T10:00+09:00"  # Wednesday morning in Seoul


def read(text: str, now: str = WED, zone: ZoneInfo = SEOUL, meeting=lambda name: None):
    return read_request(text, datetime.fromisoformat(now), zone, meeting=meeting)


def local(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%dT%H:%M}"


def due(text: str, now: str = WED, zone: ZoneInfo = SEOUL) -> str:
    when = read(text, now, zone).when
    assert isinstance(when, Once), when
    return local(when.due, zone)


# -- the rule table --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "example"), [(rule.name, example) for rule in WHEN_RULES for example in rule.examples]
)
def test_every_example_of_a_rule_reads_whole_as_that_rule(rule, example):
    request = read(f"{example} x", meeting=lambda name: None)
    assert request.phrase == example
    assert request.text == "x"
    if rule == "every":
        assert isinstance(request.when, Every)


# -- one-offs: the spec's phrases ------------------------------------------------------------


@pytest.mark.parametrize(
    ("say", "now", "expected"),
    [
        # elapsed time, and days on the calendar at the same time of day
        ("in 20 minutes x", WED, "2026-11-04T10:20"),
        ("in 2 hours x", WED, "2026-11-04T12:00"),
        ("in an hour x", WED, "2026-11-04T11:00"),
        ("in 3 days x", WED, "2026-11-07T10:00"),
        ("in 2 weeks x", WED, "2026-11-18T10:00"),
        ("in 2 weeks at 9am x", WED, "2026-11-18T09:00"),
        # the next such time: today if still to come, else tomorrow
        ("at 3pm x", WED, "2026-11-04T15:00"),
        ("at 15:00 x", WED, "2026-11-04T15:00"),
        ("at noon x", WED, "2026-11-04T12:00"),
        ("at midnight x", WED, "2026-11-05T00:00"),
        ("at 9am x", WED, "2026-11-05T09:00"),
        ("at 9:30 x", WED, "2026-11-05T09:30"),  # H:MM is a 24-hour clock
        ("at 17 x", WED, "2026-11-04T17:00"),  # 13-23: a 24-hour clock
        ("at 09 x", WED, "2026-11-05T09:00"),  # a leading zero: a 24-hour clock
        # the spec's bare hours: the first of H:00 and (H+12):00 still to come
        ("at 9 x", "2026-11-04T08:00+09:00", "2026-11-04T09:00"),
        ("at 9 x", "2026-11-04T10:00+09:00", "2026-11-04T21:00"),
        ("at 9 x", "2026-11-04T22:00+09:00", "2026-11-05T09:00"),
        ("at 12 x", "2026-11-04T13:00+09:00", "2026-11-05T00:00"),
        # ... and with a day, the morning one from 7 to 11, else the afternoon one
        ("tomorrow at 9 x", WED, "2026-11-05T09:00"),
        ("tomorrow at 3 x", WED, "2026-11-05T15:00"),
        ("tomorrow at 12 x", WED, "2026-11-05T12:00"),
        ("tomorrow at 7 x", WED, "2026-11-05T07:00"),
        ("tomorrow at 6 x", WED, "2026-11-05T18:00"),
        ("friday at 9 x", WED, "2026-11-06T09:00"),
        ("march 5 at 9 x", WED, "2027-03-05T09:00"),
        # day parts at their fixed hours
        ("tonight x", WED, "2026-11-04T20:00"),
        ("tonight at 8pm x", WED, "2026-11-04T20:00"),
        ("tonight at 11 x", WED, "2026-11-04T23:00"),  # a bare hour in its day part
        ("at 8pm tonight x", WED, "2026-11-04T20:00"),
        ("this afternoon x", WED, "2026-11-04T15:00"),
        ("this evening x", WED, "2026-11-04T18:00"),
        ("tomorrow morning x", WED, "2026-11-05T09:00"),
        ("tomorrow afternoon x", WED, "2026-11-05T15:00"),
        ("tomorrow evening at 7 x", WED, "2026-11-05T19:00"),
        ("monday morning x", WED, "2026-11-09T09:00"),
        ("friday afternoon x", WED, "2026-11-06T15:00"),
        # days; a day with no time of day falls at 09:00
        ("today at 5pm x", WED, "2026-11-04T17:00"),
        ("tomorrow x", WED, "2026-11-05T09:00"),
        ("friday x", WED, "2026-11-06T09:00"),
        ("wednesday at 11am x", WED, "2026-11-04T11:00"),  # today: still to come
        ("wednesday at 9am x", WED, "2026-11-11T09:00"),  # today's has passed
        ("next friday x", WED, "2026-11-06T09:00"),  # the first Friday after today
        ("next wednesday x", WED, "2026-11-11T09:00"),
        ("this friday at 10am x", WED, "2026-11-06T10:00"),
        ("next week monday 9am x", WED, "2026-11-09T09:00"),
        ("next week friday x", WED, "2026-11-13T09:00"),
        ("monday next week x", WED, "2026-11-09T09:00"),
        ("on the 1st x", WED, "2026-12-01T09:00"),
        ("on the 21st x", WED, "2026-11-21T09:00"),
        ("on the 4th at 3pm x", WED, "2026-11-04T15:00"),  # today's, still to come
        ("on the 4th at 9am x", WED, "2026-12-04T09:00"),  # today's has passed: next month's
        ("on the 31st x", WED, "2026-12-31T09:00"),  # November has no 31st
        ("on the first x", WED, "2026-12-01T09:00"),
        ("march 5 x", WED, "2027-03-05T09:00"),
        ("5 march x", WED, "2027-03-05T09:00"),
        ("the 5th of march at 2pm x", WED, "2027-03-05T14:00"),
        ("november 20th at 2:30 pm x", WED, "2026-11-20T14:30"),
        ("2026-11-20 x", WED, "2026-11-20T09:00"),
        ("on 2026-11-20 at 3pm x", WED, "2026-11-20T15:00"),
        ("nov 20, 2026 at 10am x", WED, "2026-11-20T10:00"),
        ("friday, november 6 at 9am x", WED, "2026-11-06T09:00"),
        ("9am tomorrow x", WED, "2026-11-05T09:00"),
        # two days on, not tomorrow with "the day after" left in the text
        ("the day after tomorrow at 9am x", WED, "2026-11-06T09:00"),
        ("day after tomorrow x", WED, "2026-11-06T09:00"),
        ("at 3pm on friday x", WED, "2026-11-06T15:00"),
        ("at noon on 2026-11-20 x", WED, "2026-11-20T12:00"),
    ],
)
def test_a_one_off_falls_where_the_spec_says(say, now, expected):
    assert due(say, now) == expected


@pytest.mark.parametrize(
    ("say", "now", "zone", "expected"),
    [
        # Clocks forward in New York: 02:30 does not exist; it falls at 03:30, as the clocks do.
        ("tomorrow at 2:30am x", "2026-03-07T12:00-05:00", NEW_YORK, "2026-03-08T03:30"),
        ("in 1 day x", "2026-03-07T12:00-05:00", NEW_YORK, "2026-03-08T12:00"),  # wall time kept
        ("in 24 hours x", "2026-03-07T12:00-05:00", NEW_YORK, "2026-03-08T13:00"),  # elapsed
        # Clocks back in New York: 01:30 happens twice; the first (EDT) is taken.
        ("tomorrow at 1:30am x", "2026-10-31T12:00-04:00", NEW_YORK, "2026-11-01T01:30"),
        ("in 6 hours x", "2026-10-31T22:00-04:00", NEW_YORK, "2026-11-01T03:00"),
        # London, the night clocks go back
        ("in 2 hours x", "2026-10-25T00:30+01:00", LONDON, "2026-10-25T01:30"),
        ("tomorrow at 9 x", "2026-10-24T23:00+01:00", LONDON, "2026-10-25T09:00"),
        # Sydney, the night clocks go forward: 02:30 falls at 03:30
        ("tomorrow at 2:30 x", "2026-10-03T20:00+10:00", SYDNEY, "2026-10-04T03:30"),
        # Kolkata (+05:30), near midnight
        ("at 9 x", "2026-11-04T23:50+05:30", KOLKATA, "2026-11-05T09:00"),
        ("in 15 minutes x", "2026-11-04T23:50+05:30", KOLKATA, "2026-11-05T00:05"),
        ("on the 4th x", "2026-11-04T23:50+05:30", KOLKATA, "2026-12-04T09:00"),
    ],
)
def test_a_one_off_is_read_on_the_asker_s_clocks_across_clock_changes(say, now, zone, expected):
    when = read(say, now, zone).when
    assert isinstance(when, Once)
    assert local(when.due, zone) == expected
    assert when.due.tzinfo is not None


def test_the_same_words_fall_at_each_asker_s_own_nine_o_clock():
    now = "2026-11-04T00:00+00:00"  # one instant, three askers
    seen = {zone.key: read("tomorrow at 9am x", now, zone).when.due for zone in (SEOUL, LONDON)}
    assert local(seen["Asia/Seoul"], SEOUL) == "2026-11-05T09:00"
    assert local(seen["Europe/London"], LONDON) == "2026-11-05T09:00"
    assert seen["Europe/London"] - seen["Asia/Seoul"] == timedelta(hours=9)


def test_a_passed_time_today_says_so_and_a_day_without_a_time_says_09_00():
    assert "has passed today, so this is tomorrow's" in read("at 9am x").when.note
    assert "No time of day given: 09:00" in read("friday x").when.note
    assert read("at 9 x").when.note == ""  # a bare hour: its next sensible one, nothing to say


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("say", "now", "says"),
    [
        ("this morning x", "2026-11-04T14:00+09:00", "`this morning` (09:00) has passed"),
        ("tonight x", "2026-11-04T21:00+09:00", "`tonight` (20:00) has passed"),
        ("today at 9am x", WED, "has passed"),
        ("yesterday x", WED, "has passed"),
        ("2026-10-01 10:00 x", WED, "has passed"),
        ("nov 4 at 9am x", WED, "has passed"),  # an explicit date and time gone by
        ("2028-01-01 x", WED, "more than a year ahead"),
        ("in 400 days x", WED, "more than a year ahead"),
        ("feb 30 at 9am x", WED, "no such day: 30 February 2027"),
        ("2026-13-01 x", WED, "no such month"),
        ("friday, november 7 at 9am x", WED, "is a Saturday, not a Friday"),
        ("in 1 hour at 9am x", WED, "not both"),
        ("tomorrow 9am", WED, "What should the reminder say?"),
        ("tomorrow 9am to", WED, "What should the reminder say?"),
        ("tomorrow 9am !!!", WED, "What should the reminder say?"),
        ("me", WED, "When, and of what?"),
        ("", WED, "When, and of what?"),
        ("a call with Seoul", WED, "I can't read a time"),
        ("at 25:00 x", WED, "I can't read a time"),
        ("tmrw at 9am x", WED, "I can't read a time"),  # not in the grammar: not guessed
        ("x sometime next week", WED, "I can't read a time"),
        ("@casey tomorrow 9am x", WED, "I can't tell who or where `@casey` is"),
        ("#apec-desk tomorrow 9am x", WED, "I can't tell who or where `#apec-desk` is"),
        ("every year on feb 30 x", WED, "no such day: 30 February"),
        ("every day until friday x", "2026-11-06T10:00+09:00", "ends before the first"),
        ("every monday until 2026-10-01 x", WED, "ends before the first"),
        ("every day until blah x", WED, "I can't read `blah x` as the end"),
        ("every year on feb 29 x", WED, "falls on no day in the coming year"),
        ("every 2 days on monday x", WED, "I can't read `every 2 days on monday`"),
        ("every day at noon and 5pm x", WED, "`5pm` needs a reminder of its own"),
        ("tomorrow at 9am and at 17:00 x", WED, "`at 17:00` needs a reminder of its own"),
    ],
)
def test_what_cannot_be_read_or_set_is_refused_with_a_reason(say, now, says):
    with pytest.raises(RemindError) as refused:
        read(say, now)
    assert says in str(refused.value)


# -- who -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("say", "target"),
    [
        ("tomorrow 9am x", Target("here")),
        ("me tomorrow 9am x", Target("me")),
        ("ME to x tomorrow 9am", Target("me")),
        ("<@U0ABC123|ann> tomorrow 9am x", Target("person", "U0ABC123")),
        ("<@U0ABC123> tomorrow 9am x", Target("person", "U0ABC123")),
        ("<@W0ABC123|ann> tomorrow 9am x", Target("person", "W0ABC123")),
        ("<#C0ABC123|apec-desk> tomorrow 9am x", Target("channel", "C0ABC123")),
        ("<#C0ABC123> tomorrow 9am x", Target("channel", "C0ABC123")),
        ("<#G0ABC123|> tomorrow 9am x", Target("channel", "G0ABC123")),  # Slack's newer form
        ("meet Kim tomorrow 9am", Target("here")),  # "meet" is not "me"
    ],
)
def test_who_is_read_from_the_first_word_as_slack_sends_it(say, target):
    assert read(say).target == target


def test_a_person_named_inside_the_text_is_text():
    request = read("tomorrow 9am ask <@U0ABC123|ann> about <#C0ABC123|apec-desk>")
    assert request.target == Target("here")
    assert request.text == "ask <@U0ABC123|ann> about <#C0ABC123|apec-desk>"


# -- the text --------------------------------------------------------------------------------


def test_a_number_after_and_is_text_not_a_second_time():
    assert read("tomorrow at 9am and 10 delegates arrive", WED).text == "and 10 delegates arrive"


@pytest.mark.parametrize(
    ("say", "text"),
    [
        ("me to call Seoul tomorrow at 9am", "call Seoul"),
        ("me to call Seoul the day after tomorrow at 9am", "call Seoul"),
        ("me that the forms are due tomorrow at 5pm", "the forms are due"),
        ("tomorrow at 9am to call Seoul", "call Seoul"),
        ("tomorrow at 9am to", None),
        ("tomorrow 9am to to the airport", "to the airport"),  # only one "to" goes
        ('"call Seoul" tomorrow at 9am', '"call Seoul"'),
        ('tomorrow 9am "meet at 3pm"', '"meet at 3pm"'),
        ("tomorrow 9am review the plan for friday", "review the plan for friday"),
        ("review the plan for friday tomorrow 9am", "review the plan for friday"),
        ("tomorrow 9am review the plan for friday at 3pm", "review the plan for friday at 3pm"),
        ("tomorrow at 9am: call Seoul", "call Seoul"),
        ("call Seoul, tomorrow at 9am.", "call Seoul"),
        ("tomorrow 9am <!channel> & <@U2> `x`", "<!channel> & <@U2> `x`"),
        ("tomorrow 9am 서울에 전화", "서울에 전화"),
        ("every monday at 9am send the weekly APEC note", "send the weekly APEC note"),
        ("send the weekly APEC note every monday at 9am", "send the weekly APEC note"),
        ("every day until friday send the SOM2 brief", "send the SOM2 brief"),
    ],
)
def test_the_text_is_kept_whole_less_a_leading_to_or_that(say, text):
    if text is None:
        with pytest.raises(RemindError, match="What should the reminder say"):
            read(say)
        return
    assert read(say).text == text


def test_a_long_text_is_read_in_a_bounded_time_and_kept_whole():
    words = " ".join(["tomorrow friday at 9 every monday"] * 300)
    request = read(f"in 2 hours {words}")
    assert request.text == words and local(request.when.due, SEOUL) == "2026-11-04T12:00"


# -- recurring -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("say", "rule", "start"),
    [
        ("every day at 5pm", "FREQ=DAILY", "2026-11-04T17:00"),
        ("every day", "FREQ=DAILY", "2026-11-05T09:00"),  # 09:00 today has passed
        ("daily at 9:30", "FREQ=DAILY", "2026-11-05T09:30"),
        ("every 3 days at noon", "FREQ=DAILY;INTERVAL=3", "2026-11-04T12:00"),
        ("every weekday at 8:30", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "2026-11-05T08:30"),
        ("every weekday morning", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "2026-11-05T09:00"),
        ("every weekend", "FREQ=WEEKLY;BYDAY=SA,SU", "2026-11-07T09:00"),
        ("every monday at 9am", "FREQ=WEEKLY;BYDAY=MO", "2026-11-09T09:00"),
        ("every wednesday at 11", "FREQ=WEEKLY;BYDAY=WE", "2026-11-04T11:00"),  # today's
        ("every monday and thursday at 10", "FREQ=WEEKLY;BYDAY=MO,TH", "2026-11-05T10:00"),
        ("every mon, wed and fri at 3", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "2026-11-04T15:00"),
        ("every other friday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR", "2026-11-06T09:00"),
        ("every 2 weeks on tuesday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", "2026-11-10T09:00"),
        (
            "every other week on monday and wednesday",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE",
            "2026-11-09T09:00",
        ),
        ("every week", "FREQ=WEEKLY;BYDAY=WE", "2026-11-11T09:00"),
        ("weekly on friday at 4pm", "FREQ=WEEKLY;BYDAY=FR", "2026-11-06T16:00"),
        ("every month on the 15th", "FREQ=MONTHLY;BYMONTHDAY=15", "2026-11-15T09:00"),
        ("every month on the 4th", "FREQ=MONTHLY;BYMONTHDAY=4", "2026-12-04T09:00"),
        ("on the first of every month", "FREQ=MONTHLY;BYMONTHDAY=1", "2026-12-01T09:00"),
        ("every 1st of the month at 8am", "FREQ=MONTHLY;BYMONTHDAY=1", "2026-12-01T08:00"),
        ("monthly on the 31st", "FREQ=MONTHLY;BYMONTHDAY=31", "2026-12-31T09:00"),
        ("every first monday of the month", "FREQ=MONTHLY;BYDAY=1MO", "2026-12-07T09:00"),
        ("every last friday of the month", "FREQ=MONTHLY;BYDAY=-1FR", "2026-11-27T09:00"),
        ("on the second tuesday of every month", "FREQ=MONTHLY;BYDAY=2TU", "2026-11-10T09:00"),
        ("every 3 months on the 15th", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=15", "2026-11-15T09:00"),
        ("every year on 18 november", "FREQ=YEARLY;BYMONTH=11;BYMONTHDAY=18", "2026-11-18T09:00"),
        ("every november 3", "FREQ=YEARLY;BYMONTH=11;BYMONTHDAY=3", "2027-11-03T09:00"),
        ("every morning", "FREQ=DAILY", "2026-11-05T09:00"),
        ("every evening", "FREQ=DAILY", "2026-11-04T18:00"),
        ("at 9am every monday", "FREQ=WEEKLY;BYDAY=MO", "2026-11-09T09:00"),
        (
            "every day at 5pm until 20 November",
            "FREQ=DAILY;UNTIL=20261120T235959",
            "2026-11-04T17:00",
        ),
        ("every day for 3 weeks", "FREQ=DAILY;UNTIL=20261125T235959", "2026-11-05T09:00"),
        (
            "every monday for 3 weeks",
            "FREQ=WEEKLY;BYDAY=MO;UNTIL=20261129T235959",
            "2026-11-09T09:00",
        ),
        ("every day until the 20th", "FREQ=DAILY;UNTIL=20261120T235959", "2026-11-05T09:00"),
    ],
)
def test_a_recurring_reminder_is_an_rrule_from_its_first_occurrence_still_to_come(say, rule, start):
    now = WED
    when = read(f"{say} x", now).when
    assert isinstance(when, Every)
    assert when.rule == rule
    assert f"{when.start:%Y-%m-%dT%H:%M}" == start and when.start.tzinfo is None
    assert when.first > datetime.fromisoformat(now)
    # The desk accepts it as stored: an RFC 5545 rule whose first occurrence is the start.
    assert check_rule(when.rule, when.start) == when.rule


def test_every_until_a_weekday_ends_on_the_next_such_day():
    when = read("every monday until friday x", "2026-11-07T10:00+09:00").when  # a Saturday
    assert when.rule == "FREQ=WEEKLY;BYDAY=MO;UNTIL=20261113T235959"


def test_every_other_friday_counts_its_fortnights_from_the_first():
    when = read("every other friday x").when
    walls = list(rrulestr(when.rule, dtstart=when.start).xafter(when.start, count=3, inc=True))
    assert [f"{w:%m-%d}" for w in walls] == ["11-06", "11-20", "12-04"]


def test_every_until_a_day_ends_on_that_day_with_its_last_occurrence():
    when = read("every day at 5pm until 20 November x").when
    walls = list(rrulestr(when.rule, dtstart=when.start))
    assert (
        f"{walls[0]:%m-%d %H:%M}" == "11-04 17:00" and f"{walls[-1]:%m-%d %H:%M}" == "11-20 17:00"
    )
    assert when.until_text == "until 20 November"


def test_a_recurring_time_stays_on_the_wall_clock_across_a_clock_change():
    when = read("every day at 9am x", "2026-03-06T12:00-05:00", NEW_YORK).when
    walls = list(rrulestr(when.rule, dtstart=when.start).xafter(when.start, count=4, inc=True))
    assert [f"{w:%d %H:%M}" for w in walls] == ["07 09:00", "08 09:00", "09 09:00", "10 09:00"]
    assert when.first.utcoffset() == timedelta(hours=-5)


def test_a_recurring_time_in_the_gap_keeps_its_wall_time_in_the_rule():
    # 02:30 on 8 March does not exist in New York; the rule keeps 02:30, the first post falls at
    # 03:30 that day (as the clocks do), and every other day at 02:30.
    when = read("every day at 2:30 x", "2026-03-07T12:00-05:00", NEW_YORK).when
    assert f"{when.start:%m-%d %H:%M}" == "03-08 02:30"
    assert local(when.first, NEW_YORK) == "2026-03-08T03:30"


# -- meetings --------------------------------------------------------------------------------


def test_before_a_meeting_reads_the_offset(store):
    request = read("me SOM2 3 days before", "2026-05-01T10:00+09:00", meeting=store.meeting)
    assert request.target == Target("me")
    assert isinstance(request.when, Before)
    assert (request.when.meeting.id, request.when.offset) == ("som2-2026", "3d")
    assert read("summit 2 weeks before", meeting=store.meeting).when.offset == "14d"
    assert read("summit on the first day", meeting=store.meeting).when.offset == "0d"


def test_before_a_meeting_more_than_a_year_is_refused(store):
    with pytest.raises(RemindError, match="more than a year before"):
        read("summit 400 days before", meeting=store.meeting)


def test_before_a_name_no_meeting_goes_by_says_the_name():
    with pytest.raises(RemindError) as refused:
        read("SOM9 3 days before")
    assert refused.value.meeting_name == "SOM9"


def test_every_until_a_meeting_ends_before_its_first_day(store):
    # SOM2 (the records as they stand) opens Monday 18 May 2026.
    when = read("every monday until SOM2 x", "2026-04-20T10:00+09:00", meeting=store.meeting).when
    assert isinstance(when, Every) and when.meeting.id == "som2-2026"
    assert "UNTIL" not in when.rule  # read when planning: a re-dated meeting moves the end
    assert f"{when.start:%m-%d}" == "04-27"


def test_every_until_a_meeting_without_text_takes_its_text_from_the_meeting(store):
    request = read("every monday until SOM2", "2026-04-20T08:00+09:00", meeting=store.meeting)
    assert request.text == "" and request.when.meeting.id == "som2-2026"


@pytest.mark.parametrize(
    ("say", "says"),
    [
        ("every monday until SOM3 x", "known only to the month"),
        ("every monday until SOM1 x", "begins before the first occurrence"),
    ],
)
def test_every_until_a_meeting_not_dated_or_begun_is_refused(store, say, says):
    with pytest.raises(RemindError, match=says):
        read(say, "2026-04-20T10:00+09:00", meeting=store.meeting)


# -- any input -------------------------------------------------------------------------------

_WORDS = st.sampled_from(
    "every other monday friday weekday weekend day week month year at 9 9am 17:30 noon "
    "tonight tomorrow morning on the 1st 15th first last of until for 3 weeks in 2 hours "
    "me <@U0ABC123|ann> <#C0ABC123> to that call Seoul and , next this 2026-11-20 march 5".split()
)


@settings(max_examples=400, deadline=None)
@given(
    words=st.lists(_WORDS, min_size=1, max_size=10),
    minutes=st.integers(0, 365 * 24 * 60),
    zone=st.sampled_from([SEOUL, NEW_YORK, LONDON, SYDNEY, KOLKATA, UTC]),
)
def test_any_words_give_a_request_whose_times_are_to_come_or_a_reason(words, minutes, zone):
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    try:
        request = read_request(" ".join(words), now, zone)
    except RemindError as refused:
        assert str(refused)
        return
    when = request.when
    if isinstance(when, Once):
        assert now < when.due <= now + timedelta(days=366)
    else:
        assert isinstance(when, Every)
        assert check_rule(when.rule, when.start) == when.rule
        assert when.first > now
        # the start is the rule's first occurrence still to come
        walls = rrulestr(when.rule, dtstart=when.start)
        earlier = walls.before(when.start)
        assert earlier is None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=300))
def test_any_text_gives_a_request_or_a_reason(text):
    try:
        read_request(text, datetime(2026, 11, 4, 1, 0, tzinfo=UTC), SEOUL)
    except RemindError as refused:
        assert str(refused)


def test_the_first_occurrence_is_today_s_when_its_time_has_not_passed():
    assert read("every day at 11am x").when.start.date() == date(2026, 11, 4)
    assert read("every day at 10am x").when.start.date() == date(2026, 11, 5)  # 10:00 is now


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("me every ſunday at 9am water the plants", "SU"),
        ("me every frıday at 9am send the notes", "FR"),
        ("me on ſeptember 9 at 9am file the report", None),
    ],
)
def test_names_in_look_alike_letters_read_as_the_grammar_matches_them(text, when):
    # The grammar matches a long s as "s" and a dotless i as "i": so does the name's lookup.
    when_read = read(text).when
    if when is None:
        assert isinstance(when_read, Once)
        assert (when_read.due.month, when_read.due.day, when_read.due.hour) == (9, 9, 9)
    else:
        assert isinstance(when_read, Every)
        assert f"BYDAY={when}" in when_read.rule
