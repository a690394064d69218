"""The brief as a document a desk hands up (issue 21): the .docx reopened with python-docx (page
size, header with the marking, footer with the desk and PAGE / NUMPAGES, author, Key points first,
people grouped, each source once with its distinct whole-word quotes), the template shipped with
the package, the settings read from the environment, and the PDF LibreOffice prints from it.

SOM1 (as of 1 March 2026, for the US) and the 2026 Leaders' Meeting (as of 1 June 2026, for Korea)
are the two briefs the desk hands up most; they are checked throughout.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from docx import Document
from docx.shared import Cm, Inches

import handlers
from bot.config import Config, ConfigError
from handlers.brief import Brief, request
from handlers.brief_docx import TEMPLATE, timeline_picture, to_docx
from store.queries import Store
from store.text import fold
from tests.conftest import ROOT, at
from tests.test_brief import source_text
from tests.test_cli import run

AFTER = at("2026-03-01T09:00+09:00")
JUNE = at("2026-06-01T09:00+09:00")
BRIEFS = {"som1": ("SOM1", AFTER, "US"), "leaders": ("Leaders' Meeting", JUNE, "Korea")}
DESK = "Korea Desk, Asia-Pacific Division"
MARKING = "UNCLASSIFIED"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def brief(store: Store, key: str) -> Brief:
    name, now, economy = BRIEFS[key]
    found = request(store, name, now, economy)
    assert isinstance(found, Brief)
    return found


def reopened(b: Brief, **settings):
    return Document(io.BytesIO(to_docx(b, **settings)))


def body(doc) -> list[tuple[str, str]]:
    return [(p.style.name, p.text) for p in doc.paragraphs]


def section_of(paragraphs: list[tuple[str, str]], title: str) -> list[tuple[str, str]]:
    """The paragraphs under a Heading 1, up to the next."""
    start = paragraphs.index(("Heading 1", title)) + 1
    rest = paragraphs[start:]
    end = next((i for i, (style, _) in enumerate(rest) if style == "Heading 1"), len(rest))
    return rest[:end]


def fields(part) -> list[str]:
    """The instructions of the Word fields in a header or footer (complex or simple)."""
    el = part._element
    found = [t.text.strip() for t in el.iter(f"{W}instrText")]
    return found + [f.get(f"{W}instr").strip() for f in el.iter(f"{W}fldSimple")]


# -- the page, the header, the footer, the properties ---------------------------------------------


@pytest.mark.parametrize("key", BRIEFS)
def test_a4_by_default_letter_by_setting(store, key):
    b = brief(store, key)
    for section in reopened(b, desk=DESK).sections:
        assert abs(section.page_width - Cm(21)) < Cm(0.05)
        assert abs(section.page_height - Cm(29.7)) < Cm(0.05)
    for section in reopened(b, desk=DESK, paper="letter").sections:
        assert abs(section.page_width - Inches(8.5)) < Cm(0.05)
        assert abs(section.page_height - Inches(11)) < Cm(0.05)


@pytest.mark.parametrize("key", BRIEFS)
def test_every_section_has_the_marking_above_and_the_desk_with_page_n_of_m_below(store, key):
    b = brief(store, key)
    doc = reopened(b, desk=DESK, marking=MARKING)
    for section in doc.sections:
        header = [p.text for p in section.header.paragraphs]
        assert header[0] == MARKING
        assert f"Brief: {b.meeting.short}" in " ".join(header) and b.as_of in " ".join(header)
        footer = " ".join(p.text for p in section.footer.paragraphs)
        assert DESK in footer and "Page" in footer and " of " in footer
        assert fields(section.footer) == ["PAGE", "NUMPAGES"]
        assert "{" not in " ".join(header) + footer  # every placeholder filled


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_the_page_numbers_stand_at_the_right_margin_on_either_paper(store, paper):
    section = reopened(brief(store, "som1"), desk=DESK, paper=paper).sections[0]
    (line,) = section.footer.paragraphs
    stops = list(line.paragraph_format.tab_stops)
    width = section.page_width - section.left_margin - section.right_margin
    assert [abs(t.position - width) < Cm(0.05) for t in stops] == [True]
    assert list(line.style.paragraph_format.tab_stops) == []  # none of the style's left over


def test_no_marking_set_shows_no_marking_line(store):
    doc = reopened(brief(store, "som1"), desk=DESK)
    header = [p.text for p in doc.sections[0].header.paragraphs]
    assert header == ["Brief: SOM1 · as of 1 March 2026 · for United States of America"]


@pytest.mark.parametrize("key", BRIEFS)
def test_the_author_is_the_desk_never_python_docx(store, key):
    b = brief(store, key)
    props = reopened(b, desk=DESK).core_properties
    assert props.author == DESK and props.last_modified_by == DESK
    assert props.title == b.heading
    assert "python-docx" not in " ".join(
        str(getattr(props, f))
        for f in (
            "author",
            "last_modified_by",
            "comments",
            "keywords",
            "subject",
            "category",
        )
    )
    assert reopened(b).core_properties.author == "APEC desk"  # no desk named: still not python-docx


# -- the body --------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", BRIEFS)
def test_title_block_then_key_points_first_three_to_five_each_cited(store, key):
    b = brief(store, key)
    paragraphs = body(reopened(b, desk=DESK))
    assert paragraphs[0] == ("Title", b.heading)
    block = [t for style, t in paragraphs[1:] if style == "Brief Meta"]
    assert block[0].startswith("Dates: ") and any(t == f"As of: {b.as_of}" for t in block)
    assert any(t == f"For: {b.economy.name}" for t in block)
    headings = [t for style, t in paragraphs if style == "Heading 1"]
    assert headings[0] == "Key points"
    first = paragraphs.index(("Heading 1", "Key points"))
    assert all(style in ("Brief Meta", "Brief Note") for style, _ in paragraphs[1:first])
    points = [t for style, t in section_of(paragraphs, "Key points") if style == "List Bullet"]
    assert 3 <= len(points) <= 5
    for t in points:
        assert re.search(r" \[\d+\]$", t) or t.startswith("Not on record:"), t


def test_people_are_grouped_one_per_person(store):
    b = brief(store, "som1")
    people = section_of(body(reopened(b, desk=DESK)), "People")
    tops = [t for style, t in people if style == "List Bullet"]
    assert [t.split(" — ")[0] for t in tops] == [
        "Park Jong-han",
        "Casey Mace",
        "Ruth Perry",
        "Lee Ji-yoon",
    ]
    actions = [t for style, t in people if style == "List Bullet 2"]
    assert len(actions) == len(b.section("people").lines) - 4
    assert not any("Park Jong-han:" in t for _, t in people)
    assert any(t.startswith("Held bilateral consultations during SOM1") for t in actions)


@pytest.mark.parametrize("key", BRIEFS)
def test_each_source_once_with_distinct_whole_word_quotes(store, key):
    b = brief(store, key)
    sources = section_of(body(reopened(b, desk=DESK)), "Sources")
    entries: list[tuple[str, list[str]]] = []
    for style, t in sources:
        if style == "Source Entry":
            entries.append((t, []))
        elif style == "List Bullet 2":
            entries[-1][1].append(t.strip("“”"))
    assert [e for e, _ in entries] == [f"[{n}] {s.cite()}" for n, s in enumerate(b.sources, 1)]
    assert len({e.split("] ", 1)[1] for e, _ in entries}) == len(entries)  # no source twice
    for (entry, quotes), source in zip(entries, b.sources, strict=True):
        folded = [fold(q.rstrip("…")) for q in quotes]
        assert len(set(folded)) == len(folded), entry
        for i, q in enumerate(folded):
            assert not any(q in o for o in folded[:i] + folded[i + 1 :]), (entry, quotes[i])
        text = source_text(store, source.id)
        for q, f in zip(quotes, folded, strict=True):
            assert f in text, (entry, q)
            if q.endswith("…"):
                assert not text[text.index(f) + len(f) :][:1].isalnum(), (entry, q)


def test_template_is_shipped_with_the_package():
    assert TEMPLATE == Path(handlers.__file__).parent / "templates" / "brief.docx"
    assert TEMPLATE.is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data = config["tool"]["setuptools"]["package-data"]["handlers"]
    assert "templates/*.docx" in data
    template = Document(str(TEMPLATE))
    assert template.core_properties.author == "" and template.paragraphs == []
    assert "Brief Meta" in [s.name for s in template.styles]


# -- settings --------------------------------------------------------------------------------------


def test_settings_come_from_the_environment():
    config = Config.from_env(
        {"APEC_DESK_NAME": f" {DESK} ", "APEC_BRIEF_MARKING": MARKING, "APEC_BRIEF_PAPER": "Letter"}
    )
    assert (config.desk_name, config.brief_marking, config.brief_paper) == (DESK, MARKING, "letter")
    default = Config.from_env({})
    assert (default.desk_name, default.brief_marking, default.brief_paper) == (
        "APEC desk",
        "",
        "a4",
    )
    with pytest.raises(ConfigError, match="APEC_BRIEF_PAPER"):
        Config.from_env({"APEC_BRIEF_PAPER": "A5"})


def test_cli_writes_the_document_with_the_settings(db_path: Path, tmp_path: Path):
    out = tmp_path / "som1.docx"
    env = {
        "APEC_DB": str(db_path),
        "APEC_DESK_NAME": DESK,
        "APEC_BRIEF_MARKING": MARKING,
        "APEC_BRIEF_PAPER": "letter",
    }
    done = run(
        "brief",
        "SOM1",
        "--now",
        "2026-03-01T09:00+09:00",
        "--for",
        "US",
        "--format",
        "docx",
        "-o",
        str(out),
        env=env,
    )
    assert done.returncode == 0, done.stderr
    doc = Document(str(out))
    assert doc.core_properties.author == DESK
    assert doc.sections[0].header.paragraphs[0].text == MARKING
    assert abs(doc.sections[0].page_width - Inches(8.5)) < Cm(0.05)


# -- printed: LibreOffice's PDF --------------------------------------------------------------------

SOFFICE = shutil.which("soffice")
POPPLER = shutil.which("pdftotext") and shutil.which("pdfinfo") and shutil.which("pdftoppm")
needs_print = pytest.mark.skipif(
    not (SOFFICE and POPPLER), reason="LibreOffice (soffice) and poppler-utils are not installed"
)


def printed(docx: bytes, folder: Path, name: str) -> Path:
    """The .docx converted to PDF by LibreOffice headless, with a profile of its own."""
    source = folder / f"{name}.docx"
    source.write_bytes(docx)
    profile = (folder / "lo-profile").as_uri()
    done = subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    pdf = folder / f"{name}.pdf"
    assert pdf.is_file(), done.stderr
    return pdf


def pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True)
    return [p for p in text.stdout.split("\f") if p.strip()]


def page_sizes(pdf: Path) -> list[tuple[float, float]]:
    info = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "999", str(pdf)], capture_output=True, text=True
    )
    return [
        (float(w), float(h))
        for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info.stdout)
    ]


@needs_print
@pytest.mark.parametrize("key", BRIEFS)
def test_printed_a4_key_points_on_page_one_header_and_footer_on_every_page(store, tmp_path, key):
    b = brief(store, key)
    pdf = printed(to_docx(b, desk=DESK, marking=MARKING), tmp_path, key)
    sizes = page_sizes(pdf)
    assert sizes and all(abs(w - 595.3) < 1 and abs(h - 841.9) < 1 for w, h in sizes), sizes
    text = pages(pdf)
    assert len(text) == len(sizes) >= 2
    assert "Key points" in text[0] and b.heading.split(" — ")[0] in text[0]
    for n, page in enumerate(text, 1):
        assert MARKING in page and DESK in page, n
        assert re.search(rf"Page {n} of {len(text)}\b", page), (n, page[-300:])


def test_the_timeline_follows_key_points_and_a_bad_picture_leaves_the_brief_whole(store):
    b = brief(store, "som1")
    png = timeline_picture(store, b)
    if png is None:
        pytest.skip("handlers/timeline.py is not there (or cannot draw here)")
    doc = reopened(b, desk=DESK, timeline=png)
    texts = [(p.style.name, p.text) for p in doc.paragraphs]
    drawn = [i for i, p in enumerate(doc.paragraphs) if p._p.findall(f".//{W}drawing")]
    key, meeting = (
        texts.index(("Heading 1", "Key points")),
        texts.index(("Heading 1", "The meeting")),
    )
    assert len(drawn) == 1 and key < drawn[0] < meeting
    assert texts[drawn[0] - 1][1].startswith("Not on record:")  # after the last key point
    bad = reopened(b, desk=DESK, timeline=b"not a picture")
    assert body(bad) == body(reopened(b, desk=DESK))
