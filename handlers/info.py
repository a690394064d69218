"""Help, generated from the registry, and the list of sources, a page at a time."""

from __future__ import annotations

import re

from handlers.registry import Ask, UsageError, command, visible
from handlers.render import Card, esc
from store.models import Source

PAGE_SIZE = 20  # sources on a page
# The buttons that turn the page: each runs its value ("sources 3") as a command.
PREVIOUS_ACTION = "page_previous"
NEXT_ACTION = "page_next"


@command("help", example="help", aliases=("?", "commands"), share=False, mention=True)
def help_(ask: Ask) -> Card:
    """Every command, with an example of each."""
    lines = [
        f"• `/apec {esc(c.usage)}` — {esc(c.summary)} _e.g._ `/apec {esc(c.example)}`"
        for c in visible(ask)
    ]
    card = Card().listing("*What I can answer* (from the desk's sources, always cited)", lines)
    card.context("Or mention me with a question: `@APEC who leads the US delegation?`")
    return card


@command(
    "sources",
    usage="sources [PAGE]",
    example="sources 2",
    aliases=("source",),
    kept=True,
    mention=True,
)
def sources(ask: Ask) -> Card:
    """The source documents everything I say comes from, 20 to a page."""
    total = ask.store.source_count()
    pages = max(1, -(-total // PAGE_SIZE))
    page = page_asked(ask.args, pages)
    first = (page - 1) * PAGE_SIZE
    found = ask.store.source_page(first, PAGE_SIZE)
    heading = f"*{total:,} source{'' if total == 1 else 's'}*"
    if pages == 1:
        return Card().listing(heading, [source_line(s) for s in found])
    card = Card().listing(f"{heading}, page {page:,} of {pages:,}", [source_line(s) for s in found])
    card.context(_turn(page, pages, first, len(found)))
    if page > 1:
        card.button("Previous", PREVIOUS_ACTION, f"sources {page - 1}")
    if page < pages:
        card.button("Next", NEXT_ACTION, f"sources {page + 1}")
    return card


def source_line(s: Source) -> str:
    """One source as listed: title, publisher, kind, the date it is read as of, and whose it is."""
    return (
        f"• *{esc(s.title)}*"
        + (f", {esc(s.publisher)}" if s.publisher else "")
        + f" — {esc(s.kind)}, read as of {s.reference_date.isoformat()}"
        + (" _(added by the desk)_" if s.origin == "desk" else "")
    )


def _turn(page: int, pages: int, first: int, shown: int) -> str:
    """Which sources these are, and the commands to the pages either side (the console and the
    CLI have no buttons)."""
    ways = [f"Sources {first + 1:,}–{first + shown:,}"] if shown else []
    ways += [f"previous: `/apec sources {page - 1}`"] if page > 1 else []
    ways += [f"next: `/apec sources {page + 1}`"] if page < pages else []
    ways += [f"last: `/apec sources {pages}`"] if page + 1 < pages else []
    return " · ".join(ways)


_PAGE = re.compile(r"(?:page\s*|p\.?\s*)?(?:(-?)([0-9]+)|(first|last))", re.IGNORECASE)
MAX_DIGITS = 9  # a page number longer than this is past the end of any store


def page_asked(args: str, pages: int) -> int:
    """The page asked for ("", "2", "page 2", "last"), or a UsageError saying which there are."""
    text = " ".join(args.split()).rstrip(".")
    if not text:
        return 1
    found = _PAGE.fullmatch(text)
    if found is None:
        raise UsageError(f"I can't read `{esc(text[:40])}` as a page number. {_pages(pages)}")
    if found[3]:
        return 1 if found[3].lower() == "first" else pages
    digits = found[2].lstrip("0")
    if found[1] or not digits:
        raise UsageError(f"Pages start at 1. {_pages(pages)}")
    if len(digits) > MAX_DIGITS or int(digits) > pages:
        raise UsageError(f"No page {esc(found[2][:20])}. {_pages(pages)}")
    return int(digits)


def _pages(pages: int) -> str:
    if pages == 1:
        return "The sources fit on one page: `/apec sources`."
    return f"There are {pages:,} pages of sources: `/apec sources 1` to `/apec sources {pages}`."
