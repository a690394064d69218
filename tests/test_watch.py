"""Watched sources against a local HTTP server: feeds and articles written for these tests (the
ministries are invented; the meetings they announce are APEC's), and every way a source can
fail, each ending in a clear record on the source and no crash."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from bot.app import web_client
from bot.config import Config, ConfigError
from bot.posting import SlackPoster
from bot.scheduler import Engine, Scheduler, WatchJob
from bot.stores import Stores
from handlers.router import Ask, route
from store import watch
from store.build import build
from store.db import connect
from store.fetch import USER_AGENT, Fetcher
from store.ingest import Document, ingest_many
from store.queries import Store
from tests.conftest import BOT_TOKEN, ROOT, SEEDS, at

NOW = at("2026-11-24T09:00+09:00")
LOCAL = ("localhost", "127.0.0.1")  # the loopback fixtures: fetched only when allowed
LATER = NOW + watch.INTERVAL + timedelta(minutes=1)
MFA = "Ministry of Foreign Affairs of Exampleland"

SOM1_2027 = f"""<!doctype html>
<html><head><title>SOM1 2027 dates announced | {MFA}</title></head>
<body><nav><a href="/">Home</a> | <a href="/news">News</a></nav>
<article><h1>SOM1 2027 dates announced</h1>
<p>Exampleport, 20 November 2026. The {MFA} announced today that SOM1 of APEC 2027 will be held
in Hanoi on 2-4 March 2027. The ministry's senior officials will attend.</p>
<p>Officials from the ministry will brief the press on the preparations next week.</p>
</article><footer>Copyright {MFA}</footer></body></html>"""

SOM3_MOVED = f"""<!doctype html>
<html><head><title>SOM3 dates set | {MFA}</title></head>
<body><article><h1>SOM3 dates set</h1>
<p>Exampleport, 2 July 2026. The {MFA} has been told that the Third Senior Officials' Meeting
(SOM3) will be held in Dalian from 10 to 21 August 2026.</p>
<p>The ministry will send a delegation of six officials.</p></article></body></html>"""


def rss(*items: tuple[str, str, str]) -> str:
    entries = "".join(
        f"<item><title>{title}</title><link>{link}</link><pubDate>{day}</pubDate></item>"
        for title, link, day in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{MFA}: press releases</title><link>https://mfa.example/</link>"
        f"<description>Press releases</description>{entries}</channel></rss>"
    )


@pytest.fixture(scope="module")
def _server() -> Iterator[HTTPServer]:
    with HTTPServer(threaded=True) as srv:  # threaded: a slow answer holds up no other test
        yield srv


@pytest.fixture
def server(_server: HTTPServer) -> Iterator[HTTPServer]:
    yield _server
    _server.clear()


@pytest.fixture
def db(db_path):
    conn = connect(db_path)
    yield conn
    conn.close()


def serve_feed(server: HTTPServer) -> str:
    """The ministry's feed with its two articles; the feed's address."""
    server.expect_request("/news/som1-2027.html").respond_with_data(
        SOM1_2027, content_type="text/html; charset=utf-8"
    )
    server.expect_request("/news/som3-2026.html").respond_with_data(
        SOM3_MOVED, content_type="text/html; charset=utf-8"
    )
    feed = rss(
        (
            "SOM1 2027 dates announced",
            server.url_for("/news/som1-2027.html"),
            "Fri, 20 Nov 2026 09:00:00 GMT",
        ),
        ("SOM3 dates set", server.url_for("/news/som3-2026.html"), "Thu, 02 Jul 2026 09:00:00 GMT"),
    )
    server.expect_request("/feed.xml", headers={"If-None-Match": '"v1"'}).respond_with_data(
        "", status=304
    )
    server.expect_request("/feed.xml").respond_with_data(
        feed,
        content_type="application/rss+xml",
        headers={"ETag": '"v1"', "Last-Modified": "Fri, 20 Nov 2026 09:00:00 GMT"},
    )
    return server.url_for("/feed.xml")


def hits(server: HTTPServer, prefix: str = "/") -> list[Request]:
    """The requests this test made (a slow answer to an earlier test may land in the log late)."""
    return [r for r, _ in server.log if r.path.startswith(prefix) and r.path != "/slow.html"]


def poll(db, url: str, now=NOW, **fetcher) -> watch.Polled:
    watch.add(db, url, "U1", now, LOCAL)
    with Fetcher(allow=LOCAL, **fetcher) as f:
        polled = watch.run(db, now=now, seeds=SEEDS, fetcher=f)
    return next(p for p in polled if p.url == watch.normalize_url(url))


def record(db, url: str) -> watch.Feed:
    found = watch.feed(db, watch.normalize_url(url))
    assert found is not None
    return found


def test_a_feed_s_new_articles_are_ingested_recorded_and_asked_for_politely(db, server):
    url = serve_feed(server)
    polled = poll(db, url)
    assert polled.error == "" and polled.result == "2 new of 2 items"
    titles = {f.report.title for f in polled.found}
    assert titles == {"SOM1 2027 dates announced", "SOM3 dates set"}
    som1 = next(f.report for f in polled.found if f.report.title.startswith("SOM1"))
    assert som1.new and som1.url.endswith("/news/som1-2027.html")
    assert som1.reference_date.isoformat() == "2026-11-20"  # the feed's pubDate
    assert any("2–4 March 2027" in f.value for f in som1.findings if f.kind == "date")
    assert (
        "Copyright"
        not in db.execute("SELECT text FROM desk_documents WHERE url = ?", [som1.url]).fetchone()[0]
    )  # the article, not the page's furniture
    rec = record(db, url)
    assert rec.kind == "feed" and rec.etag == '"v1"' and rec.last_error == ""
    assert rec.last_fetch_at == NOW and rec.last_new_at == NOW
    for request in hits(server):
        assert request.headers["User-Agent"] == USER_AGENT
    # The documents are sources at once: searchable and cited.
    assert Store(db).search("Hanoi 2027")


def test_an_unchanged_feed_is_asked_with_its_etag_and_date_and_answers_304(db, server):
    url = serve_feed(server)
    poll(db, url)
    again = poll(db, url, now=LATER)
    assert again.result == "unchanged (304)" and again.found == []
    last = hits(server, "/feed.xml")[-1]
    assert last.headers["If-None-Match"] == '"v1"'
    assert last.headers["If-Modified-Since"] == "Fri, 20 Nov 2026 09:00:00 GMT"
    rec = record(db, url)
    assert rec.last_fetch_at == LATER and rec.last_new_at == NOW and rec.last_error == ""


def test_a_source_is_fetched_once_an_interval_however_often_polled(db, server):
    url = serve_feed(server)
    poll(db, url)
    requests = len(hits(server))
    soon = poll(db, url, now=NOW + timedelta(minutes=5))
    assert not soon.fetched and "not due" in soon.result
    assert len(hits(server)) == requests


def test_an_article_already_seen_under_another_address_is_not_a_new_document(db, server):
    serve_feed(server)
    server.expect_request("/mirror/som1.html").respond_with_data(
        SOM1_2027, content_type="text/html"
    )
    first = poll(db, server.url_for("/feed.xml"))
    assert len(first.found) == 2
    server.expect_request("/mirror.xml").respond_with_data(
        rss(
            (
                "SOM1 2027 dates announced",
                server.url_for("/mirror/som1.html"),
                "Fri, 20 Nov 2026 10:00:00 GMT",
            )
        ),
        content_type="application/rss+xml",
    )
    mirror = poll(db, server.url_for("/mirror.xml"))
    assert mirror.found == [] and mirror.error == "" and mirror.result == "0 new of 1 items"
    assert db.execute("SELECT count(*) FROM desk_documents").fetchone()[0] == 2
    assert record(db, server.url_for("/mirror.xml")).last_new_at is None


def test_a_malformed_feed_is_recorded_as_such(db, server):
    server.expect_request("/broken.xml").respond_with_data(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Exampleland</title>'
        "<item><title>SOM1 2027</title><link>https://mfa.example/a</lin",
        content_type="application/rss+xml",
    )
    polled = poll(db, server.url_for("/broken.xml"))
    assert polled.found == []
    rec = record(db, server.url_for("/broken.xml"))
    assert rec.last_error.startswith("malformed feed") and rec.last_fetch_at == NOW


def _huge(request: Request) -> Response:
    """A 20 MB page sent in pieces, with no length given ahead."""
    chunk = b"<p>" + b"Exampleland " * 5000 + b"</p>\n"
    return Response(
        (chunk for _ in range(20 * 1024 * 1024 // len(chunk))), content_type="text/html"
    )


def _slow(request: Request) -> Response:
    time.sleep(0.6)  # the server's own delay; the client gives up at 0.2 s
    return Response(SOM1_2027, content_type="text/html")


@pytest.mark.parametrize(
    "path, serve, error",
    [
        ("/huge.html", lambda r: r.respond_with_handler(_huge), "larger than the 5 MB cap"),
        ("/slow.html", lambda r: r.respond_with_handler(_slow), "no answer in time"),
        (
            "/blob",
            lambda r: r.respond_with_data(
                b"\x00\x01" * 500, content_type="application/octet-stream"
            ),
            "not a page or a feed (application/octet-stream)",
        ),
        (
            "/release.pdf",
            lambda r: r.respond_with_data(
                b"%PDF-1.7\n" + b"\x00" * 100, content_type="application/pdf"
            ),
            "not a page or a feed (application/pdf)",
        ),
        (
            "/mislabelled",
            lambda r: r.respond_with_data(b"%PDF-1.7\n1 0 obj", content_type="text/html"),
            "binary",
        ),
        ("/gone", lambda r: r.respond_with_data("gone", status=404), "HTTP 404"),
    ],
)
def test_a_source_that_fails_is_recorded_and_nothing_crashes(db, server, path, serve, error):
    serve(server.expect_request(path))
    url = server.url_for(path)
    # Only the slow source is to outlast the client's patience; the others answer at once, and
    # get a patience a loaded machine cannot run out of (0.2 s did once, in CI, for /blob).
    polled = poll(db, url, timeout=0.2 if path == "/slow.html" else 10)
    assert polled.result == "failed" and error in polled.error
    rec = record(db, url)
    assert error in rec.last_error and rec.last_fetch_at == NOW and rec.last_new_at is None
    assert db.execute("SELECT count(*) FROM desk_documents").fetchone()[0] == 0


def test_a_redirect_loop_ends_in_a_recorded_error(db, server):
    server.expect_request("/loop-a").respond_with_data(
        "", status=302, headers={"Location": "/loop-b"}
    )
    server.expect_request("/loop-b").respond_with_data(
        "", status=302, headers={"Location": "/loop-a"}
    )
    polled = poll(db, server.url_for("/loop-a"))
    assert "redirect loop" in polled.error
    assert "redirected more than 5 times" in record(db, server.url_for("/loop-a")).last_error
    assert len(hits(server, "/loop")) <= 6


def test_an_article_that_fails_leaves_the_others_and_is_tried_again(db, server):
    server.expect_request("/news/som1-2027.html").respond_with_data(
        SOM1_2027, content_type="text/html"
    )
    server.expect_request("/news/huge.html").respond_with_handler(_huge)
    server.expect_request("/feed.xml").respond_with_data(
        rss(
            ("SOM1", server.url_for("/news/som1-2027.html"), "Fri, 20 Nov 2026 09:00:00 GMT"),
            ("Annex", server.url_for("/news/huge.html"), "Fri, 20 Nov 2026 09:00:00 GMT"),
        ),
        content_type="application/rss+xml",
        headers={"ETag": '"v1"'},
    )
    polled = poll(db, server.url_for("/feed.xml"))
    assert len(polled.found) == 1 and "huge.html: larger than" in polled.error
    rec = record(db, server.url_for("/feed.xml"))
    assert rec.etag == "" and "huge.html" in rec.last_error  # asked in full next time
    again = poll(db, server.url_for("/feed.xml"), now=LATER)
    assert again.found == [] and "If-None-Match" not in hits(server, "/feed.xml")[-1].headers


def test_a_watched_page_is_read_itself_and_a_new_version_is_a_new_document(db, server):
    server.expect_ordered_request("/calendar.html").respond_with_data(
        SOM1_2027, content_type="text/html"
    )
    server.expect_ordered_request("/calendar.html").respond_with_data(
        SOM1_2027.replace("2-4 March 2027", "3-5 March 2027"), content_type="text/html"
    )
    first = poll(db, server.url_for("/calendar.html"))
    assert first.result == "new version of the page" and len(first.found) == 1
    second = poll(db, server.url_for("/calendar.html"), now=LATER)
    assert len(second.found) == 1 and any(
        "3–5 March 2027" in f.value for f in second.found[0].report.findings
    )
    assert record(db, server.url_for("/calendar.html")).kind == "page"


def test_apec_feeds_in_the_environment_are_watched_and_dropped_with_it(db, server):
    url = serve_feed(server)
    watch.run(db, now=NOW, seeds=SEEDS, env=(watch.normalize_url(url),))
    assert record(db, url).added_by == watch.FROM_ENV
    watch.run(db, now=LATER, seeds=SEEDS, env=())  # a shell without the setting drops nothing
    assert [f.url for f in watch.feeds(db)] == [watch.normalize_url(url)]
    watch.run(db, now=LATER, seeds=SEEDS, env=(), prune=True)  # the server's environment does
    assert watch.feeds(db) == []


def ask(store: Store, text: str, admin: bool, feeds: tuple[str, ...] = ()) -> str:
    card = route(
        Ask(
            store=store,
            now=NOW,
            text=text,
            user="U1" if admin else "U2",
            can_edit=lambda: admin,
            admins=("U1",),
            feeds=feeds,
            fetch_allow=LOCAL,
        )
    )
    return card.plain()


def test_watch_by_a_non_admin_changes_nothing(store):
    reply = ask(store, "watch https://mfa.example/feed.xml", admin=False)
    assert "only the desk's calendar keepers" in reply
    assert watch.feeds(store.db) == []
    assert "I watch no sources yet" in ask(store, "feeds", admin=False)


def test_watch_unwatch_and_feeds_in_slack(store, db_path, server):
    url = serve_feed(server)
    assert "Now watching" in ask(store, f"watch <{url}>", admin=True)
    assert "already watch" in ask(store, f"watch {url}", admin=True)
    assert "not a web address" in ask(store, "watch ftp://mfa.example/feed", admin=True)
    assert "Now watching https://mfa.example/rss" in ask(store, "watch mfa.example/rss", admin=True)
    assert "Stopped" in ask(store, "unwatch https://mfa.example/rss", admin=True)
    assert "not fetched yet" in ask(store, "feeds", admin=False)
    with Fetcher(allow=LOCAL) as f:
        watch.run(store.db, now=NOW, seeds=SEEDS, fetcher=f)
    listing = ask(store, "feeds", admin=False)
    assert "last fetch 2026-11-24 00:00 UTC: 2 new of 2 items" in listing
    assert "last new item 2026-11-24 00:00 UTC" in listing
    env = ask(store, f"unwatch {url}", admin=True, feeds=(watch.normalize_url(url),))
    assert "APEC_FEEDS" in env and len(watch.feeds(store.db)) == 1
    assert "Stopped watching" in ask(store, f"unwatch {url}", admin=True)
    assert watch.feeds(store.db) == []


def test_a_failure_shows_in_feeds_escaped(store, server):
    server.expect_request("/x").respond_with_data("<!channel>", status=500)
    watch.add(store.db, server.url_for("/x") + "?q=<!channel>", "U1", NOW, LOCAL)
    with Fetcher(allow=LOCAL) as f:
        watch.run(store.db, now=NOW, seeds=SEEDS, fetcher=f)
    payload = route(Ask(store=store, now=NOW, text="feeds")).payload()
    assert "HTTP" in str(payload) and "<!channel>" not in str(payload)


def test_the_watch_job_runs_only_on_the_lease_holder(db_path, db, server, web_api):
    url = serve_feed(server)
    stores = Stores(db_path, SEEDS)
    poster = SlackPoster(web_client(Config(api_url=web_api.url), BOT_TOKEN))
    leader = Engine(stores, poster, lambda: NOW, NOW.tzinfo)
    standby = Engine(stores, poster, lambda: NOW, NOW.tzinfo)
    assert leader.hold_lease() and not standby.hold_lease()
    env = (watch.normalize_url(url),)
    assert not Scheduler(standby, watch=WatchJob(stores, lambda: NOW, env, LOCAL)).watch_tick()
    assert hits(server) == [] and watch.feeds(db) == []
    assert Scheduler(leader, watch=WatchJob(stores, lambda: NOW, env, LOCAL)).watch_tick()
    assert record(db, url).last_fetch_at == NOW and len(hits(server)) == 3


def test_a_document_with_proposals_has_its_card_posted_at_once_not_at_the_next_tick(
    db_path, server, web_api
):
    url = serve_feed(server)
    stores = Stores(db_path, SEEDS)
    poster = SlackPoster(web_client(Config(api_url=web_api.url), BOT_TOKEN))
    engine = Engine(stores, poster, lambda: NOW, ZoneInfo("UTC"), desk_channel="CDESK")
    scheduler = Scheduler(
        engine, watch=WatchJob(stores, lambda: NOW, (watch.normalize_url(url),), LOCAL)
    )
    assert engine.hold_lease()
    scheduler.start()  # its first tick finds nothing to post; the next is 30 s away
    try:
        assert scheduler.watch_tick()
        # The feed's documents each bring proposals: a card each, and the first may come alone.
        calls = web_api.wait_for("chat.postMessage", timeout=10)
        keys = [c.params["metadata"]["event_payload"]["key"] for c in calls]
        assert {c.params["channel"] for c in calls} == {"CDESK"}
        assert all(k.startswith("proposals:") for k in keys) and len(set(keys)) == len(keys)
    finally:
        scheduler.stop()


def test_a_batch_ingest_makes_what_a_rebuild_makes(db):
    docs = [
        Document(
            f"Release {n}\n\nThe {MFA} said SOM{n} of APEC 2027 meets in Lima.\n\n"
            "Chinese Taipei and Viet Nam confirmed attendance.",
            f"r{n}.txt",
        )
        for n in range(1, 4)
    ]
    reports = ingest_many(db, docs, now=NOW, seeds=SEEDS)
    assert [r.new for r in reports] == [True, True, True]

    def held() -> tuple[set, set]:
        sources = {
            tuple(r)
            for r in db.execute("SELECT id, title, file FROM sources WHERE origin = 'desk'")
        }
        texts = {tuple(r) for r in db.execute("SELECT source_id, text, also_in FROM passages")}
        return sources, texts

    incremental = held()
    build(db, SEEDS)
    assert held() == incremental
    again = ingest_many(db, docs[:1], now=NOW, seeds=SEEDS)
    assert not again[0].new


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("APEC_", "SLACK_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env={**base, **env},
        cwd=ROOT,
        timeout=120,
    )


def test_watch_once_on_the_command_line_prints_new_documents_and_their_proposals(db_path, server):
    url = serve_feed(server)
    env = {"APEC_DB": str(db_path), "APEC_FEEDS": url, "APEC_FETCH_ALLOW": ",".join(LOCAL)}
    result = cli("watch", "--once", "--now", "2026-11-24T09:00+09:00", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sum(line.startswith("new document: ") for line in lines) == 2
    proposals = [line for line in lines if line.startswith("proposal ")]
    assert any("2027" in p and "Hanoi" in p for p in proposals), result.stdout
    assert any("SOM3" in p and "August 2026" in p for p in proposals), result.stdout
    assert "2 new of 2 items" in result.stderr
    again = cli("watch", "--once", "--now", "2026-11-24T09:05+09:00", env=env)
    assert again.returncode == 0 and "new document" not in again.stdout
    assert "not due" in again.stderr


def test_ingest_of_an_address_fetches_and_ingests_it(db_path, server):
    server.expect_request("/news/som1-2027.html").respond_with_data(
        SOM1_2027, content_type="text/html"
    )
    env = {"APEC_DB": str(db_path), "APEC_FETCH_ALLOW": ",".join(LOCAL)}
    result = cli("ingest", server.url_for("/news/som1-2027.html"), env=env)
    assert result.returncode == 0, result.stderr
    assert "added as source" in result.stdout and "2–4 March 2027" in result.stdout
    bad = cli("ingest", "https://127.0.0.1:1/none", env=env)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_ingest_of_many_documents_shows_progress_on_stderr(db_path, tmp_path):
    files = []
    for n in range(25):
        files.append(tmp_path / f"r{n}.txt")
        files[-1].write_text(
            f"Release {n}\n\nThe {MFA} {n} said SOM1 of APEC 2027 meets in Lima.\n"
        )
    result = cli("ingest", *map(str, files), env={"APEC_DB": str(db_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("added as source") == 25
    assert "ingesting" in result.stderr and "100%" in result.stderr


def test_a_bad_address_in_apec_feeds_is_a_one_line_error():
    with pytest.raises(ConfigError, match="APEC_FEEDS: 'ftp://x' is not a web address"):
        Config.from_env({"APEC_FEEDS": "https://a.example/rss, ftp://x"})
    assert Config.from_env({"APEC_FEEDS": " https://A.example/rss#top ,"}).feeds == (
        "https://a.example/rss",
    )


def test_two_runs_at_once_make_one_request_and_keep_what_the_first_found(db, server):
    url = serve_feed(server)
    watch.add(db, url, "U1", NOW, LOCAL)
    (stale,) = watch.feeds(db)  # what a second run read before the first one polled
    with Fetcher(allow=LOCAL) as f:
        (first,) = watch.run(db, now=NOW, seeds=SEEDS, fetcher=f)
        second = watch.poll(db, stale, f, NOW, SEEDS)
    assert len(first.found) == 2 and not second.fetched and second.found == []
    assert len(hits(server, "/feed.xml")) == 1
    assert record(db, url).last_new_at == NOW
