"""The brief as a Word document a desk hands up, written on the template
handlers/templates/brief.docx.

The template holds the look (A4, margins, fonts, the headings, the header and the footer with Word's
PAGE and NUMPAGES fields; handlers/templates/make_brief_template.py makes it); this module fills it:
the header's marking line (APEC_BRIEF_MARKING; none by default, and then no line at all) over a
running title, the footer's desk name (APEC_DESK_NAME, also the file's author), the paper
(APEC_BRIEF_PAPER: A4, or US Letter), a title block, Key points first, then every section.

python-docx has no API for footnotes or endnotes, so the sources are endnotes written by hand: every
line ends with a marker [n], and the last heading, "Sources", lists source n once as a paragraph
that starts "[n]", with its date, followed by the distinct quotes cited from it.
"""

from __future__ import annotations

import io
import logging
import re
from datetime import UTC, date
from pathlib import Path
from typing import Any

from handlers.brief import Brief, Section, grouped
from handlers.render import when

log = logging.getLogger(__name__)

TEMPLATE = Path(__file__).resolve().parent / "templates" / "brief.docx"
DESK = "APEC desk"  # the author and footer when no APEC_DESK_NAME is set
PAPERS = {"a4": (11906, 16838), "letter": (12240, 15840)}  # twentieths of a point (twips)
TIMELINE_WIDTH_CM = 16.0

# Characters XML 1.0 (and so Word) cannot hold; a fetched document may carry them.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _safe(text: str) -> str:
    return _NOT_XML.sub(" ", text)


def to_docx(
    b: Brief, *, desk: str = "", marking: str = "", paper: str = "a4", timeline: bytes | None = None
) -> bytes:
    """The whole note as a .docx file's bytes; `timeline`, a PNG, goes after Key points."""
    from docx import Document  # 60 ms to import: only when a document is asked for
    from docx.shared import Twips

    desk = desk.strip() or DESK
    doc = Document(str(TEMPLATE))
    _clear_body(doc)
    width, height = PAPERS[paper.lower()]
    for page in doc.sections:  # Word's sections: the page set-up, with its header and footer
        page.page_width, page.page_height = Twips(width), Twips(height)
        _fill(page.header, {"{marking}": marking.strip(), "{running}": _running(b)})
        _fill(page.footer, {"{desk}": desk})
        _drop_empty(page.header)
        _right_tab(page)
    _properties(doc, b, desk)

    doc.add_paragraph(_safe(b.heading), style="Title")
    for line in _title_block(b, desk):
        doc.add_paragraph(_safe(line), style="Brief Meta")
    doc.add_paragraph(
        "Every line ends with [n], the number of its source in the Sources at the end; a line "
        "with none says what no source gives.",
        style="Brief Note",
    )
    for section in b.sections:
        _section(doc, b, section)
        if section.key == "key" and timeline:
            _picture(doc, timeline)
    doc.add_heading("Sources", level=1)
    for n, source in enumerate(b.sources, 1):
        doc.add_paragraph(_safe(f"[{n}] {source.cite()}"), style="Source Entry")
        for quote in b.listed_quotes(source):
            doc.add_paragraph(_safe(f"“{quote}”"), style="List Bullet 2")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _title_block(b: Brief, desk: str) -> list[str]:
    m = b.meeting
    where = f" · {m.place}" if m.place else ""
    who = b.economy.name if b.economy else "no economy chosen (set APEC_DESK_ECONOMY)"
    return [
        f"Dates: {when(m)}{where}",
        f"Status: {b.countdown}",
        f"As of: {b.as_of}",
        f"For: {who}",
        f"Prepared by: {desk}",
    ]


def _running(b: Brief) -> str:
    """The header's running title: "Brief: SOM1 · as of 1 March 2026 · for Korea"."""
    who = f" · for {b.economy.name}" if b.economy else ""
    return _safe(f"Brief: {b.meeting.short} · as of {b.as_of}{who}")


def _section(doc: Any, b: Brief, section: Section) -> None:
    doc.add_heading(_safe(section.title), level=1)
    if section.note:
        doc.add_paragraph(_safe(section.note), style="Brief Note")
    for line, first in grouped(section):
        mark = f" [{b.number(line.source)}]" if line.source is not None else ""
        if section.grouped and not first:
            doc.add_paragraph(_safe(line.text + mark), style="List Bullet 2")
            continue
        p = doc.add_paragraph(style="List Bullet")
        if section.grouped:
            p.add_run(_safe(line.label)).bold = True
            p.add_run(_safe(f" — {line.text}{mark}"))
        else:
            if line.label:
                p.add_run(_safe(f"{line.label}: ")).bold = True
            p.add_run(_safe(line.text + mark))


def _picture(doc: Any, png: bytes) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm

    p = doc.add_paragraph()
    try:
        p.add_run().add_picture(io.BytesIO(png), width=Cm(TIMELINE_WIDTH_CM))
    except Exception:  # a picture python-docx cannot read leaves the brief as it was without it
        log.warning("the timeline picture could not be added to the brief", exc_info=True)
        p._p.getparent().remove(p._p)
        return
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER


def timeline_picture(store: Any, b: Brief) -> bytes | None:
    """The timeline picture of the meeting's APEC year, with the meeting marked, from
    handlers/timeline.py; None where that module is missing or its rendering fails: the brief
    is written without it."""
    try:
        from handlers.timeline import timeline_png
    except ImportError:
        return None
    year = b.meeting.year or b.now.year
    try:
        return timeline_png(
            store, date(year, 1, 1), date(year, 12, 31), b.now.astimezone(b.tz).date(), b.meeting.id
        )
    except Exception:  # a picture is an extra: never the reason a brief is not written
        log.warning("the timeline picture could not be rendered", exc_info=True)
        return None


# -- the template's parts ------------------------------------------------------------------------


def _clear_body(doc: Any) -> None:
    """The template's body emptied, its section properties (page, header, footer) kept."""
    body = doc.element.body
    for child in list(body):
        if not child.tag.endswith("}sectPr"):
            body.remove(child)


def _fill(part: Any, values: dict[str, str]) -> None:
    """Placeholders ({desk}) replaced in the runs of a header or footer (each is one run)."""
    for p in part.paragraphs:
        for run in p.runs:
            for key, value in values.items():
                if key in run.text:
                    run.text = run.text.replace(key, _safe(value))


def _drop_empty(part: Any) -> None:
    """A header line left empty (no marking set) is removed rather than left as a blank line."""
    for p in part.paragraphs:
        if not p.text.strip() and len(part.paragraphs) > 1:
            p._p.getparent().remove(p._p)


def _right_tab(section: Any) -> None:
    """The footer's right tab stop at the text's right edge, for the paper chosen."""
    from docx.enum.text import WD_TAB_ALIGNMENT

    width = section.page_width - section.left_margin - section.right_margin
    for p in section.footer.paragraphs:
        stops = p.paragraph_format.tab_stops
        stops.clear_all()
        stops.add_tab_stop(width, WD_TAB_ALIGNMENT.RIGHT)


def _properties(doc: Any, b: Brief, desk: str) -> None:
    props = doc.core_properties
    props.author = props.last_modified_by = _safe(desk)
    props.title = _safe(b.heading)
    props.subject = _safe(f"APEC brief: {b.meeting.short}")
    props.created = props.modified = b.now.astimezone(UTC).replace(tzinfo=None)
    props.revision = 1
