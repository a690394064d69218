"""The fetcher against hostile servers on loopback: addresses it must not reach (directly, by a
redirect, by a name), answers that trickle, compression bombs, and text in every charset a page
can declare, with a stray bad byte."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from bot.config import Config, ConfigError
from store.fetch import (
    AllowList,
    Fetched,
    Fetcher,
    FetchError,
    check_url,
    decode,
    read_article,
    read_feed,
)
from tests.hostile import (
    RawServer,
    drip_headers,
    gzipped,
    peak_rss_kb,
    repeated,
    reset_peak_rss,
    rss_kb,
    silent,
)

HANOI = "SOM1 of APEC 2027 will be held in Hà Nội on 2-4 March 2027."
PAGE = (
    "<!doctype html><html><head><title>SOM1 2027</title>{meta}</head><body><article>"
    "<h1>SOM1 2027 dates announced</h1><p>{text}</p>"
    "<p>The ministry's senior officials will attend, and will brief the press next week.</p>"
    "</article></body></html>"
)


@pytest.fixture
def other() -> Iterator[HTTPServer]:
    """Another local service, one the watcher is not allowed to reach: it holds a secret."""
    with HTTPServer() as srv:
        srv.expect_request("/token").respond_with_data("Token: s3cret-admin-token")
        yield srv


def fetcher(web: HTTPServer, **kw) -> Fetcher:
    """A fetcher allowed to reach this one test server (its port only)."""
    return Fetcher(allow=(f"localhost:{web.port}",), **kw)


def get_error(f: Fetcher, url: str) -> str:
    with pytest.raises(FetchError) as caught:
        f.get(url)
    return str(caught.value)


# -- Addresses ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, why",
    [
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
        ("http://127.0.0.1:8080/", "127.0.0.1 is a loopback address"),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://localhost/", "localhost names this machine"),
        ("http://admin.localhost/", "admin.localhost names this machine"),
        ("http://2130706433/", "2130706433 is a loopback address"),
        ("http://0x7f.0.0.1/", "0x7f.0.0.1 is a loopback address"),
        ("http://017700000001/", "017700000001 is a loopback address"),
        ("http://10.1.2.3/", "10.1.2.3 is a private address"),
        ("http://192.168.0.1/", "a private address"),
        ("http://100.64.0.1/", "a shared (carrier-grade NAT) address"),
        ("http://0.0.0.0/", "0.0.0.0 is an unspecified address"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[fc00::1]/", "private"),
        ("http://[::ffff:169.254.169.254]/", "::ffff:169.254.169.254 is a link-local address"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[64:ff9b::a9fe:a9fe]/", "link-local"),  # NAT64 to 169.254.169.254
        ("http://[2002:a00:1::1]/", "private"),  # 6to4 from 10.0.0.1
        ("http://[fec0::1]/", "private"),  # site-local
        ("http://192.0.0.8/", "private"),
        ("http://example.org:8080/", "port 8080: only the web's usual ports"),
        ("https://example.org:80/", "port 80"),
        ("ftp://example.org/", "not a web address"),
        ("file:///etc/passwd", "not a web address"),
        ("http://user:pw@example.org/", "user name or password"),
    ],
)
def test_an_address_off_the_public_web_is_refused_with_one_line_saying_why(url, why):
    with pytest.raises(FetchError) as caught:
        check_url(url)
    assert why in str(caught.value) and "\n" not in str(caught.value)


def test_the_public_web_and_what_the_allow_list_names_are_accepted():
    assert (
        check_url("https://www.example.org/news/rss.xml") == "https://www.example.org/news/rss.xml"
    )
    assert check_url("HTTP://Example.ORG") == "http://example.org/"
    named = AllowList.parse(["localhost:8080", "intranet.example:8443"])
    assert check_url("http://localhost:8080/feed", named)
    assert check_url("https://intranet.example:8443/", named)
    assert check_url("http://[::1]:5000/", ["[::1]"])  # no port named: any port
    for refused in (
        "http://localhost:8081/",
        "http://127.0.0.1:8080/",
        "http://11.0.0.1:9000/",
        "https://intranet.example:8444/",
    ):
        with pytest.raises(FetchError):
            check_url(refused, named)
    network = AllowList.parse(["10.0.0.0/8"])
    assert check_url("http://10.20.30.40:9000/", network)  # a network: any port in it
    with pytest.raises(FetchError, match="port 9000"):
        check_url("http://11.0.0.1:9000/", network)


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "host:99999", "bad host!", "[::1]x", "a:b"])
def test_a_malformed_allow_list_is_a_config_error_naming_the_variable(entry):
    with pytest.raises(ConfigError, match="^APEC_FETCH_ALLOW: ") as caught:
        Config.from_env({"APEC_FETCH_ALLOW": f"localhost:8080, {entry}"})
    assert "\n" not in str(caught.value)


def test_apec_feeds_on_the_desk_s_network_needs_the_allow_list():
    with pytest.raises(ConfigError, match="APEC_FEEDS: 127.0.0.1 is a loopback address"):
        Config.from_env({"APEC_FEEDS": "http://127.0.0.1:8080/rss"})
    config = Config.from_env(
        {"APEC_FEEDS": "http://127.0.0.1:8080/rss", "APEC_FETCH_ALLOW": "127.0.0.1:8080"}
    )
    assert config.feeds == ("http://127.0.0.1:8080/rss",)
    assert config.fetch_allow == ("127.0.0.1:8080",)


def test_a_redirect_to_another_local_port_is_refused_and_never_reaches_it(web, other):
    web.expect_request("/news").respond_with_data(
        "", status=302, headers={"Location": other.url_for("/token")}
    )
    error = get_error(fetcher(web), web.url_for("/news"))
    assert error.startswith(f"redirected to http://localhost:{other.port}/token: ")
    assert other.log == []


def test_a_redirect_to_the_same_address_on_another_port_is_refused(web, other):
    web.expect_request("/news").respond_with_data(
        "", status=302, headers={"Location": f"http://127.0.0.1:{other.port}/token"}
    )
    f = Fetcher(allow=(f"127.0.0.1:{web.port}",))
    error = get_error(f, f"http://127.0.0.1:{web.port}/news")
    assert "127.0.0.1 is a loopback address" in error and other.log == []


def test_a_redirect_to_the_metadata_address_is_refused_without_connecting(web):
    web.expect_request("/feed").respond_with_data(
        "", status=301, headers={"Location": "http://169.254.169.254/latest/meta-data/iam"}
    )
    started = time.monotonic()
    error = get_error(fetcher(web, timeout=5), web.url_for("/feed"))
    assert "169.254.169.254 is a link-local address" in error
    assert time.monotonic() - started < 1  # no connection was tried (it would wait the timeout)


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://example.org/x", "gopher://x/"])
def test_a_redirect_off_http_is_refused(web, location):
    web.expect_request("/feed").respond_with_data("", status=302, headers={"Location": location})
    assert "not a web address" in get_error(fetcher(web), web.url_for("/feed"))


def _private_name() -> tuple[str, list[str]]:
    """A name this machine resolves to its own or a private address (its host name, in
    /etc/hosts), and those addresses."""
    import ipaddress

    name = socket.gethostname()
    try:
        found = {info[4][0] for info in socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)}
    except OSError:
        pytest.skip(f"this machine's name {name!r} does not resolve")
    if any(ipaddress.ip_address(a.split("%")[0]).is_global for a in found):
        pytest.skip(f"this machine's name {name!r} resolves to a public address")
    return name, sorted(found)


def test_a_name_that_resolves_to_a_private_address_is_refused_when_fetched(web):
    name, addresses = _private_name()
    # Its name is not one check_url can judge without a look-up; the fetch looks it up.
    assert check_url(f"http://{name}/page") == f"http://{name}/page"
    error = get_error(Fetcher(), f"http://{name}/page")
    assert f"{name} is {addresses[0]}, a" in error and "not fetched" in error
    # Allowed by the network its address is in, it is fetched (on any port).
    web.expect_request("/page").respond_with_data(
        PAGE.format(meta="", text=HANOI), content_type="text/html"
    )
    network = "127.0.0.0/8" if addresses[0].startswith("127.") else f"{addresses[0]}/32"
    assert Fetcher(allow=(network,)).get(f"http://{name}:{web.port}/page").status == 200


def test_a_watched_address_that_resolves_inward_is_refused_at_each_hop(web):
    """A public-looking redirect target is checked again when it is fetched, by its address."""
    name, _ = _private_name()
    web.expect_request("/feed").respond_with_data(
        "", status=302, headers={"Location": f"http://{name}/internal"}
    )
    error = get_error(fetcher(web), web.url_for("/feed"))
    assert f"{name} is " in error and "not fetched" in error


# -- Deadlines ------------------------------------------------------------------------------------


@pytest.fixture
def dripping() -> Iterator[RawServer]:
    server = RawServer(drip_headers)
    yield server
    server.close()


def test_headers_dripped_a_byte_a_second_are_abandoned_at_the_deadline(dripping, reports):
    f = Fetcher(allow=(f"localhost:{dripping.port}",), deadline=3, timeout=10)
    started = time.monotonic()
    error = get_error(f, dripping.url("/feed.xml"))
    took = time.monotonic() - started
    assert error == "no complete answer within 3 s: given up"
    assert 3 <= took < 3.5, took
    reports.append(f"fetch: headers dripped at 1 B/s abandoned after {took:.2f} s (deadline 3 s)")


def test_a_tls_handshake_that_never_comes_is_abandoned_at_the_deadline():
    server = RawServer(silent)
    try:
        f = Fetcher(allow=(f"localhost:{server.port}",), deadline=2, timeout=10)
        started = time.monotonic()
        error = get_error(f, server.url("/", scheme="https"))
        assert "within 2 s" in error and 2 <= time.monotonic() - started < 2.5
    finally:
        server.close()


def test_abort_ends_every_fetch_in_flight_within_a_second_and_refuses_new_ones(dripping):
    f = Fetcher(allow=(f"localhost:{dripping.port}",), deadline=60)
    errors: list[str] = []

    def fetch() -> None:
        try:
            f.get(dripping.url("/feed.xml"))
        except FetchError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=fetch) for _ in range(3)]
    for thread in threads:
        thread.start()
    dripping.wait_for(3)
    aborted = time.monotonic()
    f.abort()
    for thread in threads:
        thread.join(2)
    assert time.monotonic() - aborted < 1.0
    assert errors == ["stopped"] * 3
    assert get_error(f, dripping.url("/feed.xml")) == "stopped"


def test_one_fetcher_serves_many_threads_at_once(web):
    for n in range(16):
        web.expect_request(f"/p{n}").respond_with_data(
            PAGE.format(meta="", text=f"Release {n}. {HANOI}"), content_type="text/html"
        )
    f = fetcher(web)
    texts: dict[int, str] = {}

    def fetch(n: int) -> None:
        texts[n] = f.get(web.url_for(f"/p{n}")).text

    threads = [threading.Thread(target=fetch, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert all(f"Release {n}. " in texts[n] for n in range(16))


# -- Size and compression -------------------------------------------------------------------------

GIB = 1024**3


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """1 GiB of an HTML page's worth of text, gzipped as it is made: about 1 MB on the wire."""
    return gzipped(repeated(b"<p>Exampleland " + b" " * 65520 + b"</p>\n", GIB))


def _held(f: Fetcher, url: str) -> tuple[str, float]:
    """The error fetching `url`, and how far this process's peak memory rose meanwhile (MB)."""
    if not reset_peak_rss():
        pytest.skip("this kernel does not let a process reset its peak memory")
    before = rss_kb()
    error = get_error(f, url)
    return error, (peak_rss_kb() - before) / 1024


def test_a_1_gb_gzip_bomb_is_held_under_the_cap(web, bomb, reports):
    assert len(bomb) < 2 * 1024 * 1024
    web.expect_request("/bomb.html").respond_with_data(
        bomb, content_type="text/html", headers={"Content-Encoding": "gzip"}
    )
    error, grew = _held(fetcher(web), web.url_for("/bomb.html"))
    assert error == "larger than the 5 MB cap: not read further"
    assert grew < 16, f"peak memory grew {grew:.0f} MB"  # the cap, and a few MB of working space
    reports.append(
        f"fetch: a 1 GiB gzip bomb ({len(bomb) / 1e6:.1f} MB on the wire) refused at the 5 MB cap; "
        f"peak RSS grew {grew:.1f} MB"
    )


def test_gzip_inside_gzip_is_refused_as_binary(web, bomb, reports):
    nested = gzip.compress(bomb)
    web.expect_request("/nested.xml").respond_with_data(
        nested, content_type="application/rss+xml", headers={"Content-Encoding": "gzip"}
    )
    error, grew = _held(fetcher(web), web.url_for("/nested.xml"))
    assert error == "the answer is binary, not a page or a feed"
    assert grew < 16
    reports.append(
        f"fetch: gzip inside gzip ({len(nested) / 1e3:.1f} KB on the wire) refused as binary; "
        f"peak RSS grew {grew:.1f} MB"
    )


@pytest.mark.parametrize(
    "encoding, error",
    [
        ("gzip, gzip", "compressed more than once (gzip, gzip)"),
        ("gzip,deflate", "compressed more than once"),
        ("br", "compressed as 'br', which is not read"),
        ("compress", "compressed as 'compress'"),
    ],
)
def test_stacked_or_unknown_encodings_are_refused_unread(web, encoding, error):
    web.expect_request("/x.html").respond_with_data(
        gzip.compress(gzip.compress(b"<html>hi</html>")),
        content_type="text/html",
        headers={"Content-Encoding": encoding},
    )
    assert error in get_error(fetcher(web), web.url_for("/x.html"))


def test_accept_encoding_names_only_what_is_read(web):
    web.expect_request("/x.html").respond_with_data("<html></html>", content_type="text/html")
    fetcher(web).get(web.url_for("/x.html"))
    assert web.log[-1][0].headers["Accept-Encoding"] == "gzip, deflate"


@pytest.mark.parametrize(
    "encoding, packed",
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),  # as the standard says: zlib-wrapped
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # as many servers send it: raw
        ("identity", lambda b: b),
    ],
)
def test_each_encoding_read_is_read_right(web, encoding, packed):
    page = PAGE.format(meta="", text=HANOI).encode()
    web.expect_request("/p.html").respond_with_data(
        packed(page),
        content_type="text/html; charset=utf-8",
        headers={"Content-Encoding": encoding},
    )
    assert fetcher(web).get(web.url_for("/p.html")).text == page.decode()


def test_a_compressed_answer_cut_short_is_refused(web):
    cut = gzip.compress(PAGE.format(meta="", text=HANOI * 50).encode())[:-20]
    web.expect_request("/p.html").respond_with_data(
        cut, content_type="text/html", headers={"Content-Encoding": "gzip"}
    )
    assert "ends before its end" in get_error(fetcher(web), web.url_for("/p.html"))


# -- Decoding -------------------------------------------------------------------------------------


def test_one_stray_bad_byte_in_a_utf8_page_spoils_nothing_else(web):
    body = PAGE.format(meta="", text=HANOI).encode().replace(b"2-4 March", b"2-4 \xff March")
    web.expect_request("/p.html").respond_with_data(body, content_type="text/html; charset=utf-8")
    fetched = fetcher(web).get(web.url_for("/p.html"))
    assert fetched.charset == "utf-8" and fetched.text.count("\ufffd") == 1
    article = read_article(fetched)
    assert "held in Hà Nội on 2-4 \ufffd March 2027" in article.text


@pytest.mark.parametrize(
    "ctype, body, text, charset",
    [
        # The HTTP header says it.
        ("text/html; charset=windows-1252", b"Caf\xe9 \x93Hanoi\x94", "Café “Hanoi”", "cp1252"),
        # ISO-8859-1 is read as browsers read it, as windows-1252.
        ("text/html; charset=ISO-8859-1", b"Caf\xe9 \x93x\x94", "Café “x”", "cp1252"),
        # A byte-order mark cannot be mistaken; it outranks the header.
        ("text/html; charset=iso-8859-2", "\ufeffHà Nội".encode("utf-16-le"), "Hà Nội", "utf-16"),
        ("text/html", b"\xef\xbb\xbfH\xc3\xa0 N\xe1\xbb\x99i", "Hà Nội", "utf-8-sig"),
        # The page's own <meta charset>, when the header says nothing.
        (
            "text/html",
            b'<meta charset="windows-1252"><p>Caf\xe9',
            '<meta charset="windows-1252"><p>Café',
            "cp1252",
        ),
        (
            "text/html",
            b'<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">\xf0',
            '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">П',
            "koi8-r",
        ),
        # The XML declaration, for a feed.
        (
            "application/rss+xml",
            b'<?xml version="1.0" encoding="ISO-8859-2"?><rss>\xb3\xf3d\xbc</rss>',
            '<?xml version="1.0" encoding="ISO-8859-2"?><rss>łódź</rss>',
            "iso8859-2",
        ),
        # Nothing declared: UTF-8; a declared charset that is no charset is not believed.
        ("text/html", "Hà Nội".encode(), "Hà Nội", "utf-8"),
        ("text/html; charset=rot13", "Hà Nội".encode(), "Hà Nội", "utf-8"),
        ("text/html; charset=unicode_escape", b"H\\u00e0", "H\\u00e0", "utf-8"),
        # A <meta> claiming UTF-16 on bytes read as ASCII is wrong on its face.
        (
            "text/html",
            b'<meta charset="utf-16"><p>H\xc3\xa0',
            '<meta charset="utf-16"><p>Hà',
            "utf-8",
        ),
    ],
)
def test_text_is_decoded_as_its_source_declares_it(ctype, body, text, charset):
    assert decode(body, ctype) == (text, charset)


def test_a_feed_is_read_from_its_declared_charset_with_its_bad_byte_replaced(web):
    feed = (
        '<?xml version="1.0" encoding="windows-1252"?>'
        '<rss version="2.0"><channel><title>MFA</title>'
        "<item><title>R\xe9union \x93SOM1\x94 \xe0 Hanoi \x81</title>"
        "<link>https://mfa.example/a</link></item>"
        "</channel></rss>"
    ).encode("latin-1")
    web.expect_request("/rss").respond_with_data(feed, content_type="application/rss+xml")
    fetched = fetcher(web).get(web.url_for("/rss"))
    (item,), problem = read_feed(fetched)
    assert item.title == "Réunion “SOM1” à Hanoi \ufffd" and problem == ""


def test_a_feed_body_naming_a_local_file_is_not_read_from_it(tmp_path: Path):
    """feedparser opens a string that names a file, or fetches one that names an address: the
    fetcher hands it text in a stream, never a string."""
    secret = tmp_path / "secret.xml"
    secret.write_text(
        '<rss version="2.0"><channel><title>secret</title>'
        "<item><title>Token s3cret</title><link>https://mfa.example/s3cret</link></item>"
        "</channel></rss>"
    )
    for body in (str(secret), "http://169.254.169.254/latest/meta-data"):
        fetched = Fetched("https://mfa.example/rss", 200, body, "application/rss+xml")
        with pytest.raises(FetchError) as caught:
            read_feed(fetched)
        assert "s3cret" not in str(caught.value)


def test_a_feed_s_items_come_newest_first_and_carry_their_full_text():
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>MFA</title>'
        "<item><title>Old</title><link>/old</link><pubDate>Mon, 02 Nov 2026 09:00:00 GMT</pubDate>"
        "<description>A teaser.</description></item>"
        "<item><title>New</title><link>/new</link><pubDate>Fri, 20 Nov 2026 09:00:00 GMT</pubDate>"
        "<content:encoded><![CDATA[<p>SOM1 of APEC 2027 in Hà Nội.</p><p>Officials attend.</p>]]>"
        "</content:encoded></item>"
        "<item><title>Mid</title><link>/mid#top</link>"
        "<pubDate>Tue, 10 Nov 2026 09:00:00 GMT</pubDate></item>"
        "</channel></rss>"
    )
    items, _ = read_feed(Fetched("https://mfa.example/rss", 200, feed, "application/rss+xml"))
    assert [i.url for i in items] == [
        "https://mfa.example/new",
        "https://mfa.example/mid",
        "https://mfa.example/old",
    ]
    assert items[0].text == "SOM1 of APEC 2027 in Hà Nội.\n\nOfficials attend."
    assert items[2].text == ""  # a description is a teaser, not the article
