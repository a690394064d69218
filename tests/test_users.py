"""A user's zone and the bot's membership, asked of the Web API stand-in over real HTTP."""

from __future__ import annotations

import threading
import time
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient

from bot.permissions import lookup_client
from bot.users import IN_FLIGHT, KEEP_FAILURE, KEEP_MEMBER, KEEP_ZONE, Membership, UserZones
from tests.conftest import BOT_TOKEN


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def zones(web_api, ticks) -> UserZones:
    return UserZones(lookup_client(web_api.url, BOT_TOKEN), ticks)


@pytest.fixture
def membership(web_api, ticks) -> Membership:
    return Membership(lookup_client(web_api.url, BOT_TOKEN), ticks)


def test_a_users_zone_is_asked_once_an_hour(zones, web_api, ticks):
    web_api.set_user("USEOUL", tz="Asia/Seoul")
    assert zones.zone("USEOUL") == ZoneInfo("Asia/Seoul")
    ticks.now += KEEP_ZONE - 1
    assert zones.zone("USEOUL") == ZoneInfo("Asia/Seoul")
    assert len(web_api.calls_to("users.info")) == 1
    web_api.set_user("USEOUL", tz="America/New_York")  # moved: seen once the hour is over
    ticks.now += 2
    assert zones.zone("USEOUL") == ZoneInfo("America/New_York")
    assert len(web_api.calls_to("users.info")) == 2


@pytest.mark.parametrize("tz", [None, "", "Not/AZone", "../../../etc/passwd", "/etc/localtime"])
def test_a_profile_without_a_usable_zone_gives_none(zones, web_api, tz):
    web_api.set_user("UODD", tz=tz)
    assert zones.zone("UODD") is None
    assert zones.zone("UODD") is None
    assert len(web_api.calls_to("users.info")) == 1  # kept as surely as a zone


def test_an_unknown_user_or_none_gives_none_and_is_not_asked_again(zones, web_api):
    assert zones.zone("") is None and web_api.calls_to("users.info") == []
    assert zones.zone("UGONE") is None and zones.zone("UGONE") is None
    assert len(web_api.calls_to("users.info")) == 1


@pytest.mark.parametrize("fault", ["rate_limit", "internal_error", "timeout"])
def test_a_failing_slack_gives_none_and_is_left_alone_for_a_while(web_api, ticks, fault):
    web_api.set_user("U1", tz="Asia/Seoul")
    web_api.set_user("U2", tz="Asia/Tokyo")
    client = WebClient(token=BOT_TOKEN, base_url=web_api.url, timeout=0.3)
    zones = UserZones(client, ticks)
    if fault == "rate_limit":
        web_api.rate_limit("users.info", retry_after=30)
    elif fault == "internal_error":
        web_api.fail("users.info", "internal_error", status=500)
    else:
        web_api.delay("users.info", 3.0)
    assert zones.zone("U1") is None
    assert zones.zone("U2") is None  # nobody asks Slack meanwhile
    assert len(web_api.calls_to("users.info")) == 1
    ticks.now += KEEP_FAILURE + 1
    web_api.release_held()
    assert zones.zone("U1") == ZoneInfo("Asia/Seoul")


def test_a_slow_slack_holds_few_workers_and_none_for_long(web_api, ticks, reports):
    for n in range(12):
        web_api.set_user(f"U{n}", tz="Asia/Seoul")
    web_api.delay("users.info", 3.0, times=12)
    zones = UserZones(WebClient(token=BOT_TOKEN, base_url=web_api.url, timeout=0.5), ticks)
    took: list[float] = []

    def ask(n: int) -> None:
        started = time.perf_counter()
        assert zones.zone(f"U{n}") is None
        took.append(time.perf_counter() - started)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    web_api.release_held()
    reports.append(f"12 users' zones asked of a 3 s users.info: worst wait {max(took):.2f} s")
    assert len(took) == 12 and max(took) < 1.5
    assert len(web_api.calls_to("users.info")) <= IN_FLIGHT


def test_one_look_up_for_a_user_asked_for_at_once_by_many(zones, web_api):
    web_api.set_user("USEOUL", tz="Asia/Seoul")
    web_api.delay("users.info", 0.3)
    found: list[ZoneInfo | None] = []
    threads = [
        threading.Thread(target=lambda: found.append(zones.zone("USEOUL"))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert found == [ZoneInfo("Asia/Seoul")] * 8
    assert len(web_api.calls_to("users.info")) == 1


def test_membership_as_conversations_info_says(membership, web_api, ticks):
    web_api.set_channel("COUT", is_member=False)
    web_api.set_channel("GSECRET", is_member=False, is_private=True)  # answers channel_not_found
    web_api.set_channel("GIN", is_member=True, is_private=True)
    assert membership.member_of("CIN") is True  # a channel never set: the bot is in it
    assert membership.member_of("COUT") is False
    assert membership.member_of("GSECRET") is False
    assert membership.member_of("GIN") is True
    assert len(web_api.calls_to("conversations.info")) == 4
    web_api.set_channel("COUT", is_member=True)  # /invite @APEC
    assert membership.member_of("COUT") is False  # kept a minute
    ticks.now += KEEP_MEMBER + 1
    assert membership.member_of("COUT") is True


@pytest.mark.parametrize("channel", ["", "D0123", "U0123", "W0123", "c0123", "C12/../x", "C" * 40])
def test_membership_of_what_is_not_a_channel_id_is_not_asked(membership, web_api, channel):
    assert membership.member_of(channel) is None
    assert web_api.calls_to("conversations.info") == []


def test_membership_slack_will_not_tell_is_unknown(membership, web_api):
    web_api.fail("conversations.info", "missing_scope")
    assert membership.member_of("C1") is None
