"""Fetching watched sources politely, and reading what comes back as a feed or an article.

Polite: one client with timeouts, a named User-Agent, conditional requests (ETag and
If-Modified-Since), redirects followed a few times only, and a body read only up to a cap (the
stream is closed past it). Feeds are read by feedparser and articles by trafilatura: no HTML is
parsed here by hand.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit, urlunsplit

from store.errors import SourceError

if TYPE_CHECKING:
    import httpx

# httpx, feedparser and trafilatura take half a second to import: only a poll pays for them.

USER_AGENT = (
    "apec-desk-bot/0.1 (an APEC desk's calendar watcher; one request per source every 15 minutes)"
)
MAX_BYTES = 5 * 1024 * 1024  # a press release is tens of kilobytes; a page past this is not one
TIMEOUT = 10.0  # seconds to connect, and between two pieces of the answer
DEADLINE = 30.0  # seconds for a whole answer, however it trickles
MAX_REDIRECTS = 5
MAX_URL = 2000
MAX_ITEMS = 30  # of a feed's newest items looked at in one poll

_FEED_TYPES = ("rss", "atom", "rdf", "xml")
_PAGE_TYPES = ("text/html", "application/xhtml+xml")
_TEXT_TYPES = ("text/plain", "text/markdown")


class FetchError(SourceError):
    """A source could not be fetched or read: the message is what its record says."""


def check_url(text: str) -> str:
    """An http(s) address as typed (Slack's <url|label> unwrapped), without its #fragment."""
    url = text.strip().strip("<>").split("|", 1)[0].strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchError(f"{url[:80]!r} is not a web address (http:// or https://)")
    if len(url) > MAX_URL or any(c.isspace() for c in url):
        raise FetchError("that address is too long or has spaces in it")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/",
                       parts.query, ""))  # fmt: skip


@dataclass(frozen=True)
class Fetched:
    """One answer: 200 with a body, or 304 (unchanged since the ETag or date sent)."""

    url: str  # after redirects
    status: int
    body: bytes = b""
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""

    @property
    def kind(self) -> str:
        """ "feed", "page" or "text", from the content type, else from the body's first bytes."""
        ctype = self.content_type
        if any(t in ctype for t in _PAGE_TYPES):
            return "page"
        if any(t in ctype for t in _TEXT_TYPES):
            return "text"
        if any(t in ctype for t in _FEED_TYPES):
            return "feed"
        head = self.body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        if head.startswith((b"<!doctype html", b"<html")):
            return "page"
        if head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf")):
            return "feed"
        return ""


class Fetcher:
    """An HTTP client that asks politely; `get` raises FetchError with the reason it gave up."""

    def __init__(
        self,
        timeout: float = TIMEOUT,
        deadline: float = DEADLINE,
        max_bytes: int = MAX_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        user_agent: str = USER_AGENT,
    ) -> None:
        import httpx

        self.deadline = deadline
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
            max_redirects=max_redirects,
            headers={"User-Agent": user_agent, "Accept": _ACCEPT},
            trust_env=False,  # no proxy or netrc picked up from the environment
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    def get(self, url: str, etag: str = "", last_modified: str = "") -> Fetched:
        """GET `url`, conditionally when an ETag or a date from last time is given."""
        import httpx

        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            with self.client.stream("GET", url, headers=headers) as resp:
                if resp.status_code == 304:
                    return Fetched(str(resp.url), 304, etag=etag, last_modified=last_modified)
                if resp.status_code >= 400:
                    raise FetchError(f"HTTP {resp.status_code} {resp.reason_phrase}".strip())
                if resp.status_code != 200:
                    raise FetchError(f"HTTP {resp.status_code}: expected 200 or 304")
                ctype = resp.headers.get("content-type", "").lower()
                _refuse_binary(ctype)
                body = self._read(resp)
                return Fetched(
                    str(resp.url),
                    200,
                    body,
                    ctype,
                    resp.headers.get("etag", ""),
                    resp.headers.get("last-modified", ""),
                )
        except httpx.TooManyRedirects as exc:
            raise FetchError(
                f"redirected more than {self.max_redirects} times (a redirect loop?)"
            ) from exc
        except httpx.TimeoutException as exc:
            raise FetchError(f"no answer in time ({type(exc).__name__})") from exc
        except httpx.InvalidURL as exc:
            raise FetchError(f"not a usable address: {exc}") from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"{type(exc).__name__}: {exc}") from exc

    def _read(self, resp: httpx.Response) -> bytes:
        """The body up to the cap and the deadline; past either, the stream is dropped."""
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(f"{_mb(int(declared))} is over the {_mb(self.max_bytes)} cap")
        chunks, size, ends = [], 0, time.monotonic() + self.deadline
        for chunk in resp.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(f"larger than the {_mb(self.max_bytes)} cap: not read further")
            if time.monotonic() > ends:
                raise FetchError(f"still arriving after {self.deadline:.0f} s: given up")
            chunks.append(chunk)
        body = b"".join(chunks)
        if b"\x00" in body[:4096] or body.startswith(b"%PDF"):
            raise FetchError("the answer is binary, not a page or a feed")
        return body


_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, "
    "text/html;q=0.8, application/xhtml+xml;q=0.8, text/plain;q=0.5"
)


def _refuse_binary(ctype: str) -> None:
    """A content type no page or feed comes as (a PDF, an image, octet-stream) is not read."""
    main = ctype.split(";", 1)[0].strip()
    if main and not (main.startswith("text/") or "xml" in main):
        raise FetchError(f"not a page or a feed ({main}): not read")


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n:,} bytes"


@dataclass(frozen=True)
class Item:
    """A feed's entry: where its article is, its title, and the day it was published if given."""

    url: str
    title: str
    published: date | None


def read_feed(fetched: Fetched) -> tuple[list[Item], str]:
    """A feed's newest items that link to an article, and what was wrong with it ('' if nothing).
    A feed so broken that no item can be read raises FetchError."""
    import feedparser

    parsed = feedparser.parse(fetched.body)
    problem = ""
    # (complaints that leave a feed perfectly readable are not problems)
    harmless = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
    if parsed.bozo and not isinstance(parsed.get("bozo_exception"), harmless):
        problem = f"malformed feed: {_one_line(parsed.get('bozo_exception'))}"
    if not parsed.version and not parsed.entries:
        raise FetchError(problem or "not an RSS or Atom feed")
    items = []
    for entry in parsed.entries[:MAX_ITEMS]:
        link = urljoin(fetched.url, entry.get("link", "") or "")
        if urlsplit(link).scheme not in ("http", "https"):
            continue
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = date(*stamp[:3]) if stamp else None
        items.append(Item(link, " ".join(str(entry.get("title", "")).split()), published))
    if not items and parsed.entries:
        raise FetchError(problem or "no item in the feed links to an article")
    return items, problem


@dataclass(frozen=True)
class Article:
    """A page's main text, its title and date when the page gives them."""

    url: str
    title: str
    text: str
    published: date | None


def read_article(fetched: Fetched) -> Article:
    """The article in a page (trafilatura), or a plain-text body as it is."""
    kind = fetched.kind
    if kind == "text":
        text = fetched.body.decode(_charset(fetched.content_type), errors="replace")
        return Article(fetched.url, "", text.strip(), None)
    if kind != "page":
        raise FetchError("not an HTML page: no article read")
    import trafilatura

    doc = trafilatura.bare_extraction(
        fetched.body, url=fetched.url, with_metadata=True, include_comments=False
    )
    text = (getattr(doc, "text", "") or "").strip() if doc is not None else ""
    if not text:
        raise FetchError("no article text found in the page")
    return Article(fetched.url, (doc.title or "").strip(), text, _day(doc.date))


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _charset(ctype: str) -> str:
    for part in ctype.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            try:
                "".encode(value.strip('"'))
                return value.strip('"')
            except LookupError:
                break
    return "utf-8"


def _one_line(exc: object) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
