"""The year as a picture: `/apec timeline [YEAR|PERIOD]`, the Home tab's picture,
`apec-bot timeline`.

The plotting data (`timeline_plot`: one `Mark` per meeting in the period, as published by the day
asked) is apart from the drawing (`draw`: matplotlib's Agg canvas, imported on first need), so what
is drawn can be checked without reading pixels. A meeting known to the day is drawn as its days; one
known only to the month as that whole month, hatched and labelled so, never as invented days; one
known only from a month on ("From May") as a dotted line, labelled as having no month on record.
A picture is rendered once per (store, records version, period, day, highlighted meeting).
"""

from __future__ import annotations

import calendar as months
import hashlib
import hmac
import io
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from handlers.meetings import meeting_line, period_label
from handlers.registry import Ask, UsageError, command
from handlers.render import Card, day_text, esc
from store.dates import Span, read_period
from store.desk import Desk
from store.models import Meeting
from store.queries import Store, records_version

# One row per kind, top to bottom, with a colour each (Okabe-Ito: told apart by most eyes).
ROWS: tuple[tuple[str, str], ...] = (
    ("Leaders' Summit", "summit"),
    ("SOM", "som"),
    ("Ministerial", "ministerial"),
    ("Other", "other"),
)
COLOURS = {"summit": "#d55e00", "som": "#0072b2", "ministerial": "#009e73", "other": "#8c6bb1"}
TODAY_COLOUR = "#e4002b"  # used for nothing else, so a test can find the line in the pixels
WIDTH_PX = 1200
DPI = 100
MIN_DAYS = 28  # a shorter period is drawn as its whole months
MAX_DAYS = 3 * 366  # longer is a list's job, not a picture's
CACHE_SIZE = 32
IMAGE_PREFIX = "/timeline/"
_IMAGE = re.compile(r"/timeline/(\d{4}-\d{2}-\d{2})-([0-9a-f]{32})\.png")
WORKING = "Working on it: the picture follows in this channel in a moment."

RENDERS = 0  # pictures drawn in this process (the cache's tests read it)


@dataclass(frozen=True)
class Mark:
    """One meeting on the picture: its row, the stretch drawn and how precisely it is known.

    `precision` is "days" (drawn as its days), "month" (known only to the month: the whole month,
    hatched) or "range" (known only from a month on, or to the year: a dotted line, no days)."""

    meeting_id: str
    label: str
    row: str
    start: date
    end: date  # inclusive
    precision: str
    status: str
    marked: bool = False


@dataclass(frozen=True)
class Plot:
    """Everything the picture shows, as data."""

    start: date
    end: date
    as_of: date
    today: date | None  # None when today is outside the period: no line drawn
    title: str
    subtitle: str
    marks: tuple[Mark, ...]
    not_drawn: tuple[str, ...] = ()  # meetings of the period with no dates on record
    label: str = ""  # the period as the user meant it: "2026", "May – August 2026"


@dataclass(frozen=True)
class Period:
    """The stretch a picture covers, and how to name it."""

    start: date
    end: date
    label: str
    widened: bool = False  # a short period drawn as its whole months


@dataclass(frozen=True)
class Picture:
    """A PNG that goes to the channel after the reply (Slack): drawn off the request path."""

    title: str
    filename: str
    comment: str  # the one-line summary, escaped mrkdwn
    render: Callable[[], bytes]
    fallback: Card  # the cited list, for when Slack refuses the file


@dataclass
class PictureCard(Card):
    """A reply with a picture to post after it (`bot/documents.py` uploads it)."""

    picture: Picture | None = field(default=None)


# -- the period ----------------------------------------------------------------------------------


def timeline_period(text: str, now: datetime) -> Period:
    """The period `timeline` is asked for: this year by default, else what the project's date
    grammar reads ("2026", "may to august", "next year"); a refusal if it reads none."""
    words = " ".join(text.split())
    if not words:
        year = now.date().year
        return Period(date(year, 1, 1), date(year, 12, 31), str(year))
    span = read_period(words, now)
    if span is None or span.start is None or span.end is None:
        raise UsageError(
            f"I can't read `{esc(words[:60])}` as a period: try a year (`2026`), months "
            "(`may to august`) or `next year`."
        )
    start, end, widened = span.start, span.end, False
    if (end - start).days + 1 < MIN_DAYS:
        start = start.replace(day=1)
        end = end.replace(day=months.monthrange(end.year, end.month)[1])
        span, widened = Span(start, end, "month"), True
    if (end - start).days + 1 > MAX_DAYS:
        raise UsageError(
            f"`{esc(words[:60])}` is more than three years: a picture of it would be too small "
            "to read. Ask for a year at a time, or `/apec meetings` for the list."
        )
    return Period(start, end, period_label(span), widened)


# -- what is drawn -------------------------------------------------------------------------------


def row_of(m: Meeting) -> str:
    """The row a meeting is drawn in: its kind, or "other" (committees, events...)."""
    return m.kind if m.kind in COLOURS and m.kind != "other" else "other"


def in_period(store: Store, start: date, end: date) -> list[Meeting]:
    """The meetings drawn: those with a start on record that overlaps the period."""
    return [m for m in store.meetings() if m.span.start is not None and m.span.overlaps(start, end)]


def timeline_plot(
    store: Store, start: date, end: date, today: date, mark: str | None = None
) -> Plot:
    """What the picture of start..end shows as of `today`, from what was published by then."""
    view = store.at(today)
    label = period_label(Span(start, end, "day" if start.day != 1 else "month"))
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        label = str(start.year)
    marks = tuple(_mark(m, mark) for m in in_period(view, start, end))
    years = set(range(start.year, end.year + 1))
    not_drawn = tuple(
        m.short
        for m in view.meetings()
        if m.span.start is None and not m.parent_id and m.year in years
    )
    return Plot(
        start=start,
        end=end,
        as_of=today,
        today=today if start <= today <= end else None,
        title=f"APEC meetings, {label}",
        subtitle=f"As of {day_text(today)}: dates as published by then",
        marks=marks,
        not_drawn=not_drawn,
        label=label,
    )


def timeline_marks(
    store: Store, start: date, end: date, today: date, mark: str | None = None
) -> list[Mark]:
    """One mark per meeting drawn in start..end as of `today` (see `Mark`)."""
    return list(timeline_plot(store, start, end, today, mark).marks)


def _mark(m: Meeting, marked: str | None) -> Mark:
    span = m.span
    assert span.start is not None
    last = span.end or span.start
    cancelled = " (cancelled)" if m.status == "cancelled" else ""
    if m.dated:
        precision, label = "days", f"{m.short} · {_days(span.start, last)}{cancelled}"
    elif m.month_only:
        precision, label = "month", f"{m.short} · {span.start:%B} (month only){cancelled}"
    else:
        precision, label = "range", f"{m.short} · {_vague(span)}{cancelled}"
    return Mark(m.id, label, row_of(m), span.start, last, precision, m.status, m.id == marked)


def _days(first: date, last: date) -> str:
    if first == last:
        return f"{first.day} {first:%b}"
    if first.month == last.month:
        return f"{first.day}–{last.day} {first:%b}"
    return f"{first.day} {first:%b} – {last.day} {last:%b}"


def _vague(span: Span) -> str:
    """ "from May 2026, no month on record", "2025, no dates on record"."""
    assert span.start is not None
    if span.text.strip().lower().startswith("from"):
        return f"from {span.start:%B %Y}, no month on record"
    said = span.describe().replace(", dates not confirmed", "").replace(", date not confirmed", "")
    return f"{said}, no dates on record"


def summary(plot: Plot) -> str:
    """One line: the period, the day, how many meetings are drawn and how."""
    by = {p: [m for m in plot.marks if m.precision == p] for p in ("days", "month", "range")}
    parts = []
    if by["days"]:
        parts.append(f"{len(by['days'])} with {'its' if len(by['days']) == 1 else 'their'} days")
    if by["month"]:
        names = ", ".join(m.label.split(" · ")[0] for m in by["month"])
        parts.append(f"{len(by['month'])} known only to the month ({names})")
    if by["range"]:
        parts.append(f"{len(by['range'])} with no month on record yet")
    if plot.not_drawn:
        parts.append(f"{len(plot.not_drawn)} with no dates on record")
    said = ", ".join(parts) if parts else "no meetings on record"
    return f"{plot.title}, as of {day_text(plot.as_of)}: {said}."


# -- the cache -----------------------------------------------------------------------------------

_cache: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
_cache_lock = threading.Lock()
_render_lock = threading.Lock()  # one drawing at a time: matplotlib's font cache is shared


def _key(store: Store, plot: Plot, mark: str | None) -> tuple[Any, ...] | None:
    """What a picture depends on: the store (its file), its records version, the period, the
    day and the meeting highlighted; None when the store keeps no records version."""
    version = records_version(store.db.conn)
    if version is None:
        return None
    where = str(getattr(store.db, "path", "")) or id(store.db.conn)
    return (where, version, plot.start, plot.end, plot.as_of, mark)


def _rendered(key: tuple[Any, ...] | None, plot: Plot) -> bytes:
    """The picture from the cache, or drawn (once, however many ask at the same time)."""
    if key is not None:
        with _cache_lock:
            found = _cache.get(key)
            if found is not None:
                _cache.move_to_end(key)
                return found
    with _render_lock:
        if key is not None:
            with _cache_lock:
                found = _cache.get(key)
            if found is not None:
                return found
        data = draw(plot)
    if key is not None:
        with _cache_lock:
            _cache[key] = data
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return data


def timeline_png(
    store: Store, start: date, end: date, today: date, mark: str | None = None
) -> bytes:
    """The picture of start..end as of `today` (a PNG, 1200 pixels wide), `mark` highlighted."""
    plot = timeline_plot(store, start, end, today, mark)
    return _rendered(_key(store, plot, mark), plot)


# -- drawing -------------------------------------------------------------------------------------

_AXIS_LEFT_IN, _AXIS_RIGHT_IN = 1.45, 0.35
_LANE_IN, _ROW_GAP_IN = 0.34, 0.16
_TOP_IN, _BOTTOM_IN = 1.05, 1.25
_LABEL_PT = 8.5


@dataclass
class _Item:
    """A thing drawn in a row: a bar, a hatched month, or a dotted stretch (several meetings
    known only "from May" are one line with one label)."""

    x0: float  # days from the period's start
    x1: float
    label: str
    precision: str
    row: str
    marked: bool = False
    cancelled: bool = False
    lane: int = 0
    label_left: bool = False


def _items(plot: Plot) -> list[_Item]:
    first = plot.start
    days = (plot.end - plot.start).days + 1
    out: list[_Item] = []
    groups: dict[tuple[str, date, date], list[Mark]] = {}
    for m in plot.marks:
        if m.precision == "range":
            groups.setdefault((m.row, m.start, m.end), []).append(m)
            continue
        x0 = max(0, (m.start - first).days)
        x1 = min(days, (m.end - first).days + 1)
        out.append(_Item(x0, x1, m.label, m.precision, m.row, m.marked, m.status == "cancelled"))
    for (row, start, end), marks in groups.items():
        x0, x1 = max(0, (start - first).days), min(days, (end - first).days + 1)
        if len(marks) == 1:
            label = marks[0].label
        else:
            label = f"{len(marks)} meetings · {marks[0].label.split(' · ', 1)[1]}"
        out.append(_Item(x0, x1, label, "range", row, any(m.marked for m in marks)))
    return out


def _lanes(
    items: list[_Item], days: int, axis_in: float, width_of: Callable[[_Item], float]
) -> dict[str, int]:
    """Give each item a lane in its row so that no two labels or bars overlap; the lanes each
    row needs. A bar's label goes right of it, or left where the period ends first; a dotted
    stretch's label sits on it, from its start."""
    per_day_in = axis_in / days
    gap = 0.1 / per_day_in
    need: dict[str, int] = {}
    for row in (r for _, r in ROWS):
        ends: list[float] = []
        for item in sorted((i for i in items if i.row == row), key=lambda i: (i.x0, i.x1)):
            width = (width_of(item) + 0.1) / per_day_in
            if item.precision == "range":
                lo, hi = item.x0, max(item.x1, item.x0 + gap + width)
            else:
                lo, hi = item.x0, item.x1 + gap + width
                if hi > days and item.x0 - gap - width >= 0:
                    item.label_left = True
                    lo, hi = item.x0 - gap - width, item.x1
            for lane, end in enumerate(ends):
                if end + gap <= lo:
                    item.lane, ends[lane] = lane, hi
                    break
            else:
                item.lane = len(ends)
                ends.append(hi)
        need[row] = max(1, len(ends))
    return need


def draw(plot: Plot) -> bytes:
    """The picture as a PNG (matplotlib's Agg canvas; imported here, on first need)."""
    global RENDERS
    from matplotlib.figure import Figure

    days = (plot.end - plot.start).days + 1
    width_in = WIDTH_PX / DPI
    axis_in = width_in - _AXIS_LEFT_IN - _AXIS_RIGHT_IN
    fig = Figure(figsize=(width_in, 5), dpi=DPI, facecolor="white")
    items = _items(plot)
    lanes = _lanes(items, days, axis_in, _label_width(fig))
    plot_in = sum(lanes.values()) * _LANE_IN + (len(ROWS) - 1) * _ROW_GAP_IN + 0.2
    height_in = _TOP_IN + plot_in + _BOTTOM_IN
    fig.set_size_inches(width_in, height_in)
    ax = fig.add_axes(
        (_AXIS_LEFT_IN / width_in, _BOTTOM_IN / height_in, axis_in / width_in, plot_in / height_in)
    )
    tops, shade = _draw_rows(ax, plot, lanes, days)
    pad = 0.08 * days / axis_in
    for item in items:
        _draw_item(ax, item, tops[item.row] + item.lane + 0.5, shade[item.row], pad)
    if plot.today is not None:
        _draw_today(ax, plot.today, plot.start, days)
    _draw_titles(fig, plot, width_in, height_in)
    _draw_legend(fig, plot, items, width_in, height_in)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    RENDERS += 1
    return buf.getvalue()


def _label_width(fig: Any) -> Callable[[_Item], float]:
    """How wide an item's label is in inches, measured as it will be drawn on `fig`."""
    from matplotlib.backend_bases import RendererBase
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.font_manager import FontProperties

    # backend_agg.py has no annotations and no stub
    renderer: RendererBase = FigureCanvasAgg(fig).get_renderer()  # type: ignore[no-untyped-call]
    fonts = {
        w: FontProperties(family="DejaVu Sans", size=_LABEL_PT, weight=w)
        for w in ("normal", "bold")
    }

    def width_of(item: _Item) -> float:
        font = fonts["bold" if item.marked else "normal"]
        return renderer.get_text_width_height_descent(item.label, font, ismath=False)[0] / DPI

    return width_of


def _draw_rows(
    ax: Any, plot: Plot, lanes: dict[str, int], days: int
) -> tuple[dict[str, float], dict[str, str]]:
    """The rows as shaded bands, with their names and the months under them: each row's top
    (in lanes from the top) and shade."""
    # y in lanes from the top: each row's lanes, then a gap
    gap = _ROW_GAP_IN / _LANE_IN
    tops: dict[str, float] = {}
    shade: dict[str, str] = {}
    y = 0.1
    for n, (_, row) in enumerate(ROWS):
        tops[row], shade[row] = y, "#f3f4f6" if n % 2 == 0 else "white"
        ax.axhspan(y - gap / 2, y + lanes[row] + gap / 2, color=shade[row], zorder=0, lw=0)
        y += lanes[row] + gap
    total = y - gap + 0.1
    ax.set_ylim(total, 0)
    ax.set_xlim(0, days)
    ax.set_yticks([tops[r] + lanes[r] / 2 for _, r in ROWS], [label for label, _ in ROWS])
    ax.tick_params(axis="y", length=0, labelsize=10)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color("#9ca3af")
    _month_ticks(ax, plot.start, plot.end)
    return tops, shade


def _draw_item(ax: Any, item: _Item, yc: float, shade: str, pad: float) -> None:
    """One meeting at height `yc`: its days, its month hatched, or a dotted line; its label."""
    colour = COLOURS[item.row]
    edge: dict[str, Any] = {"edgecolor": "#111111", "linewidth": 2.0} if item.marked else {}
    if item.precision == "days":
        ax.barh(
            yc,
            max(item.x1 - item.x0, 0.6),
            left=item.x0,
            height=0.62,
            color=colour,
            alpha=0.45 if item.cancelled else 1.0,
            zorder=3,
            **(edge or {"linewidth": 0}),
        )
    elif item.precision == "month":
        ax.barh(
            yc,
            item.x1 - item.x0,
            left=item.x0,
            height=0.62,
            facecolor=colour + "33",
            hatch="////",
            edgecolor=edge.get("edgecolor", colour),
            linewidth=edge.get("linewidth", 0.8),
            zorder=2,
        )
    else:
        ax.plot(
            [item.x0, item.x1],
            [yc, yc],
            linestyle=(0, (1.2, 2.2)),
            color=colour,
            linewidth=2.4 if item.marked else 1.8,
            zorder=2,
            solid_capstyle="butt",
        )
        ax.plot([item.x0], [yc], marker="|", markersize=9, color=colour, zorder=2)
    x, ha = (item.x0 - pad, "right") if item.label_left else (item.x1 + pad, "left")
    if item.precision == "range":  # on its own dotted line, which stops behind it
        x, ha = item.x0 + pad, "left"
    # on the row's own colour, so that the today line and grid stop behind the words
    box = {"facecolor": shade, "edgecolor": "none", "pad": 1.0}
    ax.text(
        x,
        yc,
        item.label,
        ha=ha,
        va="center",
        fontsize=_LABEL_PT,
        color="#111827",
        fontweight="bold" if item.marked else "normal",
        zorder=4,
        clip_on=False,
        family="DejaVu Sans",
        bbox=box,
    )


def _draw_today(ax: Any, today: date, start: date, days: int) -> None:
    """The today line, named at its top."""
    x = (today - start).days + 0.5
    ax.axvline(x, color=TODAY_COLOUR, linewidth=2, zorder=3.5)
    said = f"today, {today.day} {today:%b}"
    late = x > 0.9 * days  # near the right edge: the words go left of the line
    ax.text(
        x,
        1.0,
        f"{said} " if late else f" {said}",
        color=TODAY_COLOUR,
        transform=ax.get_xaxis_transform(),
        ha="right" if late else "left",
        va="bottom",
        fontsize=9,
        fontweight="bold",
        clip_on=False,
    )


def _draw_titles(fig: Any, plot: Plot, width_in: float, height_in: float) -> None:
    fig.text(
        _AXIS_LEFT_IN / width_in,
        1 - 0.22 / height_in,
        plot.title,
        fontsize=15,
        fontweight="bold",
        va="top",
        color="#111827",
    )
    fig.text(
        _AXIS_LEFT_IN / width_in,
        1 - 0.55 / height_in,
        plot.subtitle,
        fontsize=10,
        va="top",
        color="#4b5563",
    )


def _draw_legend(
    fig: Any, plot: Plot, items: list[_Item], width_in: float, height_in: float
) -> None:
    """The legend under the plot, and the meetings left out for want of dates."""
    from matplotlib.artist import Artist
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Artist] = [Patch(facecolor=COLOURS[r], label=label) for label, r in ROWS]
    handles.append(
        Patch(
            facecolor="#6b728033",
            edgecolor="#6b7280",
            hatch="////",
            label="known only to the month (no days drawn)",
        )
    )
    if any(i.precision == "range" for i in items):
        handles.append(
            Line2D(
                [],
                [],
                color="#6b7280",
                linestyle=(0, (1.2, 2.2)),
                linewidth=1.8,
                label="no month on record yet",
            )
        )
    if plot.today is not None:
        handles.append(Line2D([], [], color=TODAY_COLOUR, linewidth=2, label="today"))
    fig.legend(
        handles=handles,
        loc="lower left",
        ncol=len(handles),
        frameon=False,
        fontsize=8.5,
        bbox_to_anchor=(_AXIS_LEFT_IN / width_in - 0.01, 0.30 / height_in),
        handlelength=1.8,
        columnspacing=1.2,
    )
    if plot.not_drawn:
        shown = ", ".join(plot.not_drawn[:6]) + (" …" if len(plot.not_drawn) > 6 else "")
        fig.text(
            _AXIS_LEFT_IN / width_in,
            0.12 / height_in,
            f"Not drawn, no dates on record: {shown}",
            fontsize=8,
            color="#4b5563",
        )


def _month_ticks(ax: Any, start: date, end: date) -> None:
    """A line at each month's start; its name under the middle of it (with the year in January
    and first), every third month's only when the period is over two years."""
    firsts, middles, names = [], [], []
    day = start.replace(day=1)
    count = (end.year - start.year) * 12 + end.month - start.month + 1
    step = 3 if count > 24 else 1
    n = 0
    while day <= end:
        last = day.replace(day=months.monthrange(day.year, day.month)[1])
        x0 = max(0, (day - start).days)
        x1 = (min(last, end) - start).days + 1
        if day >= start:
            firsts.append(x0)
        if n % step == 0:
            middles.append((x0 + x1) / 2)
            year = f"\n{day.year}" if day.month == 1 or n == 0 else ""
            names.append(f"{day:%b}{year}")
        day, n = last + timedelta(days=1), n + 1
    ax.set_xticks(firsts, [""] * len(firsts))
    ax.set_xticks(middles, names, minor=True)
    ax.tick_params(axis="x", which="major", length=4, color="#9ca3af")
    ax.tick_params(axis="x", which="minor", length=0, labelsize=9, labelcolor="#374151")
    ax.grid(axis="x", which="major", color="#d1d5db", linewidth=0.8, zorder=1)
    ax.set_axisbelow(True)


# -- `/apec timeline` ----------------------------------------------------------------------------


def listing(store: Store, plot: Plot, now: datetime) -> Card:
    """The meetings the picture shows, one line each, cited: the picture in words."""
    view = store.at(plot.as_of)
    shown = in_period(view, plot.start, plot.end)
    card = Card()
    if shown:
        card.section("\n".join(meeting_line(m, now) for m in shown))
    if plot.not_drawn:
        card.context("No dates on record: " + esc(", ".join(plot.not_drawn)) + ".")
    for source in dict.fromkeys(m.source for m in shown):
        card.cite(source)
    return card


def filename(plot: Plot) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", plot.label.lower()).strip("-")
    return f"apec-timeline-{slug or 'period'}.png"


PICTURE_FAILED = (
    "I could not post the picture in this channel (Slack refused the file). The meetings it shows:"
)
CLI_HINT = "The picture: `apec-bot timeline -o timeline.png PERIOD` on the desk's machine."


@command("timeline", usage="timeline [YEAR|PERIOD]", example="timeline may to august", share=False)
def timeline(ask: Ask) -> Card:
    """The year (or a period) as a picture: meetings by kind, today marked, month-only dates as
    months."""
    period = timeline_period(ask.args, ask.now)
    today = ask.now.date()
    plot = timeline_plot(ask.store, period.start, period.end, today)
    line = esc(summary(plot))
    if period.widened:
        line += f" (asked: _{esc(' '.join(ask.args.split())[:60])}_; drawn as its whole months)"
    words = listing(ask.store, plot, ask.now)
    if ask.via != "slack":
        card = Card().section(line)
        card.blocks.extend(words.blocks)
        return card.context(CLI_HINT)
    fallback = Card().section(PICTURE_FAILED)
    fallback.blocks.extend(words.blocks)
    fallback.context(CLI_HINT)
    card = PictureCard().section(line).context(WORKING)
    card.picture = Picture(
        title=f"{plot.title} (as of {day_text(today)})",
        filename=filename(plot),
        comment=line,
        # Drawn from the plot alone, on another thread: the store's connection stays on this one.
        render=partial(_rendered, _key(ask.store, plot, None), plot),
        fallback=fallback,
    )
    return card


# -- the Home tab's picture, at the bot's own address --------------------------------------------


def _signature(store: Store, day: date) -> str:
    """What makes the picture's address unguessable: keyed with the store's feed secret, bound
    to the day and the records version (a changed calendar gets a new address)."""
    key = Desk(store.db).feed_token().encode()
    what = f"timeline:{day.isoformat()}:{records_version(store.db.conn)}".encode()
    return hmac.new(key, what, hashlib.sha256).hexdigest()[:32]


def image_path(store: Store, day: date) -> str:
    """The path of the picture of `day`'s year as of `day` ("/timeline/2026-12-06-<32 hex>.png")."""
    return f"{IMAGE_PREFIX}{day.isoformat()}-{_signature(store, day)}.png"


def image_day(store: Store, path: str) -> date | None:
    """The day a path from `image_path` was made for, while the records are as they were then;
    None for any other path."""
    found = _IMAGE.fullmatch(path)
    if found is None:
        return None
    try:
        day = date.fromisoformat(found[1])
    except ValueError:
        return None
    return day if hmac.compare_digest(_signature(store, day), found[2]) else None


def year_png(store: Store, day: date) -> bytes:
    """The picture of `day`'s year as of `day` (the Home tab's)."""
    return timeline_png(store, date(day.year, 1, 1), date(day.year, 12, 31), day)


def home_block(ask: Ask) -> dict[str, Any] | None:
    """The Home tab's picture of the year, from the bot's own address; None without one."""
    if not ask.public_url:
        return None
    today = ask.now.date()
    plot = timeline_plot(ask.store, date(today.year, 1, 1), date(today.year, 12, 31), today)
    url = ask.public_url.rstrip("/") + image_path(ask.store, today)
    return {
        "type": "image",
        "image_url": url,
        "alt_text": summary(plot)[:2000],
        "title": {
            "type": "plain_text",
            "text": f"The year on a timeline (as of {day_text(today)})",
        },
    }
