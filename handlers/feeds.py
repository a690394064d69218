"""The sources the bot watches for news of meetings: watch, unwatch (admins), and feeds."""

from __future__ import annotations

from datetime import datetime

from handlers.edits import editor, who
from handlers.registry import Ask, UsageError, command
from handlers.render import Card, esc
from store import watch
from store.fetch import FetchError, check_url, normalize_url

MINUTES = watch.INTERVAL.seconds // 60
EVERY = f"every {MINUTES} minutes"


def _url(ask: Ask, fetched: bool = True) -> str:
    """The address given; `fetched`: one the bot may fetch (not one on the desk's own network
    unless APEC_FETCH_ALLOW allows it). Any watched source may be unwatched."""
    if not ask.args:
        raise UsageError("Give the address of an RSS or Atom feed, or of a page.")
    word = ask.args.split()[0]
    if "://" not in word and "." in word.split("/")[0]:
        word = "https://" + word  # Slack shows "mfa.example/rss" typed bare as its label
    try:
        return check_url(word, ask.fetch_allow) if fetched else normalize_url(word)
    except FetchError as exc:
        raise UsageError(f"I can't watch that: {esc(str(exc))}.") from exc


@command(
    "watch",
    usage="watch URL",
    example="watch https://www.example.org/news/rss.xml",
    admin=True,
    writes=True,
)
def watch_source(ask: Ask) -> Card:
    """Watch an official feed or page for news of meetings: what is new becomes proposals."""
    source, added = watch.add(ask.store.db, _url(ask), editor(ask), ask.now, ask.fetch_allow)
    if not added:
        return Card().section(
            f"I already watch {esc(source.url)} (since {_when(source.added_at)}, "
            f"added by {who(source.added_by)})."
        )
    card = Card().section(f":eyes: Now watching {esc(source.url)}, {EVERY}.")
    card.context(
        "What is new there is read into the desk's documents and each change it holds is "
        "proposed for approval. `/apec feeds` shows how each source is doing."
    )
    return card


@command(
    "unwatch",
    usage="unwatch URL",
    example="unwatch https://www.example.org/news/rss.xml",
    admin=True,
    writes=True,
)
def unwatch_source(ask: Ask) -> Card:
    """Stop watching a feed or page (what it gave stays among the desk's documents)."""
    url = _url(ask, fetched=False)
    if url in ask.feeds:
        return Card().section(
            f"{esc(url)} is watched because `APEC_FEEDS` names it: take it out of that setting "
            "and restart the bot to stop watching it."
        )
    removed = watch.remove(ask.store.db, url)
    if removed is None:
        return Card().section(f"I don't watch {esc(url)}. `/apec feeds` lists what I watch.")
    return Card().section(f"Stopped watching {esc(url)}. What it gave stays on record.")


@command("feeds", usage="feeds", example="feeds", aliases=("watched",))
def feeds(ask: Ask) -> Card:
    """The sources I watch for news of meetings: last fetch, last new item, last error."""
    sources = watch.feeds(ask.store.db)
    held = {s.url for s in sources}
    waiting = [url for url in ask.feeds if url not in held]  # named in APEC_FEEDS, not polled yet
    if not sources and not waiting:
        card = Card().section("I watch no sources yet.")
        card.context(
            "An admin adds one with `/apec watch URL` (an RSS or Atom feed, or a page), or sets "
            "`APEC_FEEDS` to comma-separated addresses."
        )
        return card
    lines = [_line(s) for s in sources]
    lines += [f"• {esc(url)} — from `APEC_FEEDS`; not fetched yet" for url in waiting]
    card = Card().listing(f"*{len(lines)} watched source{'' if len(lines) == 1 else 's'}*", lines)
    card.context(f"Each is fetched at most once {EVERY}, with the bot's name in its requests.")
    return card


def _line(s: watch.Feed) -> str:
    by = "`APEC_FEEDS`" if s.added_by == watch.FROM_ENV else who(s.added_by)
    parts = [f"• {esc(s.url)}" + (f" ({esc(s.kind)})" if s.kind else "") + f" — added by {by}"]
    if s.last_fetch_at is None:
        parts.append("not fetched yet")
    else:
        parts.append(f"last fetch {_when(s.last_fetch_at)}: {esc(s.last_result)}")
    parts.append(f"last new item {_when(s.last_new_at)}" if s.last_new_at else "nothing new yet")
    if s.polling and s.fetch_started_at is not None:
        parts.append(f"a poll under way since {_when(s.fetch_started_at)}")
    line = "; ".join(parts)
    if s.last_error:
        line += f"\n    :warning: last error: {esc(s.last_error)}"
    return line


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"
