"""Makes handlers/templates/brief.docx, the Word template every brief is written on.

The look of a brief lives here, once: A4 with 2.5 cm margins, Calibri, the headings, the title
block, the header (the marking line over a running title) and the footer (the desk's name, and
"Page n of m" from Word's PAGE and NUMPAGES fields). handlers/brief_docx.py opens the template and
fills its placeholders: {marking}, {running} and {desk}. Run it after changing the look, and commit
the .docx it writes:

    .venv/bin/python handlers/templates/make_brief_template.py
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Length, Pt, RGBColor
from docx.styles.style import CharacterStyle, ParagraphStyle
from docx.text.paragraph import Paragraph

OUT = Path(__file__).resolve().parent / "brief.docx"
FONT = "Calibri"
INK = RGBColor(0x1F, 0x2A, 0x44)  # headings: a dark navy that prints as near-black
GREY = RGBColor(0x55, 0x5B, 0x66)
A4 = (Cm(21.0), Cm(29.7))
MARGIN = Cm(2.5)


def _font(
    style: CharacterStyle,
    size: float,
    bold: bool = False,
    italic: bool = False,
    color: RGBColor | None = None,
) -> None:
    style.font.name = FONT
    style.font.size = Pt(size)
    style.font.bold = bold
    style.font.italic = italic
    if color is not None:
        style.font.color.rgb = color
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
        fonts.attrib.pop(qn(theme), None)


def _spacing(style: ParagraphStyle, before: float = 0, after: float = 4, line: float = 1.1) -> None:
    fmt = style.paragraph_format
    fmt.space_before, fmt.space_after, fmt.line_spacing = Pt(before), Pt(after), line


def _field(paragraph: Paragraph, instruction: str) -> None:
    """A Word field (PAGE, NUMPAGES) as begin / instruction / separate / shown value / end."""

    def char(kind: str) -> None:
        run = paragraph.add_run()
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        # types-lxml's append() takes only the parent's own class; lxml takes any element
        run._r.append(el)  # type: ignore[arg-type]

    char("begin")
    run = paragraph.add_run()
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    # types-lxml's append() takes only the parent's own class; lxml takes any element
    run._r.append(instr)  # type: ignore[arg-type]
    char("separate")
    paragraph.add_run("1")
    char("end")


def _rule(paragraph: Paragraph, edge: str) -> None:
    """A thin line above or below a paragraph (the header's and the footer's rule)."""
    pPr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    line = OxmlElement(f"w:{edge}")
    for key, value in (("w:val", "single"), ("w:sz", "4"), ("w:space", "4"), ("w:color", "8A8F99")):
        line.set(qn(key), value)
    borders.append(line)
    # types-lxml's append() takes only the parent's own class; lxml takes any element
    pPr.append(borders)  # type: ignore[arg-type]


def _length(value: Length | None) -> Length:
    """A length set above (python-docx reads a missing one as None)."""
    assert value is not None
    return value


def make() -> bytes:
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = A4
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, MARGIN)
    section.header_distance = section.footer_distance = Cm(1.2)
    width = (
        _length(section.page_width) - _length(section.left_margin) - _length(section.right_margin)
    )

    styles = doc.styles
    _font(styles["Normal"], 10.5)
    _spacing(styles["Normal"], after=4)
    _font(styles["Title"], 18, bold=True, color=INK)
    _spacing(styles["Title"], after=6, line=1.0)
    title_pPr = styles["Title"].element.get_or_add_pPr()
    for old in title_pPr.findall(qn("w:pBdr")):  # python-docx's Title has a blue rule: none
        title_pPr.remove(old)
    _font(styles["Heading 1"], 12.5, bold=True, color=INK)
    _spacing(styles["Heading 1"], before=12, after=4)
    styles["Heading 1"].paragraph_format.keep_with_next = True
    for name in ("List Bullet", "List Bullet 2"):
        _font(styles[name], 10.5)
        _spacing(styles[name], after=2)
    for name in ("Header", "Footer"):  # python-docx's stops are for Letter: the footer sets its own
        _font(styles[name], 8.5, color=GREY)
        styles[name].paragraph_format.tab_stops.clear_all()

    meta = styles.add_style("Brief Meta", WD_STYLE_TYPE.PARAGRAPH)
    meta.base_style = styles["Normal"]
    _font(meta, 9.5, color=GREY)
    _spacing(meta, after=1)
    note = styles.add_style("Brief Note", WD_STYLE_TYPE.PARAGRAPH)
    note.base_style = styles["Normal"]
    _font(note, 9.5, italic=True, color=GREY)
    _spacing(note, before=4, after=6)
    entry = styles.add_style("Source Entry", WD_STYLE_TYPE.PARAGRAPH)
    entry.base_style = styles["Normal"]
    _font(entry, 10, bold=True)
    _spacing(entry, before=6, after=2)
    entry.paragraph_format.keep_with_next = True
    marking = styles.add_style("Marking", WD_STYLE_TYPE.PARAGRAPH)
    marking.base_style = styles["Header"]
    _font(marking, 10, bold=True, color=RGBColor(0, 0, 0))
    marking.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _spacing(marking, after=2)

    header = section.header
    first = header.paragraphs[0]
    first.style = marking
    first.add_run("{marking}")
    running = header.add_paragraph(style="Header")
    running.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    running.add_run("{running}")
    _rule(running, "bottom")

    footer = section.footer
    line = footer.paragraphs[0]
    line.style = styles["Footer"]
    _rule(line, "top")
    line.paragraph_format.tab_stops.clear_all()
    line.paragraph_format.tab_stops.add_tab_stop(width, WD_TAB_ALIGNMENT.RIGHT)
    line.add_run("{desk}\tPage ")
    _field(line, "PAGE")
    line.add_run(" of ")
    _field(line, "NUMPAGES")

    props = doc.core_properties
    props.author = props.last_modified_by = ""
    props.title = props.subject = props.comments = props.keywords = ""
    props.created = props.modified = datetime(2026, 1, 1, tzinfo=UTC)
    props.revision = 1
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


if __name__ == "__main__":
    OUT.write_bytes(make())
    print(f"wrote {OUT}")
