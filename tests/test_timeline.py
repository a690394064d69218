"""The year as a picture: what is drawn (from the plotting data), the PNG, the as-of rule, the
cache, `/apec timeline` through the real app, the Home tab's picture at its own address, the CLI."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import date

import pytest

from handlers import timeline as tl
from handlers.home import home_view
from handlers.router import REGISTRY, Ask, UsageError, route
from store.db import connect
from store.queries import Store
from tests.conftest import ROOT, SEEDS, at

NOW = at("2026-12-06T09:00+09:00")  # the summit is over; the whole year is on record
TODAY = NOW.date()
YEAR = (date(2026, 1, 1), date(2026, 12, 31))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DATED_2026 = {"som1-2026", "bmc1-2026", "som2-related-2026", "som2-2026", "aelm-2026"}


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG header (the IHDR chunk comes first)."""
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def pixels_of(data: bytes, colour: str) -> int:
    """How many pixels of the picture are exactly `colour` ("#rrggbb")."""
    from PIL import Image

    want = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    image = Image.open(io.BytesIO(data)).convert("RGB")
    return sum(n for n, rgb in image.getcolors(maxcolors=1 << 24) if rgb == want)


def by_id(marks: list[tl.Mark]) -> dict[str, tl.Mark]:
    return {m.meeting_id: m for m in marks}


# -- what is drawn -------------------------------------------------------------------------------


def test_the_picture_is_a_png_1200_pixels_wide_and_of_a_sensible_height(store):
    data = tl.timeline_png(store, *YEAR, TODAY)
    width, height = png_size(data)
    assert width == tl.WIDTH_PX == 1200
    assert 400 <= height <= 1000
    from PIL import Image

    assert Image.open(io.BytesIO(data)).size == (width, height)


def test_one_mark_per_dated_meeting_in_the_period_drawn_as_its_days(store):
    marks = tl.timeline_marks(store, *YEAR, TODAY)
    days = [m for m in marks if m.precision == "days"]
    assert sorted(m.meeting_id for m in days) == sorted(DATED_2026)
    som1 = by_id(marks)["som1-2026"]
    assert (som1.start, som1.end, som1.row) == (date(2026, 2, 1), date(2026, 2, 10), "som")
    assert by_id(marks)["aelm-2026"].row == "summit"
    assert by_id(marks)["bmc1-2026"].row == "other"  # a committee meeting during SOM1


def test_only_the_meetings_of_the_period_are_drawn(store):
    marks = tl.timeline_marks(store, date(2026, 5, 1), date(2026, 8, 31), TODAY)
    assert {m.meeting_id for m in marks if m.precision == "days"} == {
        "som2-related-2026",
        "som2-2026",
    }
    assert by_id(marks)["som3-2026"].precision == "month"


def test_a_month_only_meeting_is_drawn_as_its_whole_month_never_as_days(store):
    marks = tl.timeline_marks(store, *YEAR, TODAY)
    som3 = [m for m in marks if m.meeting_id == "som3-2026"]
    assert len(som3) == 1
    (mark,) = som3
    assert mark.precision == "month"
    assert (mark.start, mark.end) == (date(2026, 8, 1), date(2026, 8, 31))
    assert "month only" in mark.label


def test_meetings_known_only_from_a_month_on_are_not_drawn_as_days_or_a_month(store):
    marks = tl.timeline_marks(store, *YEAR, TODAY)
    sectoral = [m for m in marks if m.meeting_id.startswith("sectoral-")]
    assert len(sectoral) == 10
    assert {m.precision for m in sectoral} == {"range"}
    assert {m.row for m in sectoral} == {"ministerial"}


def test_as_of_a_day_a_meeting_dated_later_in_the_record_is_drawn_as_its_month(store):
    # On 20 January 2026 SOM1 was known only to be "in February"; its days were published on
    # 1 February. The record holds the days now; the picture of 20 January must not.
    marks = by_id(tl.timeline_marks(store, *YEAR, date(2026, 1, 20)))
    assert marks["som1-2026"].precision == "month"
    assert (marks["som1-2026"].start, marks["som1-2026"].end) == (
        date(2026, 2, 1),
        date(2026, 2, 28),
    )
    assert marks["som2-2026"].precision == "month"
    assert {m for m, mark in marks.items() if mark.precision == "days"} == {"aelm-2026"}
    assert "bmc1-2026" not in marks  # not published by then at all


def test_today_is_marked_in_the_period_and_only_there(store):
    plot = tl.timeline_plot(store, *YEAR, TODAY)
    assert plot.today == TODAY
    drawn = tl.timeline_png(store, *YEAR, TODAY)
    assert pixels_of(drawn, tl.TODAY_COLOUR) > 200  # a line from top to bottom of the plot
    before = tl.timeline_plot(store, date(2026, 1, 1), date(2026, 6, 30), TODAY)
    assert before.today is None
    assert (
        pixels_of(
            tl.timeline_png(store, date(2026, 1, 1), date(2026, 6, 30), TODAY), tl.TODAY_COLOUR
        )
        == 0
    )


def test_mark_highlights_the_one_meeting_asked(store):
    marks = tl.timeline_marks(store, *YEAR, TODAY, mark="som2-2026")
    assert [m.meeting_id for m in marks if m.marked] == ["som2-2026"]
    plain = tl.timeline_png(store, *YEAR, TODAY)
    assert tl.timeline_png(store, *YEAR, TODAY, mark="som2-2026") != plain


def test_the_picture_has_a_title_legend_and_says_what_it_leaves_out(store):
    plot = tl.timeline_plot(store, *YEAR, TODAY)
    assert plot.title == "APEC meetings, 2026"
    assert "6 December 2026" in plot.subtitle
    assert [label for label, _ in tl.ROWS] == ["Leaders' Summit", "SOM", "Ministerial", "Other"]
    assert plot.not_drawn == ("Digital Week",)  # no dates on record: named, not placed


# -- the cache -----------------------------------------------------------------------------------


def test_the_same_picture_is_rendered_once(store):
    before = tl.RENDERS
    first = tl.timeline_png(store, date(2026, 3, 1), date(2026, 9, 30), TODAY)
    assert tl.RENDERS == before + 1
    again = tl.timeline_png(store.at(TODAY), date(2026, 3, 1), date(2026, 9, 30), TODAY)
    assert again == first and tl.RENDERS == before + 1
    tl.timeline_png(store, date(2026, 3, 1), date(2026, 9, 30), date(2026, 12, 7))  # another day
    assert tl.RENDERS == before + 2


def test_a_change_to_the_records_draws_the_picture_anew(store):
    tl.timeline_png(store, *YEAR, TODAY)
    before = tl.RENDERS
    card = route(
        Ask(
            store=store,
            now=NOW,
            text="edit-meeting SOM3 dates=2026-08-10..2026-08-21",
            user="UADMIN",
            channel="C1",
            can_edit=lambda: True,
            seeds=SEEDS,
        )
    )
    assert "SOM3" in card.plain()
    tl.timeline_png(store.refresh(), *YEAR, TODAY)
    assert tl.RENDERS == before + 1
    som3 = by_id(tl.timeline_marks(store, *YEAR, TODAY))["som3-2026"]
    assert (som3.precision, som3.start, som3.end) == ("days", date(2026, 8, 10), date(2026, 8, 21))


# -- the period asked ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, start, end",
    [
        ("", date(2026, 1, 1), date(2026, 12, 31)),
        ("2026", date(2026, 1, 1), date(2026, 12, 31)),
        ("next year", date(2027, 1, 1), date(2027, 12, 31)),
        ("may to august", date(2026, 5, 1), date(2026, 8, 31)),
        ("between March and June", date(2026, 3, 1), date(2026, 6, 30)),
        ("august 2025 to march 2026", date(2025, 8, 1), date(2026, 3, 31)),
        ("this week", date(2026, 11, 1), date(2026, 12, 31)),  # a week: its whole months
        ("tomorrow", date(2026, 12, 1), date(2026, 12, 31)),
    ],
)
def test_the_period_is_read_with_the_project_grammar(text, start, end):
    period = tl.timeline_period(text, NOW)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize("text", ["whenever", "q3", "2020-01-01..2026-12-31", "soon"])
def test_an_unreadable_or_too_long_period_is_refused(text):
    with pytest.raises(UsageError):
        tl.timeline_period(text, NOW)


def test_timeline_is_registered_and_in_help(store):
    assert "timeline" in REGISTRY
    help_text = route(Ask(store=store, now=NOW, text="help")).plain()
    assert "/apec timeline" in help_text


def test_timeline_outside_slack_lists_the_meetings_cited_and_says_how_to_get_the_picture(store):
    text = route(Ask(store=store, now=NOW, text="timeline 2026", via="cli")).plain()
    assert text.startswith("APEC meetings, 2026, as of 6 December 2026: 5 with their days")
    assert "SOM3" in text and "Source:" in text
    assert "apec-bot timeline -o" in text


def test_timeline_of_an_unreadable_period_gets_a_short_helpful_reply(store):
    text = route(Ask(store=store, now=NOW, text="timeline whenever")).plain()
    assert "can't read" in text and "/apec timeline" in text


# -- Slack: the real app over HTTP ---------------------------------------------------------------


def test_slash_timeline_acks_at_once_then_uploads_the_png_to_the_channel(server, web_api, clock):
    clock.now = NOW
    status, body = server.command("timeline 2026", response_url=web_api.url + "hooks.response")
    assert status == 200
    ack = json.loads(body)
    assert "Working on it" in ack["text"] and "APEC meetings, 2026" in ack["text"]
    web_api.wait_for("files.completeUploadExternal")
    methods = [c.method for c in web_api.calls if c.method.startswith("files.")]
    assert methods == ["files.getUploadURLExternal", "files.upload", "files.completeUploadExternal"]
    (shared,) = web_api.files()
    assert shared["channel_id"] == "C1" and shared["filename"] == "apec-timeline-2026.png"
    assert shared["bytes"][:8] == PNG_SIGNATURE and png_size(shared["bytes"])[0] == 1200
    assert shared["initial_comment"].startswith("APEC meetings, 2026, as of 6 December 2026")
    assert web_api.calls_to("hooks.response") == []  # nothing more to say once it is posted


def test_slash_timeline_falls_back_to_the_cited_list_when_the_upload_fails(server, web_api, clock):
    clock.now = NOW
    web_api.fail("files.getUploadURLExternal", "not_in_channel")
    server.command("timeline may to august", response_url=web_api.url + "hooks.response")
    (told,) = web_api.wait_for("hooks.response")
    text = told.params["text"]
    assert "could not post the picture" in text
    assert "SOM2" in text and "SOM3" in text and "Source:" in text
    assert web_api.files() == []


def test_slash_timeline_refuses_an_unreadable_period(server, web_api, clock):
    status, body = server.command("timeline whenever")
    assert status == 200 and "can't read" in json.loads(body)["text"]
    assert web_api.calls_to("files.getUploadURLExternal") == []


# -- the Home tab's picture, at the bot's own address --------------------------------------------


def _get(base: str, path: str, headers: dict[str, str] | None = None):
    request = urllib.request.Request(base + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_the_server_serves_the_picture_at_its_address_and_404s_anything_else(server, clock):
    db = connect(server.db_path)
    path = tl.image_path(Store(db), clock.now.date())
    db.close()
    assert path.startswith("/timeline/") and path.endswith(".png")
    status, headers, data = _get(server.base, path)
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert png_size(data)[0] == 1200
    assert "max-age" in headers["Cache-Control"] and headers["ETag"]
    assert _get(server.base, path, {"If-None-Match": headers["ETag"]})[0] == 304
    day, sig = path.removeprefix("/timeline/").removesuffix(".png").rsplit("-", 1)
    other = "0" * len(sig) if sig != "0" * len(sig) else "1" * len(sig)
    for wrong in (
        f"/timeline/{day}-{other}.png",  # a guess
        f"/timeline/2026-01-21-{sig}.png",  # another day, the same signature
        "/timeline/2026.png",
        "/timeline/",
        f"/timeline/{day}-{sig}.png/x",
    ):
        assert _get(server.base, wrong)[0] == 404, wrong


def test_home_tab_shows_the_picture_only_with_a_public_address(store):
    with_url = home_view(
        Ask(store=store, now=NOW, user="U1", public_url="https://bot.example.org/")
    )
    images = [b for b in with_url["blocks"] if b["type"] == "image"]
    assert len(images) == 1
    assert images[0]["image_url"].startswith("https://bot.example.org/timeline/2026-12-06-")
    assert images[0]["alt_text"].startswith("APEC meetings, 2026")
    without = home_view(Ask(store=store, now=NOW, user="U1"))
    assert not [b for b in without["blocks"] if b["type"] == "image"]
    assert "timeline/" not in json.dumps(without)


# -- the command line ----------------------------------------------------------------------------


def test_cli_writes_the_png_as_of_now(db_path, tmp_path):
    out = tmp_path / "t.png"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APEC_", "SLACK_"))}
    env.update(APEC_DB=str(db_path), APEC_NOW="2026-01-20T09:00+09:00")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "timeline", "-o", str(out), "may to august"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert png_size(out.read_bytes())[0] == 1200
    assert "as of 20 January 2026" in result.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "bot", "timeline", "-o", str(tmp_path / "x.png"), "whenever"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert bad.returncode == 2 and "can't read" in bad.stderr
    assert not (tmp_path / "x.png").exists()
