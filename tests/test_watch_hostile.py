"""The watch run against hostile sources on loopback: one that drips its headers beside a good
one, a poll the process dies during, a feed of 50,000 items, an item that leads to another local
service, and a stop in the middle of a run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from pytest_httpserver import HTTPServer

from bot.scheduler import WatchJob
from bot.stores import Stores
from handlers.router import Ask, route
from store import watch
from store.db import connect
from store.fetch import Fetcher
from store.queries import Store
from tests.conftest import ROOT, SEEDS, at
from tests.hostile import RawServer, drip_headers

NOW = at("2026-11-24T09:00+09:00")
MFA = "Ministry of Foreign Affairs of Exampleland"
ARTICLE = (
    "<!doctype html><html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
    f"<p>Exampleport, 20 November 2026. The {MFA} announced today that SOM1 of APEC 2027 will be "
    "held in Hanoi on 2-4 March 2027. {more}</p>"
    "<p>Officials from the ministry will brief the press on the preparations next week.</p>"
    "</article></body></html>"
)


def rss(items: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{MFA}</title><link>https://mfa.example/</link>{items}</channel></rss>"
    )


@pytest.fixture
def dripping() -> Iterator[RawServer]:
    server = RawServer(drip_headers)
    yield server
    server.close()


@pytest.fixture
def db(db_path):
    conn = connect(db_path)
    yield conn
    conn.close()


def allowed(*servers: HTTPServer | RawServer) -> tuple[str, ...]:
    """Each test server, on its own port only."""
    return tuple(f"localhost:{s.port}" for s in servers)


def good_feed(web: HTTPServer, name: str = "good") -> str:
    web.expect_request(f"/{name}/som1.html").respond_with_data(
        ARTICLE.format(title="SOM1 2027 dates announced", more=""), content_type="text/html"
    )
    item = f"<item><title>SOM1 2027 dates announced</title><link>/{name}/som1.html</link></item>"
    web.expect_request(f"/{name}/feed.xml").respond_with_data(
        rss(item), content_type="application/rss+xml"
    )
    return web.url_for(f"/{name}/feed.xml")


def until(check, timeout: float = 10.0, what: str = "") -> float:
    """Poll a state until it holds (a deadline, not a sleep for time to pass); when it held."""
    ends = time.monotonic() + timeout
    while not check():
        if time.monotonic() > ends:
            raise AssertionError(f"not seen within {timeout} s: {what}")
        time.sleep(0.02)
    return time.monotonic()


def test_a_source_dripping_its_headers_holds_up_no_other(db_path, db, web, dripping, reports):
    slow = dripping.url("/feed.xml")
    watch.add(db, slow, "U1", NOW, allowed(dripping))  # first in the list, as it was added first
    good = good_feed(web)
    watch.add(db, good, "U1", NOW, allowed(web))
    fetcher = Fetcher(allow=allowed(web, dripping), deadline=4)
    polled: list[watch.Polled] = []

    def run() -> None:
        conn = connect(db_path)  # the run's own connection, as the scheduler's thread has
        try:
            polled.extend(watch.run(conn, now=NOW, seeds=SEEDS, fetcher=fetcher))
        finally:
            conn.close()

    thread = threading.Thread(target=run)
    started = time.monotonic()
    thread.start()
    article = web.url_for("/good/som1.html")

    def ingested() -> bool:
        sql = "SELECT count(*) FROM desk_documents WHERE url = ?"
        return db.execute(sql, [article]).fetchone()[0] == 1

    good_at = until(ingested, what="the good source's article ingested") - started
    thread.join(15)
    ended = time.monotonic() - started
    assert good_at < 1.5 and ended >= 4, (good_at, ended)
    by_url = {p.url: p for p in polled}
    assert by_url[slow].error == "no complete answer within 4 s: given up"
    assert by_url[good].result == "1 new of 1 items"
    assert watch.feed(db, slow).last_error == "no complete answer within 4 s: given up"
    reports.append(
        f"watch: beside a source dripping its headers (deadline 4 s), the good source's article "
        f"was ingested after {good_at:.2f} s; the dripping one was abandoned at {ended:.2f} s"
    )


def _cli(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("APEC_", "SLACK_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        env={**base, **env},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_poll_the_process_died_during_is_recorded_as_failed_and_backed_off(db_path, db, dripping):
    url = dripping.url("/feed.xml")
    env = {"APEC_DB": str(db_path), "APEC_FEEDS": url, "APEC_FETCH_ALLOW": allowed(dripping)[0]}
    process = _cli("watch", "--once", "--now", NOW.isoformat(), env=env)
    try:
        dripping.wait_for(1, timeout=60)  # its poll is under way...
        os.kill(process.pid, signal.SIGKILL)  # ...when it dies, as an out-of-memory kill would
        process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    (source,) = watch.feeds(db)
    assert source.polling and source.last_fetch_at is None  # begun, never ended
    listing = route(Ask(store=Store(db), now=NOW, text="feeds")).plain()
    assert "a poll under way since 2026-11-24 00:00 UTC" in listing
    fetcher = Fetcher(allow=allowed(dripping), deadline=1)

    def run(minutes: int) -> watch.Polled:
        (polled,) = watch.run(
            db, now=NOW + timedelta(minutes=minutes), seeds=SEEDS, fetcher=fetcher
        )
        return polled

    assert run(1).result.startswith("being polled by another run")  # it may still be going
    died = run(6)  # no poll takes this long: it died
    assert died.result == "failed" and not died.fetched
    assert died.error.startswith("the bot stopped during this source's poll (begun ")
    assert "not tried again before 2026-11-24T00:30:00+00:00" in died.error
    record = watch.feed(db, url)
    assert record.crashes == 1 and record.last_fetch_at == NOW and record.last_result == "failed"
    listing = route(Ask(store=Store(db), now=NOW, text="feeds")).plain()
    assert "last error: the bot stopped during this source" in listing
    assert run(20).result.startswith("not due")  # backed off: twice the interval
    assert len(dripping.accepted) == 1
    again = run(31)
    assert again.fetched and again.error == "no complete answer within 1 s: given up"
    assert watch.feed(db, url).crashes == 0  # that poll ended: the back-off is over


def _big_feed(count: int) -> str:
    """A feed of `count` items, newest first, each carrying its full text (as content:encoded)."""
    items = "".join(
        f"<item><link>/n/{k}</link>"
        f"<content:encoded>Notice {k} of the ministry.</content:encoded></item>"
        for k in range(count)
    )
    return rss(items)


def test_every_item_of_a_50000_item_feed_is_read_over_successive_polls_newest_first(
    db, web, reports
):
    started = time.monotonic()
    count, per_poll = 50_000, 25_000
    body = _big_feed(count)
    assert len(body) < 5 * 1024 * 1024  # under the fetcher's cap
    web.expect_request("/big.xml", headers={"If-None-Match": '"v1"'}).respond_with_data(
        "", status=304
    )
    web.expect_request("/big.xml").respond_with_data(
        body, content_type="application/rss+xml", headers={"ETag": '"v1"'}
    )
    url = web.url_for("/big.xml")
    watch.add(db, url, "U1", NOW, allowed(web))
    fetcher = Fetcher(allow=allowed(web))

    def read() -> set[int]:
        sql = "SELECT url FROM desk_documents WHERE url LIKE ?"
        return {int(r[0].rsplit("/", 1)[1]) for r in db.execute(sql, [web.url_for("/n/%")])}

    def poll(n: int) -> watch.Polled:
        now = NOW + n * (watch.INTERVAL + timedelta(minutes=1))
        (polled,) = watch.run(db, now=now, seeds=SEEDS, fetcher=fetcher, max_items=per_poll)
        return polled

    first = poll(0)
    assert (
        first.result
        == f"{per_poll} new of {count} items; {count - per_poll} left for the next polls"
    )
    assert read() == set(range(per_poll))  # the newest
    assert watch.feed(db, url).etag == ""  # so that a 304 cannot hide the rest
    second = poll(1)
    assert "If-None-Match" not in web.log[-1][0].headers
    assert second.result == f"{count - per_poll} new of {count} items"
    assert read() == set(range(count))  # every one, none twice
    assert watch.feed(db, url).etag == '"v1"'  # nothing left: asked conditionally from now on
    third = poll(2)
    assert third.result == "unchanged (304)"
    took = time.monotonic() - started
    reports.append(
        f"watch: a feed of {count:,} items read in 2 polls of {per_poll:,}: {took:.1f} s"
    )


def test_items_are_read_newest_first_and_one_that_fails_is_retried_then_given_up(db, web):
    days = [f"{d:02d} Nov 2026" for d in range(1, 8)]  # listed oldest first, item 1 to 7
    items = "".join(
        f"<item><title>Release {n}</title><link>/r/{n}.html</link>"
        f"<pubDate>Mon, {day} 09:00:00 GMT</pubDate></item>"
        for n, day in enumerate(days, start=1)
    )
    for n in range(1, 8):
        page = ARTICLE.format(title=f"Release {n}", more=f"Release number {n}.")
        if n == 6:
            web.expect_request("/r/6.html").respond_with_data("gone", status=404)
        else:
            web.expect_request(f"/r/{n}.html").respond_with_data(page, content_type="text/html")
    web.expect_request("/feed.xml").respond_with_data(
        rss(items), content_type="application/rss+xml", headers={"ETag": '"e"'}
    )
    url = web.url_for("/feed.xml")
    watch.add(db, url, "U1", NOW, allowed(web))
    fetcher = Fetcher(allow=allowed(web))
    asked: list[list[str]] = []

    def poll(n: int) -> watch.Polled:
        before = len(web.log)
        now = NOW + n * (watch.INTERVAL + timedelta(minutes=1))
        (polled,) = watch.run(db, now=now, seeds=SEEDS, fetcher=fetcher, max_items=3)
        asked.append([r.path for r, _ in web.log[before:] if r.path.startswith("/r/")])
        return polled

    first = poll(0)
    assert asked[0] == ["/r/7.html", "/r/6.html", "/r/5.html"]  # the newest three
    assert first.result == "2 new of 7 items; 4 left for the next polls"
    assert "/r/6.html: HTTP 404" in first.error
    assert poll(1).result == "3 new of 7 items; 2 left for the next polls"
    assert asked[1] == ["/r/4.html", "/r/3.html", "/r/2.html"]
    poll(2)
    assert asked[2] == ["/r/1.html", "/r/6.html"]  # the last new one, then the failed one again
    third_try = poll(3)
    assert asked[3] == ["/r/6.html"]
    assert "1 given up after 3 tries" in third_try.result
    assert watch.feed(db, url).etag == '"e"'  # nothing left to read
    poll(4)
    assert asked[4] == []  # given up: not asked for again
    sql = "SELECT count(*) FROM desk_documents WHERE url LIKE ?"
    assert db.execute(sql, [web.url_for("/r/%")]).fetchone()[0] == 6


def test_an_item_that_leads_to_another_local_service_is_not_read(db, web):
    secret = HTTPServer()
    secret.expect_request("/admin").respond_with_data(
        ARTICLE.format(title="Admin", more="The Token is s3cret-admin-token."),
        content_type="text/html",
    )
    secret.start()
    try:
        web.expect_request("/go").respond_with_data(
            "", status=302, headers={"Location": secret.url_for("/admin")}
        )
        items = f"<item><title>A</title><link>{web.url_for('/go')}</link></item>"
        items += f"<item><title>B</title><link>{secret.url_for('/admin')}</link></item>"
        web.expect_request("/feed.xml").respond_with_data(
            rss(items), content_type="application/rss+xml"
        )
        watch.add(db, web.url_for("/feed.xml"), "U1", NOW, allowed(web))
        (polled,) = watch.run(db, now=NOW, seeds=SEEDS, fetcher=Fetcher(allow=allowed(web)))
        assert polled.found == [] and "redirected to" in polled.error
        assert (
            f"redirected to {secret.url_for('/admin')}: localhost names this machine"
            in polled.error
        )
        assert f"{secret.url_for('/admin')}: localhost names this machine" in polled.error
        assert secret.log == []
        assert not Store(db).search("Token")
    finally:
        secret.stop()


def test_watch_of_the_metadata_address_is_refused(store):
    def ask(text: str) -> str:
        card = route(
            Ask(store=store, now=NOW, text=text, user="U1", can_edit=lambda: True, admins=("U1",))
        )
        return card.plain()

    reply = ask("watch http://169.254.169.254/latest/meta-data")
    assert "I can't watch that: 169.254.169.254 is a link-local address" in reply
    reply = ask("watch http://127.0.0.1:8080/")
    assert "I can't watch that: 127.0.0.1 is a loopback address" in reply
    assert watch.feeds(store.db) == []


def test_a_source_taken_before_the_guard_is_refused_when_polled_and_can_be_unwatched(store):
    metadata = "http://169.254.169.254/latest/meta-data"
    watch.sync(store.db, (metadata,), NOW, prune=False)  # as APEC_FEEDS once let it in
    (polled,) = watch.run(store.db, now=NOW, seeds=SEEDS, fetcher=Fetcher(timeout=5))
    assert polled.error.startswith("169.254.169.254 is a link-local address")
    text = f"unwatch {metadata}"
    card = route(Ask(store, NOW, text, user="U1", can_edit=lambda: True, admins=("U1",)))
    assert "Stopped watching" in card.plain() and watch.feeds(store.db) == []


def test_stopping_the_watch_job_ends_its_fetch_at_once_and_leaves_the_source_due(
    db_path, db, dripping
):
    url = dripping.url("/feed.xml")
    job = WatchJob(Stores(db_path, SEEDS), lambda: NOW, (url,), allowed(dripping))
    polled: list[watch.Polled] = []
    thread = threading.Thread(target=lambda: polled.extend(job()))
    thread.start()
    dripping.wait_for(1)
    stopped = time.monotonic()
    job.abort()  # what a stopping scheduler calls
    thread.join(5)
    assert time.monotonic() - stopped < 1.0
    assert polled[0].result == "not polled: the watch stopped during it"
    source = watch.feed(db, url)
    assert not source.polling and source.last_fetch_at is None and source.due(NOW)


def test_an_item_dated_on_no_day_in_its_own_text_spoils_no_other_item(db, web):
    # A watched article's relative dates are read against the day its source gives, else the day
    # it was read: never a "Reference date:" line in its own text, which a page may write as it
    # likes ("2026-02-31"); one such item must not fail the whole poll at every poll.
    bad = ARTICLE.format(title="A bad day", more="Reference date: 2026-02-31")
    web.expect_request("/mixed/bad.html").respond_with_data(bad, content_type="text/html")
    web.expect_request("/mixed/good.html").respond_with_data(
        ARTICLE.format(title="A good day", more=""), content_type="text/html"
    )
    items = "".join(
        f"<item><title>{t}</title><link>/mixed/{n}.html</link></item>"
        for t, n in (("A bad day", "bad"), ("A good day", "good"))
    )
    web.expect_request("/mixed/feed.xml").respond_with_data(
        rss(items), content_type="application/rss+xml"
    )
    url = web.url_for("/mixed/feed.xml")
    watch.add(db, url, "U1", NOW, allowed(web))
    with Fetcher(allow=allowed(web)) as fetcher:
        (polled,) = watch.run(db, now=NOW, seeds=SEEDS, fetcher=fetcher)
    assert polled.result == "2 new of 2 items" and polled.error == ""
    dates = {
        r[0]
        for r in db.execute(
            "SELECT reference_date FROM desk_documents WHERE url LIKE ?",
            [web.url_for("/mixed/") + "%"],
        )
    }
    assert dates == {NOW.date().isoformat()}
