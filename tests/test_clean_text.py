"""Clean text in, clean text out: invisible and formatting characters never reach the store, and
formatting marks quoted from a source or a user are shown as written, never rendered."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from handlers.proposals import document_card
from handlers.render import Card
from handlers.router import Ask, route
from store import watch
from store.db import connect
from store.fetch import Fetcher
from store.queries import Store
from store.text import BIDI_CONTROLS, ZERO_WIDTH, clean, passages, sentences
from tests.conftest import ADMIN, SEEDS, at

NOW = at("2026-07-03T09:00+09:00")
LOCAL = ("localhost", "127.0.0.1")
RLO, PDF, ZWSP = "\u202e", "\u202c", "\u200b"


def _unwanted(text: str, multiline: bool) -> list[str]:
    """The code points `clean` must never leave in: zero-width and bidi controls, controls
    (but a new line and a tab in multi-line text), surrogates; a joiner only between two
    visible characters."""
    found = []
    for i, ch in enumerate(text):
        cat = unicodedata.category(ch)
        if ord(ch) in BIDI_CONTROLS or ord(ch) in ZERO_WIDTH or cat == "Cs":
            found.append(ch)
        elif cat == "Cc" and not (multiline and ch in "\n\t"):
            found.append(ch)
        elif ch in "\u200c\u200d":
            around = text[i - 1 : i] + text[i + 1 : i + 2]
            if len(around) < 2 or not all(unicodedata.category(c)[0] in "LMNS" for c in around):
                found.append(ch)
    return found


# Text as hostile as it comes: every kind of character, the invisible ones often.
_TRICKY = st.sampled_from(
    [
        *"\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u061c\u00ad\u180e\u3164",
        *map(chr, range(0x202A, 0x202F)),
        *map(chr, range(0x2066, 0x206A)),
        *"\x00\x07\x1b\x7f\x85\x9b\r\n\t\u2028\u2029 \u00a0",
        "e\u0301",
        "👨",
        "ی",
        "a",
    ]
)
_ANY = st.lists(st.one_of(st.characters(), _TRICKY), max_size=40).map("".join)


@given(_ANY, st.booleans())
def test_cleaned_text_has_no_invisible_or_control_characters_and_cleaning_again_changes_nothing(
    text, multiline
):
    once = clean(text, multiline=multiline)
    assert _unwanted(once, multiline) == []
    assert clean(once, multiline=multiline) == once
    assert once == unicodedata.normalize("NFC", once)
    assert once == once.strip()
    if not multiline:
        assert "\n" not in once and "  " not in once


@pytest.mark.parametrize(
    ("raw", "multiline", "expected"),
    [
        ("  SOM3\u200b  ", False, "SOM3"),
        (f"Dalian {RLO}nailaD{PDF}", False, "Dalian nailaD"),
        ("\ufeffThird\u2060 SOM", False, "Third SOM"),
        ("Cafe\u0301", False, "Café"),  # NFC
        ("line one\r\n\r\n\r\n\x07line\ttwo", True, "line one\n\nline\ttwo"),
        ("line one\nline\ttwo", False, "line one line two"),
        # Persian needs ZWNJ inside a word, emoji sequences ZWJ: both kept where they join.
        ("می\u200cخواهم", False, "می\u200cخواهم"),
        ("👨\u200d👩\u200d👧", False, "👨\u200d👩\u200d👧"),
        ("\u200c\u200d", False, ""),
        ("SOM\u200d ", False, "SOM"),
        # Right-to-left text itself is text: only the controls go.
        ("\u202bשלום\u202c APEC", False, "שלום APEC"),
    ],
)
def test_clean_keeps_text_and_drops_what_is_not(raw, multiline, expected):
    assert clean(raw, multiline=multiline) == expected


# -- admin edits ---------------------------------------------------------------------------------


def admin_says(store: Store, text: str) -> Card:
    return route(
        Ask(
            store=store,
            now=NOW,
            text=text,
            user=ADMIN,
            channel="C1",
            can_edit=lambda: True,
            seeds=SEEDS,
        )
    )


def test_a_meeting_named_only_by_a_zero_width_space_is_refused_and_not_stored(store):
    before = store.db.execute("SELECT count(*) FROM desk_meetings").fetchone()[0]
    reply = admin_says(store, f'add-meeting "{ZWSP}" 2026-09-01 Xian').plain()
    assert "name" in reply.lower() and "Added" not in reply
    assert store.db.execute("SELECT count(*) FROM desk_meetings").fetchone()[0] == before
    assert store.db.execute("SELECT count(*) FROM audit").fetchone()[0] == 0


def test_every_field_an_admin_types_is_cleaned_before_it_is_kept(store):
    admin_says(
        store,
        f'add-meeting "Ocean{ZWSP} {RLO}ministers{PDF} dinner" 2026-09-01 '
        f'"Xi{ZWSP}an" host=CN note="From {RLO}MOFA\x07"',
    )
    (record,) = [json.loads(r[0]) for r in store.db.execute("SELECT record FROM desk_meetings")]
    assert record["name"] == "Ocean ministers dinner"
    assert record["city"] == "Xian" and record["note"] == "From MOFA"
    m = store.refresh().meeting("Ocean ministers dinner")
    assert m is not None and m.city == "Xian"


def test_a_delegate_named_only_by_invisible_characters_is_refused(store):
    reply = admin_says(store, f'add-delegate US SOM3 "{ZWSP}{RLO}" "Deputy"').plain()
    assert "name" in reply.lower()
    assert store.db.execute("SELECT count(*) FROM desk_delegates").fetchone()[0] == 0


# -- a watched source --------------------------------------------------------------------------

# A plain-text page is read as it is (an HTML page goes through trafilatura, which drops some of
# these itself): what the source sends is what reaches ingest.
MOVED = f"""SOM3 dates set{ZWSP}

Exampleport, 2 July 2026. The ministry has been told that the Third Senior Officials' Meeting
(SOM3) will be held in {RLO}Dalian{PDF} from 10 to 21 August 2026.{ZWSP}

The ministry will send a delegation of six officials.
"""


@pytest.fixture
def http() -> Iterator[HTTPServer]:
    with HTTPServer() as srv:
        yield srv


def test_a_right_to_left_override_in_a_watched_item_reaches_neither_the_store_nor_a_message(
    db_path, http
):
    http.expect_request("/som3.txt").respond_with_data(
        MOVED, content_type="text/plain; charset=utf-8"
    )
    db = connect(db_path)
    try:
        url = http.url_for("/som3.txt")
        watch.add(db, url, "U1", NOW, LOCAL)
        with Fetcher(allow=LOCAL) as f:
            (polled,) = watch.run(db, now=NOW, seeds=SEEDS, fetcher=f)
        assert polled.error == "", polled.error
        stored = [
            *(r[0] for r in db.execute("SELECT text FROM desk_documents")),
            *(r[0] for r in db.execute("SELECT text FROM passages")),
            *(r[0] for r in db.execute("SELECT quote || change || record FROM proposals")),
            *(r[0] for r in db.execute("SELECT title FROM sources")),
        ]
        assert any("Dalian from 10 to 21 August 2026" in s for s in stored)
        assert not [s for s in stored if RLO in s or PDF in s or ZWSP in s]
        (source_id,) = {r[0] for r in db.execute("SELECT source_id FROM proposals")}
        payload = json.dumps(document_card(Store(db), source_id).payload(), ensure_ascii=False)
        assert "Dalian from 10 to 21 August 2026" in payload
        assert RLO not in payload and ZWSP not in payload
    finally:
        db.close()


# -- clean text out: quotes shown as written ---------------------------------------------------


def _rich_texts(payload: dict) -> list[str]:
    """The words of every rich_text quote in a payload (Slack renders no mrkdwn in them)."""
    return [
        el["text"]
        for block in payload["blocks"]
        if block["type"] == "rich_text"
        for part in block["elements"]
        if part["type"] == "rich_text_quote"
        for el in part["elements"]
        if el["type"] == "text"
    ]


def _mrkdwn(payload: dict) -> str:
    texts = []
    for block in payload["blocks"]:
        if block.get("text", {}).get("type") == "mrkdwn":
            texts.append(block["text"]["text"])
        texts.extend(e["text"] for e in block.get("elements", []) if e.get("type") == "mrkdwn")
    return "\n".join(texts)


def test_a_quote_is_a_rich_text_quote_whose_marks_stay_literal():
    payload = Card().quote("~not~ agreed, *bold* _it_ `code`\n> <@U123> & <!here>").payload()
    (words,) = _rich_texts(payload)
    assert words == "“~not~ agreed, *bold* _it_ `code`\n> <@U123> & <!here>”"
    # the notification text is mrkdwn: escaped there, once, so nothing in it is a live mention
    assert "&lt;@U123&gt;" in payload["text"] and "<@U123>" not in payload["text"]


def test_a_source_quote_in_a_proposal_card_shows_its_tildes_and_is_not_struck_through(store):
    with store.db.conn:
        store.db.execute(
            """INSERT INTO proposals (source_id, kind, target, record, quote, change, status,
                                      created_at, fingerprint)
               VALUES ('us-state-som1', 'date-meeting', 'som3-2026',
                       '{"dates": "2026-08-10..2026-08-21"}',
                       'SOM3 dates ~not~ agreed *yet*', 'SOM3: dates 10–21 August 2026', 'open',
                       '2026-07-01T00:00:00+00:00', 'x')"""
        )
    payload = document_card(store, "us-state-som1").payload()
    assert any("SOM3 dates ~not~ agreed *yet*" in t for t in _rich_texts(payload))
    assert "~not~" not in _mrkdwn(payload)


def test_a_source_quote_under_an_answer_shows_its_marks_as_written(store):
    # A source's words with Slack's marks in them: cited under an answer, they must read as typed,
    # not struck through or bold (mrkdwn has no escape, so the quote is a plain_text element).
    with store.db.conn:
        store.db.execute(
            "UPDATE meetings SET quote = 'SOM3 in Dalian in August, dates ~not~ *yet* set' "
            "WHERE id = 'som3-2026'"
        )
    store.refresh()
    ask = Ask(
        store=store, now=at("2026-07-01T09:00+00:00"), text="meeting SOM3", user="U1", channel="C1"
    )
    payload = route(ask).payload()
    plain = [
        e["text"]
        for b in payload["blocks"]
        if b["type"] == "context"
        for e in b["elements"]
        if e["type"] == "plain_text"
    ]
    assert any("dates ~not~ *yet* set" in t for t in plain), payload["blocks"]
    assert "~not~" not in _mrkdwn(payload)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # seeds 001 and 003: a quote cut at "U.S." said "Casey Mace is the U.S."
            "Casey Mace is the U.S. Senior Official to APEC (a State Department appointee). "
            "In that role he leads U.S. engagement.",
            [
                "Casey Mace is the U.S. Senior Official to APEC (a State Department appointee).",
                "In that role he leads U.S. engagement.",
            ],
        ),
        ("The P.R.C. Foreign Ministry spoke. It was brief.", None),
        ("Mr. Park and Dr. Lee met. They talked.", ["Mr. Park and Dr. Lee met.", "They talked."]),
        ("John F. Kennedy spoke. Then he left.", ["John F. Kennedy spoke.", "Then he left."]),
        ("Was it held? Yes! “It was,” he said.", ["Was it held?", "Yes!", "“It was,” he said."]),
        ("Ended on 10 Feb. The next began.", ["Ended on 10 Feb.", "The next began."]),
        ("", [""]),
    ],
)
def test_sentences_end_at_a_stop_not_at_an_initialism_or_a_title(text, expected):
    if expected is None:
        expected = [text[: text.index(" It")], "It was brief."]
    assert sentences(text) == expected


def test_no_sentence_of_the_seeds_ends_inside_a_name_or_an_initialism():
    """Every sentence a quote can be: none ends at "U.S." or "Mr." with its sentence going on."""
    cut = re.compile(r"(?:\b(?:[A-Za-z]\.){2,}|\b(?:Mr|Mrs|Ms|Dr)\.)$")
    for path in sorted(SEEDS.glob("*.txt")):
        for passage in passages(clean(path.read_text(encoding="utf-8"), multiline=True)):
            assert not [s for s in sentences(passage.text) if cut.search(s)], path.name
