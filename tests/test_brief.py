"""Briefing notes (`/apec brief`, `apec-bot brief`): every section, every line cited to a quoted
record, "not on record" exactly what the seeds do not give, the .docx read back, the canvas and its
file fallback over the real app, and injected text inert in the Markdown.

The expectations below were written from seeds/desk.toml and seeds/SOURCES.md: SOM1 ran 1-10
February 2026 in Guangzhou (held), with US (Casey Mace; Ruth Perry) and Korean (Park Jong-han)
delegations and four committee meetings; the 2026 Leaders' Meeting (AELM 2026) is on 18-19 November
2026 in Shenzhen, with the CEO Summit and the joint ministerial meeting alongside and no delegation
on record; SOM3 is known only as "in August" (Dalian); the 2025 summit has no dates or city. No
source gives any meeting's agenda, venue (building), time of day, chair, or what was agreed.

A brief holds what was published by its day: before 1 February 2026 only China's announcement of
December 2025 is out (SOM1 "in February", Guangzhou; no member economy, delegation or theme yet).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from docx import Document

from bot.config import Config
from handlers.brief import Brief, build_brief, cut_words, md_text, request, to_markdown
from handlers.brief_docx import to_docx
from handlers.render import SHARE_ACTION, Card
from handlers.router import Ask, route
from store.db import connect
from store.ingest import ingest
from store.queries import Store
from store.text import fold
from tests.conftest import BOT_TOKEN, SEEDS, at
from tests.test_cli import run

BEFORE = at("2026-01-20T09:00+09:00")
DURING = at("2026-02-05T10:00+08:00")
BEFORE_SOM2 = at("2026-04-01T09:00+08:00")
AFTER = at("2026-03-01T09:00+09:00")
JUNE = at("2026-06-01T09:00+09:00")
MONTH_ONLY = "in February 2026; no day count without exact dates"
SECTIONS = ("key", "meeting", "theme", "delegations", "objectives", "people", "recent", "missing")
TITLES = [
    "Key points",
    "The meeting",
    "Theme and priorities",
    "Delegations on record",
    "Objectives of United States of America",
    "People",
    "Recent sources",
    "Not on record",
]
US_OBJECTIVES = [
    "Opening Asian markets to American exports",
    "Promoting deregulation and U.S.-friendly business policies",
    "Supporting job growth at home",
    "Pressing international action to combat illegal fishing, marine debris "
    "and the illicit timber trade",
    "Creating new opportunities for American companies and restoring a level playing field",
    "Breaking down barriers to business and advocating fair and reciprocal trade practices",
]
# What a brief normally holds that no seed gives, meeting by meeting (for the economy asked).
EVERY_MEETING = {"venue", "chair", "agenda", "outcomes"}
MISSING = [
    ("SOM1", "US", AFTER, EVERY_MEETING | {"time"}),
    ("SOM1", "", BEFORE, EVERY_MEETING | {"dates", "delegations", "theme", "priorities"}),
    ("SOM1", "Korea", DURING, EVERY_MEETING | {"time", "objectives", "theme", "priorities"}),
    ("SOM1", "Japan", AFTER, EVERY_MEETING | {"time", "objectives"}),
    ("AELM 2026", "US", JUNE, EVERY_MEETING | {"time", "delegations", "objectives"}),
    ("SOM3", "", JUNE, EVERY_MEETING | {"dates", "delegations"}),
    ("SOM2", "US", JUNE, EVERY_MEETING | {"time", "delegations", "objectives"}),
    (
        "Leaders' Summit 2025",
        "Korea",
        JUNE,
        {
            "chair",
            "agenda",
            "outcomes",
            "dates",
            "city",
            "delegations",
            "objectives",
            "theme",
            "priorities",
        },
    ),
]


def brief_of(store: Store, text: str, now=AFTER, economy: str = "") -> Brief:
    found = request(store, text, now, economy)
    assert isinstance(found, Brief), found.plain()
    return found


def lines(b: Brief, key: str) -> list[str]:
    return [f"{ln.label}: {ln.text}" if ln.label else ln.text for ln in b.section(key).lines]


def quoted_records(store: Store) -> set[tuple[str, str]]:
    """Every (source id, quote) a record of the store holds."""
    tables = (
        "economies",
        "meetings",
        "people",
        "roles",
        "delegations",
        "delegation_members",
        "objectives",
        "facts",
    )
    return {
        (r[0], r[1])
        for t in tables
        for r in store.db.execute(f"SELECT source_id, quote FROM [{t}]")  # noqa: S608 - our names
    }


def in_passages(store: Store, source_id: str, quote: str) -> bool:
    texts = [
        r[0] for r in store.db.execute("SELECT text FROM passages WHERE source_id = ?", [source_id])
    ]
    return any(" ".join(quote.split()) in " ".join(t.split()) for t in texts)


# -- the sections ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,now",
    [
        ("SOM2", BEFORE_SOM2),
        ("SOM1", DURING),
        ("SOM1", AFTER),
        ("AELM 2026", JUNE),
        ("Leaders' Meeting", JUNE),
    ],
)
def test_every_section_is_present_in_order(store, name, now):
    b = brief_of(store, name, now, "US")
    assert tuple(s.key for s in b.sections) == SECTIONS
    assert [s.title for s in b.sections] == TITLES
    for s in b.sections:
        assert s.lines or s.note, s.key  # a section says something, if only that nothing is known


@pytest.mark.parametrize(
    "now,countdown,status",
    [
        # known only to the month until the US update of 1 February gave the days
        (BEFORE, MONTH_ONLY, f"scheduled; {MONTH_ONLY}"),
        (at("2026-01-31T09:00+08:00"), MONTH_ONLY, f"scheduled; {MONTH_ONLY}"),
        (DURING, "under way, day 5 of 10", "under way, day 5 of 10"),
        (AFTER, "held", "held"),
    ],
)
def test_som1_stands_where_now_puts_it(store, now, countdown, status):
    b = brief_of(store, "SOM1", now)
    assert b.countdown == countdown
    assert f"Status: {status}" in lines(b, "meeting")
    assert b.countdown in to_markdown(b).splitlines()[2]


def test_som1_meeting_section_gives_dates_as_the_source_does_and_what_is_held_with_it(store):
    got = lines(brief_of(store, "SOM1"), "meeting")
    assert got[:3] == [
        "Meeting: SOM1 — First Senior Officials' Meeting and Related Meetings",
        "When: 1–10 February 2026 (the source: “from February 1 to 10”)",
        "Where: Guangzhou, People's Republic of China",
    ]
    parts = [x for x in got if x.startswith("Held as part of it:")]
    assert [p.split(" — ")[0].split(": ")[1] for p in parts] == ["BMC1", "CTI", "EC", "SCE"]
    assert (
        "Held as part of it: BMC1 — First Budget and Management Committee (BMC) meeting — "
        "9 February 2026 · Guangzhou, People's Republic of China" in got
    )
    related = [x.split(" — ")[0] for x in got if x.startswith("Related:")]
    assert related == ["Related: SOM2", "Related: SOM3", "Related: AELM 2026"]


def test_som1_delegations_objectives_and_people_come_from_the_seeds(store):
    b = brief_of(store, "SOM1", AFTER, "US")
    assert lines(b, "delegations") == [
        "Republic of Korea: led by Park Jong-han (Coordinator for Economic Diplomacy) (to SOM1)",
        "United States of America: led by Casey Mace (U.S. Senior Official to APEC) (to SOM1)",
        "United States of America: Ruth Perry — Acting Principal Deputy Assistant Secretary "
        "(Oceans and International Environmental and Scientific Affairs)",
    ]
    assert lines(b, "objectives") == US_OBJECTIVES
    people = list(dict.fromkeys(ln.label for ln in b.section("people").lines))
    assert people == ["Park Jong-han", "Casey Mace", "Ruth Perry", "Lee Ji-yoon"]
    assert "Lee Ji-yoon: Presided over the first BMC meeting, held on 9 February 2026." in lines(
        b, "people"
    )
    theme = lines(b, "theme")
    assert len(theme) == 2 and "Building an Asia-Pacific Community to Prosper Together" in theme[0]
    assert theme[1].startswith("Priorities: At SOM1, China outlined the deliverables")


def test_leaders_meeting_brief(store):
    b = brief_of(store, "Leaders' Meeting", JUNE, "Korea")
    assert b.meeting.short == "AELM 2026" and b.countdown == "opens in 170 days"
    got = lines(b, "meeting")
    assert "When: 18–19 November 2026 (the source: “November 18 and 19, 2026”)" in got
    assert "Where: Shenzhen, People's Republic of China" in got
    parts = sorted(x.split(" — ")[0] for x in got if x.startswith("Held as part of it:"))
    assert parts == [
        "Held as part of it: CEO Summit 2026",
        "Held as part of it: Joint Ministerial Meeting 2026",
    ]
    assert b.section("delegations").lines == ()
    assert [ln.label for ln in b.section("people").lines] == ["Guo Jiakun", "Guo Jiakun"]
    # No Korean delegation to it: the objectives Korea last stated, said as such.
    assert b.section("objectives").note == "None on record for AELM 2026; the latest stated:"
    assert {ln.label for ln in b.section("objectives").lines} == {"Stated for SOM1"}


def test_a_month_only_meeting_stays_a_month_and_gets_no_day_count(store):
    b = brief_of(store, "SOM3", JUNE)
    assert b.countdown == "in August 2026; no day count without exact dates"
    text = to_markdown(b)
    assert "August 2026, dates not confirmed" in text
    assert not re.search(r"SOM3[^\n]*\b\d+ days?\b", text)
    assert (
        "No source on record gives the exact dates of SOM3: "
        "it is known only as August 2026, dates not confirmed." in lines(b, "missing")
    )


def test_no_time_of_day_is_shown(store):
    for name, now in (("SOM1", DURING), ("AELM 2026", DURING), ("SOM2", DURING), ("BMC1", AFTER)):
        text = to_markdown(brief_of(store, name, now, "US"))
        assert not re.search(r"\b\d{1,2}:\d{2}\b|\b[ap]\.?m\.?\b", text, re.IGNORECASE), name


# -- citations -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,now,economy",
    [
        ("SOM1", BEFORE, ""),
        ("SOM1", AFTER, "US"),
        ("AELM 2026", JUNE, "US"),
        ("SOM3", JUNE, "US"),
        ("CTI", AFTER, "US"),
    ],
)
def test_every_line_is_traceable_to_a_quoted_record(store, name, now, economy):
    b = brief_of(store, name, now, economy)
    records = quoted_records(store)
    listed = {s.id for s in b.sources}
    for s in b.sections:
        for ln in s.lines:
            if s.key == "missing":
                assert ln.source is None and ln.text.startswith("No source on record")
                continue
            if s.key == "key" and ln.key == "missing":
                assert ln.source is None and ln.text.startswith("Not on record:")
                continue
            assert ln.source is not None and ln.quote, (s.key, ln.text)
            assert ln.source.id in listed
            assert b.sources[b.number(ln.source) - 1].id == ln.source.id
            assert any(fold(ln.quote) in fold(q) for q in b.quotes(ln.source))
            held = (ln.source.id, ln.quote) in records or in_passages(store, ln.source.id, ln.quote)
            assert held, (s.key, ln.text, ln.quote)
    # Each source listed is cited by some line, and dated.
    text = to_markdown(b)
    for n, source in enumerate(b.sources, 1):
        assert f"[{n}]" in text.split("## Sources")[0]
        assert re.search(rf"^{n}\. .*\({source.reference_date.isoformat()}\)$", text, re.MULTILINE)


def test_markdown_marks_every_cited_line_with_its_source(store):
    b = brief_of(store, "SOM1", AFTER, "US")
    text = to_markdown(b)
    body, sources = text.split("\n## Sources\n")
    headings = re.findall(r"^## (.+)$", body, re.MULTILINE)
    assert headings == TITLES
    cited = body.split("\n## Key points\n")[1].split("\n## The meeting\n")[1]
    cited = cited.split("\n## Not on record\n")[0]
    bullets = [x for x in cited.splitlines() if x.startswith(("- ", "  - "))]
    assert len(bullets) == sum(len(s.lines) for s in b.sections if s.key not in ("key", "missing"))
    assert all(re.search(r" \[(\d+)\]$", x) for x in bullets)
    assert max(int(n) for n in re.findall(r" \[(\d+)\]$", cited, re.MULTILINE)) == len(b.sources)
    assert len(re.findall(r"^\d+\. ", sources, re.MULTILINE)) == len(b.sources)


def test_recent_sources_are_newest_first_one_line_each(store):
    b = brief_of(store, "SOM1", JUNE)
    dates = [ln.label for ln in b.section("recent").lines]
    assert dates == sorted(dates, reverse=True) and len(dates) == len(
        set(ln.source.id for ln in b.section("recent").lines)
    )
    assert dates[0] == "2026-05-19"  # the desk's calendar note names SOM1
    assert all("\n" not in ln.text for ln in b.section("recent").lines)


def test_recent_sources_are_those_out_by_now_and_about_this_year_s_meeting(db_path, tmp_path):
    doc = tmp_path / "hanoi.md"
    doc.write_text(
        "Viet Nam announces APEC 2027 dates\n\nReference date: 2026-02-20\n\n"
        "The First Senior Officials' Meeting (SOM1) of APEC 2027 will be held in Hanoi.\n"
    )
    db = connect(db_path)
    ingest(db, doc, AFTER, SEEDS)
    store = Store(db)
    b = brief_of(store, "SOM1", AFTER)
    dates = [ln.label for ln in b.section("recent").lines]
    assert dates and max(dates) <= "2026-03-01"  # the note of 19 May is not out yet on 1 March
    assert dates[0] == "2026-02-10"  # the Korean release, the newest out by then
    assert not any("Hanoi" in ln.text for ln in b.section("recent").lines)  # SOM1 2027's news
    db.close()


# -- not on record ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name,economy,now,expected", MISSING)
def test_not_on_record_lists_exactly_what_the_seeds_do_not_give(
    store, name, economy, now, expected
):
    b = brief_of(store, name, now, economy)
    assert {ln.key for ln in b.section("missing").lines} == expected


def test_not_on_record_is_worded_like_the_bots_no_source_answers(store):
    assert lines(brief_of(store, "SOM1", AFTER, "Japan"), "missing") == [
        "No source on record gives a time of day for SOM1: the sources give days only.",
        "No source on record names the venue of SOM1 in Guangzhou.",
        "No source on record names who chaired SOM1.",
        "No source on record gives the agenda of SOM1.",
        "No source on record says what was agreed at SOM1.",
        "No source on record names a Japan delegation to SOM1, or its objectives.",
    ]
    before = lines(brief_of(store, "AELM 2026", JUNE), "missing")
    assert "No source on record gives outcomes of AELM 2026: it has not opened yet." in before
    assert "No source on record names a delegation to AELM 2026." in before
    assert "No source on record names who chairs AELM 2026." in before


# -- asking ---------------------------------------------------------------------------------------


def test_economies_are_found_by_the_names_the_bot_knows_and_shown_by_official_name(store):
    assert brief_of(store, "SOM1 for Taiwan").economy.name == "Chinese Taipei"
    assert brief_of(store, "SOM1 for ROK").economy.name == "Republic of Korea"
    assert brief_of(store, "SOM1", economy="usa").economy.name == "United States of America"
    assert brief_of(store, "SOM1 for Korea", economy="US").economy.id == "KR"  # asked beats default


def test_the_desk_economy_comes_from_the_environment(store):
    config = Config.from_env({"APEC_DESK_ECONOMY": "Korea"})
    assert config.desk_economy == "Korea"
    ask = config.ask(store, AFTER, "brief SOM1", via="cli", can_edit=lambda: False)
    assert ask.desk_economy == "Korea"
    assert (
        brief_of(store, "SOM1", economy=ask.desk_economy).section("objectives").title
        == "Objectives of Republic of Korea"
    )
    none = brief_of(store, "SOM1").section("objectives")
    assert none.lines == () and "APEC_DESK_ECONOMY" in none.note


def test_unknown_meeting_or_economy_gets_the_bots_helpful_reply(store):
    card = request(store, "SOM9", AFTER)
    assert isinstance(card, Card) and "I have no meeting called `SOM9`" in card.plain()
    card = request(store, "SOM1 for Narnia", AFTER)
    assert isinstance(card, Card) and "I don't know an economy called `Narnia`" in card.plain()
    card = request(store, "SOM1 for UK", AFTER)
    assert "United Kingdom is not an APEC member economy" in card.plain()


def test_slash_brief_answers_a_short_summary_with_a_share_button(store):
    card = route(Ask(store=store, now=AFTER, text="brief SOM1 for US", via="slack"))
    payload = card.payload()
    text = card.plain()
    assert text.startswith("Brief: SOM1 — First Senior Officials' Meeting and Related Meetings")
    assert "1–10 February 2026 · Guangzhou, People's Republic of China — held" in text
    bullets = [x for x in text.splitlines() if x.startswith("• ")]
    assert len(bullets) == 3
    assert (
        bullets[2]
        == "• Not on record: a time of day, the venue, the chair, the agenda, the outcomes."
    )
    assert "Source:" in text
    buttons = [e for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["action_id"], b["value"]) for b in buttons] == [(SHARE_ACTION, "brief SOM1 for US")]


# -- Word ------------------------------------------------------------------------------------------


def test_docx_reads_back_section_by_section(store):
    b = brief_of(store, "SOM1", AFTER, "US")
    doc = Document(io.BytesIO(to_docx(b)))
    paragraphs = [(p.style.name, p.text) for p in doc.paragraphs]
    assert paragraphs[0] == ("Title", b.heading)
    headings = [t for style, t in paragraphs if style == "Heading 1"]
    assert headings == [*TITLES, "Sources"]
    at_heading = {t: i for i, (style, t) in enumerate(paragraphs) if style == "Heading 1"}
    for s in b.sections:
        start = at_heading[s.title] + 1
        after = paragraphs[start:]
        end = next(i for i, (style, _) in enumerate(after) if style == "Heading 1")
        bullets = [t for style, t in after[:end] if style in ("List Bullet", "List Bullet 2")]
        assert len(bullets) == len(s.lines), s.key
        for ln, shown in zip(s.lines, bullets, strict=True):
            assert ln.text in shown
            if ln.source is not None:
                assert shown.endswith(f"[{b.number(ln.source)}]")
            else:
                assert not re.search(r"\[\d+\]$", shown)
    notes = paragraphs[at_heading["Sources"] + 1 :]
    numbered = [t for style, t in notes if re.match(r"\[\d+\] ", t)]
    assert [t.split("] ", 1)[1] for t in numbered] == [s.cite() for s in b.sources]
    quotes = [t for style, t in notes if style == "List Bullet 2"]
    assert len(quotes) == sum(len(b.listed_quotes(s)) for s in b.sources)


# -- injected text ---------------------------------------------------------------------------------

HOSTILE = """SOM1 side note <!channel> <@UEVIL>

Reference date: 2026-01-15

The SOM1 plenary heard <!channel> <@UEVIL> <#CEVIL|general> <https://evil.example/x|click here> [click](https://evil.example/y) &lt;!here&gt; *bold* mail evil@evil.example in Guangzhou.
"""  # noqa: E501


def live_in_markdown(text: str) -> list[str]:
    """What a Markdown renderer (or Slack) could make live: a Slack <...> sequence, a link."""
    outside_code = re.sub(r"`[^`]*`", "", text)
    found = re.findall(
        r"<[!@#]|<(?:https?|mailto):|(?<!\\)\]\(|https?://|mailto:|www\.", outside_code
    )
    return found + re.findall(r"<!channel|<@UEVIL|<#CEVIL|<https?://", text)


@pytest.fixture
def hostile(db_path: Path, tmp_path: Path) -> Path:
    doc = tmp_path / "hostile.md"
    doc.write_text(HOSTILE, encoding="utf-8")
    db = connect(db_path)
    ingest(db, doc, AFTER, SEEDS)
    db.close()
    return db_path


def test_injected_text_is_inert_in_the_markdown_and_escaped_once(hostile):
    store = Store(connect(hostile))
    b = brief_of(store, "SOM1", AFTER)
    (recent,) = [ln for ln in b.section("recent").lines if ln.source.file == "hostile.md"]
    assert "<!channel>" in recent.text  # the brief holds the words as the source has them
    text = to_markdown(b)
    assert live_in_markdown(text) == []
    assert "&lt;!channel&gt; &lt;@UEVIL&gt;" in text
    assert "&amp;lt;!here&amp;gt;" in text  # typed as an escape: shown as typed, escaped once
    assert "\\[click\\](`https://evil.example/y`)" in text and "\\*bold\\*" in text
    card = route(Ask(store=store, now=AFTER, text="brief SOM1", via="slack"))
    assert "<!channel" not in json.dumps(card.payload())


@pytest.mark.parametrize(
    "text,shown",
    [
        ("<!here> and <@U123|boss>", "&lt;!here&gt; and &lt;@U123|boss&gt;"),
        ("see <https://x.example|x>.", "see &lt;`https://x.example`|x&gt;."),
        ("[a](https://x.example)", "\\[a\\](`https://x.example`)"),
        ("a & b", "a & b"),
        ("`code` www.x.example", "\\`code\\` `www.x.example`"),
    ],
)
def test_md_text_neutralises_once(text, shown):
    assert md_text(text) == shown


# -- Slack: a canvas, or a Markdown file -----------------------------------------------------------


def _brief_in_slack(server, web_api, clock, text: str = "brief SOM1 for US"):
    clock.now = AFTER  # once the US delegation is on record
    status, body = server.command(text, response_url=web_api.url + "hooks.response")
    assert status == 200 and body.startswith("Working on the brief")  # acknowledged at once
    brief, told = web_api.wait_for("hooks.response", 2)  # the brief, then where its note is
    payload = brief.params
    assert payload["text"].startswith("*Brief: SOM1")
    return payload, told.params


def test_slack_brief_goes_to_a_canvas(server, web_api, clock):
    payload, told = _brief_in_slack(server, web_api, clock)
    (canvas,) = web_api.canvases()
    assert canvas["channel_id"] == "C1"
    assert canvas["title"].startswith("Brief: SOM1")
    assert canvas["markdown"].startswith("# Brief: SOM1 — First Senior Officials' Meeting")
    assert "## Not on record" in canvas["markdown"] and "## Sources" in canvas["markdown"]
    call = web_api.calls_to("canvases.create")[0]
    assert call.params["document_content"]["type"] == "markdown"
    assert "canvas" in told["text"] and web_api.calls_to("files.getUploadURLExternal") == []
    assert any(
        e["action_id"] == SHARE_ACTION
        for b in payload["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    )


@pytest.mark.parametrize("error", ["not_allowed", "feature_not_enabled"])
def test_slack_brief_falls_back_to_a_markdown_file(server, web_api, clock, error):
    web_api.fail("canvases.create", error)
    _, told = _brief_in_slack(server, web_api, clock)
    assert web_api.canvases() == []
    methods = [c.method for c in web_api.calls if c.method.startswith("files.")]
    assert methods == ["files.getUploadURLExternal", "files.upload", "files.completeUploadExternal"]
    (shared,) = web_api.files()
    assert shared["channel_id"] == "C1" and shared["filename"].startswith("brief-som1-")
    assert shared["filename"].endswith(".md")
    assert shared["content"].startswith("# Brief: SOM1 — First Senior Officials' Meeting")
    assert "Markdown file" in told["text"]


def test_slack_brief_says_so_when_neither_canvas_nor_file_can_be_made(server, web_api, clock):
    web_api.fail("canvases.create", "not_allowed")
    web_api.fail("files.getUploadURLExternal", "not_in_channel")
    _, told = _brief_in_slack(server, web_api, clock)
    assert "could not post the whole brief" in told["text"]


def test_injected_text_stays_inert_in_the_canvas_and_the_file(hostile, server, web_api, clock):
    _brief_in_slack(server, web_api, clock, "brief SOM1")
    web_api.fail("canvases.create", "feature_not_enabled")
    status, _ = server.command("brief SOM1 for US", response_url=web_api.url + "hooks.response")
    assert status == 200
    web_api.wait_for("files.completeUploadExternal")
    (canvas,) = web_api.canvases()
    (shared,) = web_api.files()
    for markdown in (canvas["markdown"], shared["content"]):
        assert "SOM1 side note" in markdown
        assert live_in_markdown(markdown) == []


# -- the command line ------------------------------------------------------------------------------


def test_cli_brief_end_to_end(db_path: Path, tmp_path: Path):
    env = {"APEC_DB": str(db_path)}
    md = run("brief", "SOM1", "--now", "2026-01-31T09:00+08:00", "--for", "Korea", env=env)
    assert md.returncode == 0 and "I don't know an economy called `Korea`" in md.stdout
    md = run("brief", "SOM1", "--now", "2026-02-03T09:00+08:00", "--for", "US", env=env)
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("# Brief: SOM1 — First Senior Officials' Meeting")
    assert (
        "under way, day 3 of 10" in md.stdout
        and "## Objectives of United States of America" in md.stdout
    )
    out = tmp_path / "som1.docx"
    docx = run(
        "brief",
        "AELM",
        "2026",
        "--format",
        "docx",
        "-o",
        str(out),
        env={**env, "APEC_DESK_ECONOMY": "Korea"},
    )
    assert docx.returncode == 0, docx.stderr
    doc = Document(str(out))
    assert doc.paragraphs[0].text.startswith("Brief: AELM 2026")
    assert "Objectives of Republic of Korea" in [p.text for p in doc.paragraphs]
    unknown = run("brief", "SOM9", env=env)
    assert unknown.returncode == 0 and "I have no meeting called `SOM9`" in unknown.stdout
    no_file = run("brief", "SOM1", "--format", "docx", env=env)
    assert no_file.returncode == 2 and no_file.stdout == ""
    assert len(no_file.stderr.strip().splitlines()) == 1 and "-o FILE" in no_file.stderr
    bad = run("brief", "SOM1", "--format", "pdf", env=env)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_brief_built_directly_equals_the_requested_one(store):
    m = store.meeting("SOM1")
    economy = store.member("US").economy
    assert to_markdown(build_brief(store, m, AFTER, economy)) == to_markdown(
        brief_of(store, "SOM1 for US")
    )
    assert fold("SOM1") in fold(to_markdown(brief_of(store, "som 1")))


def test_a_canvas_with_no_answer_is_not_followed_by_a_file(db_path, web_api):
    from slack_sdk import WebClient

    from bot.app import _post_document

    web_api.answer_late("canvases.create", 1.0)  # made, but the answer comes after the timeout
    client = WebClient(token=BOT_TOKEN, base_url=web_api.url, timeout=0.3, retry_handlers=[])
    db = connect(db_path)
    card = route(Ask(store=Store(db), now=AFTER, text="brief SOM1", via="slack"))
    db.close()
    told: list[dict] = []
    _post_document(client, lambda **reply: told.append(reply), "C1", card.document)
    assert len(web_api.canvases()) == 1  # Slack made it; we could not know
    assert not [c for c in web_api.calls if c.method.startswith("files.")]
    (reply,) = told
    assert "may or may not be in this channel" in reply["text"]


# -- a document a desk hands up (issue 21) --------------------------------------------------------

HANDED_UP = [("SOM1", AFTER, "US"), ("SOM1", BEFORE, ""), ("Leaders' Meeting", JUNE, "Korea")]
_QUOTED = re.compile(r"“([^”]+)”|\"([^\"]+)\"")


def source_text(store: Store, source_id: str) -> str:
    """A source's whole text as stored, folded: its passages, with those it shares with another."""
    rows = store.db.execute(
        "SELECT heading, text FROM passages WHERE source_id = ? OR also_in LIKE ? ORDER BY id",
        [source_id, f'%"{source_id}"%'],
    )
    return fold(" ".join(f"{h} {t}" for h, t in rows))


@pytest.mark.parametrize("name,now,economy", HANDED_UP)
def test_every_citation_points_at_the_document_that_says_it(store, name, now, economy):
    """The line's quote, and any words the line itself puts in quotation marks, are in the text
    of the source its marker names: the State Department's dates are not cited to Korea's
    release."""
    b = brief_of(store, name, now, economy)
    for s in b.sections:
        for ln in s.lines:
            if ln.source is None:
                continue
            text = source_text(store, ln.source.id)
            assert fold(ln.quote) in text, (s.key, ln.text, ln.source.id)
            for found in _QUOTED.finditer(ln.text):
                words = fold((found[1] or found[2]).rstrip("…"))
                assert words in text, (s.key, ln.text, ln.source.id, words)


def test_the_desk_note_on_som1_dates_cites_the_state_department(store):
    b = brief_of(store, "SOM1", AFTER)
    (note,) = [ln for ln in b.section("meeting").lines if "Feb. 1-10, 2026" in ln.text]
    assert note.source.id == "us-state-som1"


@pytest.mark.parametrize("name,now,economy", HANDED_UP)
def test_key_points_come_first_three_to_five_each_cited(store, name, now, economy):
    b = brief_of(store, name, now, economy)
    key = b.sections[0]
    assert (key.key, key.title) == ("key", "Key points")
    assert 3 <= len(key.lines) <= 5
    for ln in key.lines:  # cited, or saying what no source gives (which no source can be cited for)
        assert ln.source is not None or ln.text.startswith("Not on record:"), ln.text
    assert key.lines[-1].text.startswith("Not on record:")
    text = to_markdown(b)
    assert text.split("\n## ")[1].startswith("Key points\n")


def test_key_points_say_what_when_where_who_leads_and_what_is_not_known(store):
    got = lines(brief_of(store, "SOM1", AFTER, "US"), "key")
    assert got[0].startswith("What: SOM1 — First Senior Officials' Meeting and Related Meetings")
    assert got[1] == "When and where: 1–10 February 2026, Guangzhou, People's Republic of China"
    assert got[2] == "Our delegation: led by Casey Mace (U.S. Senior Official to APEC)"
    assert got[-1].startswith("Not on record: a time of day, the venue, the chair, the agenda")
    leaders = lines(brief_of(store, "Leaders' Meeting", JUNE, "Korea"), "key")
    assert "When and where: 18–19 November 2026, Shenzhen, People's Republic of China" in leaders
    assert "any delegation" in leaders[-1]  # no Korean delegation yet: said as not on record
    none = lines(brief_of(store, "SOM1", AFTER), "key")  # no economy chosen: every head on record
    assert [x for x in none if x.startswith("Delegation")] == [
        "Delegation of Republic of Korea: "
        "led by Park Jong-han (Coordinator for Economic Diplomacy)",
        "Delegation of United States of America: led by Casey Mace (U.S. Senior Official to APEC)",
    ]


def test_people_are_grouped_one_per_person_with_their_actions_beneath(store):
    b = brief_of(store, "SOM1", AFTER, "US")
    people = to_markdown(b).split("\n## People\n")[1].split("\n## ")[0]
    tops = [x for x in people.splitlines() if x.startswith("- ")]
    nested = [x for x in people.splitlines() if x.startswith("  - ")]
    assert [re.match(r"- \*\*(.+?)\*\*", x)[1] for x in tops] == [
        "Park Jong-han",
        "Casey Mace",
        "Ruth Perry",
        "Lee Ji-yoon",
    ]
    assert people.count("Park Jong-han:") == 0 and len(nested) == len(b.section("people").lines) - 4
    assert "  - Held bilateral consultations during SOM1" in people


@pytest.mark.parametrize("name,now,economy", HANDED_UP)
def test_sources_list_each_quote_once_whole_words_no_fragment_of_another(store, name, now, economy):
    b = brief_of(store, name, now, economy)
    text = to_markdown(b)
    listed = text.split("\n## Sources\n")[1]
    assert len(re.findall(r"^\d+\. ", listed, re.MULTILINE)) == len(b.sources)
    for source in b.sources:
        shown = b.listed_quotes(source)
        folded = [fold(q.rstrip("…")) for q in shown]
        for i, q in enumerate(folded):
            others = folded[:i] + folded[i + 1 :]
            assert not any(q in o for o in others), (source.id, shown[i])
        full = source_text(store, source.id)
        for q in shown:
            stem = fold(q.rstrip("…"))
            assert stem in full, q
            if q.endswith("…"):  # cut at a word's end: what follows in the source is no letter
                after = full[full.index(stem) + len(stem) :][:1]
                assert not after.isalnum(), q
        # Every line citing the source is backed by a listed quote that holds its words.
        for s in b.sections:
            for ln in s.lines:
                if ln.source and ln.source.id == source.id:
                    assert any(fold(ln.quote)[:60] in f for f in folded), ln.quote
    assert "and the B…" not in text


@pytest.mark.parametrize(
    "text,shown",
    [
        ("Q&A (answers only)", "Q&A (answers only)"),
        ("set APEC_DESK_ECONOMY, or ask", "set APEC_DESK_ECONOMY, or ask"),
        (
            "snake_case and _under_ and __strong__",
            "snake_case and \\_under\\_ and \\_\\_strong\\_\\_",
        ),
        ("a*b*c", "a\\*b\\*c"),
        ("# not a heading", "\\# not a heading"),
        ("1. not a list", "1\\. not a list"),
        ("> not a quote", "&gt; not a quote"),
        ("- not a list", "\\- not a list"),
        ("C:\\desk\\notes", "C:\\desk\\notes"),
        ("a \\*literal", "a \\\\\\*literal"),
        ("~~struck~~", "\\~\\~struck\\~\\~"),
        ("AT&T's &amp; &#60;", "AT&T's &amp;amp; &amp;#60;"),
    ],
)
def test_markdown_escapes_only_what_markdown_needs(text, shown):
    assert md_text(text) == shown


def test_brief_markdown_shows_harmless_text_as_written(store):
    text = to_markdown(brief_of(store, "SOM1", AFTER))
    assert "Q&A" in text and "Q&amp;A" not in text
    assert "APEC_DESK_ECONOMY" in text and "APEC\\_DESK" not in text


@pytest.mark.parametrize("limit", range(20, 125, 7))
def test_a_long_quote_is_cut_at_a_sentence_or_a_word_end(limit):
    text = (
        "Park Jong-han led the delegation. He took part in the Economic Committee (EC), "
        "and the Budget and Management Committee (BMC)."
    )
    cut = cut_words(text, limit)
    assert len(cut) <= limit and cut.endswith("…")
    stem = cut.rstrip("…").rstrip()
    assert text.startswith(stem) and not text[len(stem)].isalnum(), cut
