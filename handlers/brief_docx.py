"""The brief as a Word document, with python-docx: a title, a heading a section, bullet lists.

python-docx has no API for footnotes or endnotes, so the sources are endnotes written by hand: every
line ends with a marker [n], and the last heading, "Sources", lists source n as a paragraph that
starts "[n]", with its date, followed by the quotes cited from it as a bullet list.
"""

from __future__ import annotations

import io
import re

from handlers.brief import Brief, short_quote

# Characters XML 1.0 (and so Word) cannot hold; a fetched document may carry them.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _safe(text: str) -> str:
    return _NOT_XML.sub(" ", text)


def to_docx(b: Brief) -> bytes:
    """The whole note as a .docx file's bytes."""
    from docx import Document  # 60 ms to import: only when a document is asked for

    doc = Document()
    doc.core_properties.title = _safe(b.heading)
    doc.add_heading(_safe(b.heading), level=0)
    economy = f" · for {b.economy.name}" if b.economy else ""
    doc.add_paragraph(
        _safe(f"As of {b.as_of}{economy} · {b.countdown}. ")
        + "Every line ends with [n], the number of its source in the Sources at the end."
    )
    for section in b.sections:
        doc.add_heading(_safe(section.title), level=1)
        if section.note:
            doc.add_paragraph().add_run(_safe(section.note)).italic = True
        for line in section.lines:
            p = doc.add_paragraph(style="List Bullet")
            if line.label:
                p.add_run(_safe(f"{line.label}: ")).bold = True
            p.add_run(_safe(line.text))
            if line.source is not None:
                p.add_run(f" [{b.number(line.source)}]")
    doc.add_heading("Sources", level=1)
    for n, source in enumerate(b.sources, 1):
        doc.add_paragraph(_safe(f"[{n}] {source.cite()}"))
        for quote in b.quotes(source):
            doc.add_paragraph(_safe(f"“{short_quote(quote)}”"), style="List Bullet 2")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
