"""`/apec sources`, a page at a time: on a store of 53 sources (the six seeds and 47 more), built
once from a copy of seeds/, and with a document the desk added."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.console import reply_for
from handlers.answer import NO_SOURCE, NO_SOURCE_HINT, answer
from handlers.info import NEXT_ACTION, PAGE_SIZE, PREVIOUS_ACTION
from handlers.render import SHARE_ACTION
from handlers.router import Ask, route
from store.db import connect
from store.ingest import ingest
from store.queries import RANK_CAP, SOURCE_ORDER, Store
from tests.conftest import SEEDS, at, build_at

NOW = at("2026-06-01T09:00+09:00")  # every source out (the desk note is of 19 May)
EXTRA = 47  # generated sources: 53 in all, three pages (20, 20, 13)
TOTAL = 6 + EXTRA
PAGES = 3


@pytest.fixture(scope="session")
def paged_seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of seeds/ with EXTRA short press releases more, listed in its desk.toml."""
    seeds = tmp_path_factory.mktemp("paged") / "seeds"
    shutil.copytree(SEEDS, seeds)
    (seeds / "zz-extra").mkdir()
    entries = []
    for n in range(EXTRA):
        name = f"zz-extra/release-{n:02d}.txt"
        title = f"Working group note {n:02d} on tariff schedules"
        (seeds / name).write_text(
            f"{title}\n\nOfficials reviewed tariff schedules and customs forms, note {n:02d}.\n",
            encoding="utf-8",
        )
        fields = {"id": f"extra-{n:02d}", "file": name, "title": title, "kind": "press release"}
        entries.append(
            "\n[[sources]]\n"
            + "".join(f"{k} = {json.dumps(v)}\n" for k, v in fields.items())
            + "reference_date = 2026-01-15\n"
        )
    with (seeds / "desk.toml").open("a", encoding="utf-8") as desk:
        desk.write("".join(entries))
    return seeds


@pytest.fixture(scope="session")
def paged_db(paged_seeds: Path) -> Path:
    """The store built from them, once."""
    return build_at(paged_seeds.parent / "apec.db", paged_seeds)


@pytest.fixture
def paged(paged_db: Path, tmp_path: Path) -> Store:
    path = tmp_path / "apec.db"
    shutil.copy(paged_db, path)
    db = connect(path)
    yield Store(db)
    db.close()


def ask(store: Store, text: str):
    return route(Ask(store=store, now=NOW, text=text))


def listed(card) -> list[str]:
    """The titles a page lists, in order."""
    return [
        line.split(" — ")[0].lstrip("• ") for line in card.plain().splitlines() if line[:1] == "•"
    ]


def titles(sources) -> list[str]:
    return [f"{s.title}, {s.publisher}" if s.publisher else s.title for s in sources]


def buttons(card) -> dict[str, str]:
    return {b.action_id: b.value for b in card.buttons}


def test_the_first_page_lists_twenty_sources_seeds_first_with_a_next_button(paged):
    card = ask(paged, "sources")
    text = card.plain()
    assert text.startswith(f"{TOTAL} sources, page 1 of {PAGES}")
    assert listed(card) == titles(paged.sources()[:PAGE_SIZE])
    assert listed(card)[0].startswith("APEC 2026 First Senior Officials' Meeting Held in Guangzhou")
    assert buttons(card) == {NEXT_ACTION: "sources 2", SHARE_ACTION: "sources"}
    assert "Sources 1–20 · next: `/apec sources 2` · last: `/apec sources 3`" in text


def test_a_middle_page_lists_the_next_twenty_with_buttons_both_ways(paged):
    card = ask(paged, "sources 2")
    assert card.plain().startswith(f"{TOTAL} sources, page 2 of {PAGES}")
    assert listed(card) == titles(paged.sources()[PAGE_SIZE : 2 * PAGE_SIZE])
    assert buttons(card) == {
        PREVIOUS_ACTION: "sources 1",
        NEXT_ACTION: "sources 3",
        SHARE_ACTION: "sources 2",
    }


def test_the_last_page_lists_the_rest_with_only_a_previous_button(paged):
    card = ask(paged, "sources 3")
    assert listed(card) == titles(paged.sources()[2 * PAGE_SIZE :])
    assert len(listed(card)) == TOTAL - 2 * PAGE_SIZE
    assert buttons(card) == {PREVIOUS_ACTION: "sources 2", SHARE_ACTION: "sources 3"}
    assert "Sources 41–53 · previous: `/apec sources 2`" in card.plain()


def test_the_buttons_lead_through_every_page_and_back(paged):
    seen, card = [], ask(paged, "sources")
    for _ in range(PAGES):
        seen += listed(card)
        if NEXT_ACTION not in buttons(card):
            break
        card = ask(paged, buttons(card)[NEXT_ACTION])
    assert seen == titles(paged.sources()) and NEXT_ACTION not in buttons(card)
    back = ask(paged, buttons(card)[PREVIOUS_ACTION])
    assert listed(back) == titles(paged.sources()[PAGE_SIZE : 2 * PAGE_SIZE])


@pytest.mark.parametrize(
    "typed",
    ["sources 2", "sources page 2", "Sources Page 2", "source 2", "sources p2", "sources 02"],
)
def test_a_page_can_be_typed_in_several_ways(paged, typed):
    assert listed(ask(paged, typed)) == titles(paged.sources()[PAGE_SIZE : 2 * PAGE_SIZE])


@pytest.mark.parametrize(("typed", "page"), [("sources first", 1), ("sources last", 3)])
def test_first_and_last_are_pages_too(paged, typed, page):
    assert ask(paged, typed).plain().startswith(f"{TOTAL} sources, page {page} of {PAGES}")


def test_the_console_gets_the_same_pages(paged):
    console = Ask(store=paged, now=NOW, user="console", channel="console", via="console")
    text = reply_for("/apec sources 2", console)
    assert text == ask(paged, "sources 2").plain()
    assert "next: `/apec sources 3`" in text


HOSTILE = [
    ("0", "Pages start at 1."),
    ("-1", "Pages start at 1."),
    ("page 0", "Pages start at 1."),
    ("4", "No page 4."),
    ("99999999999999999999", "No page 99999999999999999999."),
    ("9" * 1900, "No page 99999999999999999999."),
    ("abc", "I can't read `abc` as a page number."),
    ("2 3", "I can't read `2 3` as a page number."),
    ("1e3", "I can't read `1e3` as a page number."),
    ("page", "I can't read `page` as a page number."),
    ("٣", "I can't read `٣` as a page number."),
    ("<!channel>", "I can't read `&lt;!channel&gt;` as a page number."),
]


@pytest.mark.parametrize(("args", "says"), HOSTILE)
def test_odd_page_numbers_get_a_short_helpful_reply(paged, args, says):
    card = ask(paged, f"sources {args}")
    payload = card.payload()
    assert payload["text"].startswith(says)
    assert (
        "There are 3 pages of sources: `/apec sources 1` to `/apec sources 3`." in payload["text"]
    )
    assert "Usage: `/apec sources [PAGE]`" in payload["text"]
    assert not listed(card) and len(payload["text"]) < 400


def test_a_store_on_one_page_lists_all_and_has_no_page_buttons(store):
    card = ask(store, "sources")
    assert card.plain().startswith("6 sources\n") and len(listed(card)) == 6
    assert set(buttons(card)) == {SHARE_ACTION}
    assert (
        ask(store, "sources 2")
        .plain()
        .startswith("No page 2. The sources fit on one page: `/apec sources`.")
    )


def test_a_source_the_desk_adds_appears_last_on_the_last_page(paged, paged_seeds, tmp_path):
    release = tmp_path / "note.md"
    release.write_text("# Desk note on the SOM2 venue\n\nSOM2 is in Shanghai.\n", encoding="utf-8")
    ingest(paged.db, release, NOW, paged_seeds)
    paged.refresh()
    card = ask(paged, "sources 3")
    assert card.plain().startswith(f"{TOTAL + 1} sources, page 3 of {PAGES}")
    last = card.plain().splitlines()[len(listed(card))]
    assert "Desk note on the SOM2 venue" in last and last.endswith("(added by the desk)")


def test_a_page_is_read_through_the_listing_index_not_sorted(paged):
    plan = paged.db.execute(
        f"EXPLAIN QUERY PLAN SELECT * FROM sources ORDER BY {SOURCE_ORDER} LIMIT 20 OFFSET 40"
    ).fetchall()
    details = " ".join(row[-1] for row in plan)
    assert "sources_listing" in details and "TEMP B-TREE" not in details


UNANSWERED = ["What is the capital of Peru?", "what customs forms does Peru use?", "asdf qwer"]


@pytest.mark.parametrize("cap", [RANK_CAP, 10, 1])
def test_a_question_nothing_answers_says_no_source_as_before_whatever_counts_as_common(paged, cap):
    # With a small cap the generated releases' words ("customs", "forms") count as common.
    capped = Store(paged.db, rank_cap=cap)
    for question in UNANSWERED:
        assert answer(capped, question, NOW).plain() == f"{NO_SOURCE}\n{NO_SOURCE_HINT}"
