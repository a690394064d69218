"""Fetching watched sources politely and safely, and reading what comes back as a feed or an
article.

Polite: a named User-Agent, conditional requests (ETag and If-Modified-Since), a few redirects
at most, and a body read only up to a cap.

Safe by construction, because the addresses come from the web (a feed's items, a redirect):
* every connection (the first address and each redirect) resolves its host itself, refuses
  loopback, private, link-local, multicast, reserved and other non-public addresses unless the
  allow list (APEC_FETCH_ALLOW) names the host or holds the address, and connects to exactly the
  address it checked (no second look-up for a rebinding name to answer differently);
* only http and https, on their default ports unless the allow list names the host;
* one deadline for a whole fetch, from the look-up to the last byte, headers and redirects
  included, and `Fetcher.abort()` ends every fetch in flight within a fraction of a second;
* the size cap counts decompressed bytes as they are produced, so memory stays under it
  whatever the compression ratio; stacked or unknown encodings are refused.

The text is decoded here as the source declares it (HTTP header, else a byte-order mark, else
the page's own <meta charset> or XML declaration, else UTF-8), bad bytes replaced, and handed to
feedparser and trafilatura as text: neither guesses. No HTML is parsed here by hand.
"""

from __future__ import annotations

import codecs
import errno
import io
import ipaddress
import os
import re
import select
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

from store.errors import SourceError

if TYPE_CHECKING:
    import httpx

# httpx, httpcore, feedparser and trafilatura take half a second to import: only a poll pays.

USER_AGENT = (
    "apec-desk-bot/0.1 (an APEC desk's calendar watcher; one request per source every 15 minutes)"
)
MAX_BYTES = 5 * 1024 * 1024  # a press release is tens of kilobytes; a page past this is not one
TIMEOUT = 10.0  # seconds to connect, and between two pieces of the answer
DEADLINE = 30.0  # seconds for a whole fetch, redirects and headers included, however it trickles
MAX_REDIRECTS = 5
MAX_URL = 2000
MAX_ITEMS = 30  # a feed's items read in one poll (newest first; the rest wait for the next)
SLICE = 0.25  # seconds a socket waits at most before looking at the deadline and abort() again
PIECE = 256 * 1024  # bytes decompressed at a time
DEFAULT_PORTS = {"http": 80, "https": 443}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_FEED_TYPES = ("rss", "atom", "rdf", "xml")
_PAGE_TYPES = ("text/html", "application/xhtml+xml")
_TEXT_TYPES = ("text/plain", "text/markdown")


class FetchError(SourceError):
    """A source could not be fetched or read: the message is what its record says."""


# -- Which addresses may be fetched ---------------------------------------------------------------

# Not public, though Python's `is_global` (3.11) says otherwise or says nothing of them.
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
_IETF = ipaddress.ip_network("192.0.0.0/24")  # protocol assignments
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # an IPv4 address inside, reached through NAT64
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_TEREDO = ipaddress.ip_network("2001::/32")
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def refusal(address: IPAddress) -> str:
    """What kind of non-public address this is ('loopback', 'private', ...), or '' if public."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in _NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:  # an IPv4 address inside: it is where the connection goes
            return refusal(inner)
        if address in _TEREDO:
            return "Teredo tunnel"
        if address.is_site_local or address in _NAT64_LOCAL:
            return "private"
    checks: list[tuple[bool, str]] = [
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address in _SHARED, "shared (carrier-grade NAT)"),
        (address.is_reserved, "reserved"),
        (address.is_private or address in _IETF or address in _THIS_NETWORK, "private"),
        (not address.is_global, "non-public"),
    ]
    return next((why for hit, why in checks if hit), "")


def _address(text: str) -> IPAddress | None:
    """The address a host names literally, in any form the system resolver reads as one
    (2130706433, 0x7f.1 and 017700000001 are all 127.0.0.1), else None."""
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        pass
    if text[:1].isdigit() and re.fullmatch(r"[0-9a-fx.]+", text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def _plain(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address as the IPv4 address it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class AllowList:
    """Hosts and networks that may be fetched though not public, or on another port:
    `host` or `host:port` (a name, or an address), or a network such as `10.20.0.0/16`."""

    names: frozenset[tuple[str, int | None]] = frozenset()
    networks: tuple[tuple[IPNetwork, int | None], ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """The allow list of these entries; ValueError naming the first malformed one."""
        names: set[tuple[str, int | None]] = set()
        networks: list[tuple[IPNetwork, int | None]] = []
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            host, port = _host_port(entry)
            if "/" in host:
                try:
                    networks.append((_network(host), port))
                except ValueError:
                    raise ValueError(
                        f"{raw.strip()!r} is not a network such as 10.0.0.0/8"
                    ) from None
                continue
            address = _address(host)
            if address is not None:
                networks.append((ipaddress.ip_network(_plain(address)), port))
            elif _HOST_NAME.fullmatch(host):
                names.add((host, port))
            else:
                raise ValueError(f"{raw.strip()!r} is not a host name, an address or a network")
        return cls(frozenset(names), tuple(networks))

    def permits(self, host: str, port: int, address: IPAddress | None = None) -> bool:
        """Whether an entry names this host, or holds this address, on this port."""
        host = host.lower().rstrip(".").strip("[]")
        if (host, None) in self.names or (host, port) in self.names:
            return True
        if address is None:
            return False
        address = _plain(address)
        return any(
            address in net and allowed in (None, port)
            for net, allowed in self.networks
            if net.version == address.version
        )


def _network(text: str) -> IPNetwork:
    net = ipaddress.ip_network(text, strict=False)
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen >= 96 and net[0].ipv4_mapped:
        return ipaddress.ip_network(f"{net[0].ipv4_mapped}/{net.prefixlen - 96}")
    return net


def _host_port(entry: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]:port` or a bare IPv6 address, split."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ValueError(f"{entry!r} is not a host name, an address or a network")
        return host, _port(rest[1:], entry) if rest else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, _port(port, entry)
    return entry, None


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{entry!r} has no port from 1 to 65535 after its colon")
    return int(text)


def allow_list(allow: AllowList | Iterable[str]) -> AllowList:
    """An allow list, parsed from its entries if need be."""
    return allow if isinstance(allow, AllowList) else AllowList.parse(allow)


def normalize_url(text: str) -> str:
    """An http(s) address as typed (Slack's <url|label> unwrapped), without its #fragment;
    FetchError if it is not one. Says nothing about whether it may be fetched: see check_url."""
    url = text.strip().strip("<>").split("|", 1)[0].strip()
    return _normal(url)


def _normal(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        raise FetchError(f"{url[:80]!r} is not a web address (http:// or https://)")
    if len(url) > MAX_URL or any(c.isspace() for c in url):
        raise FetchError("that address is too long or has spaces in it")
    if parts.username is not None or parts.password is not None:
        raise FetchError("an address with a user name or password in it is not fetched")
    try:
        parts.port  # noqa: B018 - raises ValueError on a port that is not one
    except ValueError:
        raise FetchError(f"{url[:80]!r} has no usable port") from None
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, "")
    )


def check_url(text: str, allow: AllowList | Iterable[str] = ()) -> str:
    """`normalize_url`, and FetchError with the reason when the address may not be fetched: a
    non-public address written in it (in any form), a name for this machine, or a port other
    than the scheme's own, unless the allow list allows it. Names are resolved when fetched."""
    url = normalize_url(text)
    why = _refused(url, allow_list(allow))
    if why:
        raise FetchError(why)
    return url


def _a(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def _refused(url: str, allow: AllowList) -> str:
    """Why a normalized address may not be fetched, before any look-up; '' if it may."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    address = _address(host)
    if allow.permits(host, port, address):
        return ""
    hint = " (APEC_FETCH_ALLOW can allow it)"
    if address is not None and refusal(address):
        return f"{host} is {_a(refusal(address))} address, not on the public web{hint}"
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return f"{host} names this machine, not a place on the public web{hint}"
    if port != DEFAULT_PORTS[parts.scheme] and not (address is None and allow.networks):
        # (a name on another port may resolve into an allowed network: judged when fetched)
        return (
            f"port {port}: only the web's usual ports ({parts.scheme} on "
            f"{DEFAULT_PORTS[parts.scheme]}) are fetched{hint}"
        )
    return ""


# -- One fetch: its deadline, its look-ups and its sockets ---------------------------------------

R = TypeVar("R")


class _Attempt:
    """One fetch's clock and guard: every look-up, connection, read and write it makes waits in
    slices, so the deadline and an abort are noticed within SLICE seconds."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self.allow = fetcher.allow
        self.ends = time.monotonic() + fetcher.deadline

    def check(self) -> float:
        """Seconds left; FetchError once stopped or past the deadline."""
        if self.fetcher.stopped:
            raise FetchError("stopped")
        left = self.ends - time.monotonic()
        if left <= 0:
            raise FetchError(f"no complete answer within {self.fetcher.deadline:g} s: given up")
        return left

    def wait(self, op: Callable[[float], R | None], timeout: float | None, what: str) -> R:
        """Call `op(seconds)` until it returns something: each call waits at most a slice,
        bounded by the deadline, an abort, and `timeout` of nothing at all happening."""
        quiet_until = time.monotonic() + timeout if timeout else float("inf")
        while True:
            left = self.check()
            quiet = quiet_until - time.monotonic()
            if quiet <= 0:
                raise FetchError(f"no answer in time (nothing for {timeout:g} s {what})")
            found = op(max(0.001, min(SLICE, left, quiet)))
            if found is not None:
                return found

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The addresses to connect to, each checked; FetchError when one may not be."""
        literal = _address(host)
        if literal is not None:
            addresses = [literal]
        else:
            found: list[Any] = []
            done = threading.Event()

            def look_up() -> None:  # in its own thread: a slow resolver cannot outlast the deadline
                try:
                    found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
                except (OSError, UnicodeError) as exc:
                    found.append(exc)
                finally:
                    done.set()

            threading.Thread(target=look_up, name="apec-fetch-resolve", daemon=True).start()
            self.wait(lambda s: True if done.wait(s) else None, self.fetcher.timeout, "from DNS")
            if isinstance(found[0], BaseException):
                raise FetchError(f"{host} could not be looked up ({found[0]})")
            addresses = list(
                dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in found[0])
            )
        if not addresses:
            raise FetchError(f"{host} has no address")
        for address in addresses:
            why = refusal(address)
            if why and not self.allow.permits(host, port, address):
                named = f"{host} is" if literal is not None else f"{host} is {address},"
                raise FetchError(
                    f"{named} {_a(why)} address, not on the public web: not fetched"
                    " (APEC_FETCH_ALLOW can allow it)"
                )
        if port not in DEFAULT_PORTS.values() and not all(
            self.allow.permits(host, port, a) for a in addresses
        ):
            raise FetchError(f"port {port}: only the web's usual ports are fetched")
        return addresses

    def connect(
        self,
        host: str,
        port: int,
        addresses: list[IPAddress],
        timeout: float | None,
        options: Iterable[Any],
    ) -> socket.socket:
        """A socket connected to the first of the checked addresses that answers."""
        problems = []
        for address in addresses:
            family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                for option in options:
                    sock.setsockopt(*option)
                sock.setblocking(False)
                code = sock.connect_ex((str(address), port))
                if code not in (0, errno.EINPROGRESS, errno.EAGAIN):  # else not under way
                    raise OSError(code, os.strerror(code))
                self.wait(_writable(sock), timeout, "to connect")
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code:
                    raise OSError(code, os.strerror(code))
                sock.setblocking(True)
                return sock
            except OSError as exc:
                sock.close()
                problems.append(exc.strerror or str(exc))
            except BaseException:
                sock.close()
                raise
        raise FetchError(f"could not connect to {host} port {port} ({problems[0]})")


def _writable(sock: socket.socket) -> Callable[[float], bool | None]:
    """A wait for a connection under way to be made (or to fail)."""
    poller = select.poll()
    poller.register(sock, select.POLLOUT)
    return lambda seconds: True if poller.poll(seconds * 1000) else None


class _Stream:
    """httpcore's network stream over a socket the attempt connected: reads, writes and the
    TLS handshake wait in slices under the attempt's deadline."""

    def __init__(self, sock: socket.socket, attempt: _Attempt) -> None:
        self._sock = sock
        self._attempt = attempt

    def _io(self, op: Callable[[], R], timeout: float | None, what: str) -> R:
        def once(seconds: float) -> tuple[R] | None:
            self._sock.settimeout(seconds)
            try:
                return (op(),)
            except (TimeoutError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return None

        return self._attempt.wait(once, timeout, what)[0]

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        import httpcore

        try:
            return self._io(lambda: self._sock.recv(max_bytes), timeout, "from the server")
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        import httpcore

        try:
            view = memoryview(buffer)
            while view:
                sent = self._io(partial(self._sock.send, view), timeout, "to send the request")
                view = view[sent:]
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    def close(self) -> None:
        self._sock.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> _Stream:
        import httpcore

        # SNI and the certificate are checked against the host name, not the address.
        sock = ssl_context.wrap_socket(
            self._sock, server_hostname=server_hostname, do_handshake_on_connect=False
        )
        tls = _Stream(sock, self._attempt)
        try:
            tls._io(sock.do_handshake, timeout, "for the TLS handshake")
        except ssl.SSLError as exc:
            sock.close()
            raise httpcore.ConnectError(f"TLS: {exc.reason or exc}") from exc
        except OSError as exc:
            sock.close()
            raise httpcore.ConnectError(str(exc)) from exc
        except BaseException:
            sock.close()
            raise
        return tls

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._sock if isinstance(self._sock, ssl.SSLSocket) else None
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "socket":
            return self._sock
        if info == "is_readable":
            readable, _, _ = select.select([self._sock], [], [], 0)
            return bool(readable)
        return None


class _Backend:
    """httpcore's network backend for one attempt: look up, check, connect to what was checked."""

    def __init__(self, attempt: _Attempt) -> None:
        self._attempt = attempt

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> _Stream:
        addresses = self._attempt.resolve(host, port)
        sock = self._attempt.connect(host, port, addresses, timeout, socket_options or ())
        return _Stream(sock, self._attempt)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> _Stream:
        raise FetchError("not fetched: a local socket")

    def sleep(self, seconds: float) -> None:
        ends = time.monotonic() + seconds
        while (left := ends - time.monotonic()) > 0:
            time.sleep(min(SLICE, left, self._attempt.check()))


def _transport(attempt: _Attempt, context: ssl.SSLContext) -> httpx.HTTPTransport:
    """httpx's transport, its connection pool on the attempt's backend (httpx takes no backend
    of its own: the pool is replaced, as httpx builds it, with the same settings)."""
    import httpcore
    import httpx

    transport = httpx.HTTPTransport(verify=context, trust_env=False)
    transport._pool = httpcore.ConnectionPool(  # noqa: SLF001 - see above
        ssl_context=context,
        max_connections=4,
        http1=True,
        http2=False,
        network_backend=_Backend(attempt),  # type: ignore[arg-type]  # duck-typed backend
    )
    return transport


# -- The fetcher -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """One answer: 200 with its text (decoded as the source declares it), or 304 (unchanged
    since the ETag or date sent)."""

    url: str  # after redirects
    status: int
    text: str = ""
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""
    charset: str = ""  # what the text was decoded from

    @property
    def kind(self) -> str:
        """ "feed", "page" or "text", from the content type, else from the text's beginning."""
        ctype = self.content_type
        if any(t in ctype for t in _PAGE_TYPES):
            return "page"
        if any(t in ctype for t in _TEXT_TYPES):
            return "text"
        if any(t in ctype for t in _FEED_TYPES):
            return "feed"
        head = self.text[:512].lstrip("\ufeff \t\r\n").lower()
        if head.startswith(("<!doctype html", "<html")):
            return "page"
        if head.startswith(("<?xml", "<rss", "<feed", "<rdf")):
            return "feed"
        return ""


class Fetcher:
    """An HTTP client that asks politely and only where it may; `get` raises FetchError with the
    reason it gave up. Safe to use from several threads at once; `abort()` stops them all."""

    def __init__(
        self,
        timeout: float = TIMEOUT,
        deadline: float = DEADLINE,
        max_bytes: int = MAX_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        user_agent: str = USER_AGENT,
        allow: AllowList | Iterable[str] = (),
    ) -> None:
        self.timeout = timeout
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.allow = allow_list(allow)
        self.headers = {"User-Agent": user_agent, "Accept": _ACCEPT, "Accept-Encoding": _ENCODINGS}
        self._stop = threading.Event()
        self._context: ssl.SSLContext | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing is held between fetches: each has its own connections, closed as it ends."""

    def abort(self) -> None:
        """Every fetch in flight fails with FetchError('stopped') within SLICE seconds, and so
        does every later one."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _ssl(self) -> ssl.SSLContext:
        with self._lock:  # made once: loading the CA bundle takes tens of milliseconds
            if self._context is None:
                import httpx

                self._context = httpx.create_ssl_context(trust_env=False)
            return self._context

    def get(self, url: str, etag: str = "", last_modified: str = "") -> Fetched:
        """GET `url`, conditionally when an ETag or a date from last time is given."""
        import httpx

        attempt = _Attempt(self)
        attempt.check()
        headers = dict(self.headers)
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            with httpx.Client(
                transport=_transport(attempt, self._ssl()),
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,  # followed below: each hop checked, all under one deadline
                trust_env=False,  # no proxy or netrc picked up from the environment
            ) as client:
                return self._follow(client, attempt, url, headers)
        except FetchError:
            raise
        except httpx.TimeoutException as exc:
            raise FetchError(f"no answer in time ({type(exc).__name__})") from exc
        except httpx.InvalidURL as exc:
            raise FetchError(f"not a usable address: {exc}") from exc
        except httpx.HTTPError as exc:
            if self.stopped:
                raise FetchError("stopped") from exc
            raise FetchError(f"{type(exc).__name__}: {exc}") from exc

    def _follow(
        self, client: httpx.Client, attempt: _Attempt, url: str, headers: dict[str, str]
    ) -> Fetched:
        for hop in range(self.max_redirects + 1):
            try:
                why = _refused(_normal(url), self.allow)
            except FetchError as exc:
                why = str(exc)
            if why:
                raise FetchError(f"redirected to {url[:100]}: {why}" if hop else why)
            with client.stream("GET", url, headers=headers) as resp:
                if resp.status_code in (301, 302, 303, 307, 308):
                    location = resp.headers.get("location", "").strip()
                    if not location:
                        raise FetchError(f"HTTP {resp.status_code} with no address to go to")
                    url = str(resp.url.join(location).copy_with(fragment=None))
                    continue
                return self._answer(resp, attempt, headers)
        raise FetchError(f"redirected more than {self.max_redirects} times (a redirect loop?)")

    def _answer(self, resp: httpx.Response, attempt: _Attempt, headers: dict[str, str]) -> Fetched:
        url = str(resp.url)
        if resp.status_code == 304:
            etag, modified = headers.get("If-None-Match", ""), headers.get("If-Modified-Since", "")
            return Fetched(url, 304, etag=etag, last_modified=modified)
        if resp.status_code >= 400:
            raise FetchError(f"HTTP {resp.status_code} {resp.reason_phrase}".strip())
        if resp.status_code != 200:
            raise FetchError(f"HTTP {resp.status_code}: expected 200 or 304")
        ctype = resp.headers.get("content-type", "").lower()
        _refuse_binary(ctype)
        text, charset = decode(self._read(resp, attempt, _declared(ctype)), ctype)
        etag, modified = resp.headers.get("etag", ""), resp.headers.get("last-modified", "")
        return Fetched(url, 200, text, ctype, etag, modified, charset)

    def _read(self, resp: httpx.Response, attempt: _Attempt, charset: str) -> bytearray:
        """The body, decompressed as it arrives, up to the cap (counted on what decompression
        produces) and the deadline; past either, the connection is dropped."""
        cap = self.max_bytes
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(f"{_mb(int(declared))} is over the {_mb(cap)} cap")
        decoder = _decoder(resp.headers.get("content-encoding", ""))
        body = bytearray()
        looked = False
        for raw in resp.iter_raw():
            attempt.check()
            # Never more than one byte past the cap, whatever the ratio: memory stays bounded.
            decoder.feed(raw, body, cap + 1)
            if len(body) > cap:
                raise FetchError(f"larger than the {_mb(cap)} cap: not read further")
            if not looked and len(body) >= 4096:
                _refuse_binary_body(bytes(body[:4096]), charset)
                looked = True
            if decoder.done:
                break  # what follows a compressed stream's end is not part of it
        decoder.finish()
        _refuse_binary_body(bytes(body[:4096]), charset)
        return body


_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, "
    "text/html;q=0.8, application/xhtml+xml;q=0.8, text/plain;q=0.5"
)
_ENCODINGS = "gzip, deflate"  # what _decoder reads, and nothing else


class _Decoder:
    """A body's content coding undone piece by piece, never producing more than asked."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self.done = False
        self._z = self._inflater(coding)
        self._started = False

    @staticmethod
    def _inflater(coding: str, raw: bool = False) -> Any:
        if coding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if coding == "deflate":
            return zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
        return None

    def feed(self, data: bytes, into: bytearray, most: int) -> None:
        """What `data` decompresses to, added to `into` a piece at a time and never past `most`
        bytes in all (the cap and one more: past it, the caller stops)."""
        if self._z is None:
            into += data[: most - len(into)]
            return
        while data and len(into) < most:
            try:
                piece = self._z.decompress(data, min(PIECE, most - len(into)))
            except zlib.error:
                if self.coding != "deflate" or self._started:
                    raise FetchError(f"the {self.coding} answer is corrupt") from None
                # "deflate" as many servers send it: raw, without the zlib wrapper it should have.
                self._z = self._inflater("deflate", raw=True)
                self._started = True
                continue
            self._started = True
            into += piece
            data = self._z.unconsumed_tail  # what did not fit in this piece
        self.done = self._z.eof

    def finish(self) -> None:
        if self._z is not None and not self._z.eof:
            raise FetchError(f"the {self.coding} answer ends before its end")


def _decoder(header: str) -> _Decoder:
    codings = [c.strip().lower() for c in header.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if len(codings) > 1:
        raise FetchError(
            f"the answer is compressed more than once ({', '.join(codings)}): not read"
        )
    coding = codings[0] if codings else ""
    if coding and coding not in ("gzip", "x-gzip", "deflate"):
        raise FetchError(f"the answer is compressed as {coding[:20]!r}, which is not read")
    return _Decoder(coding)


def _refuse_binary(ctype: str) -> None:
    """A content type no page or feed comes as (a PDF, an image, octet-stream) is not read."""
    main = ctype.split(";", 1)[0].strip()
    if main and not (main.startswith("text/") or "xml" in main):
        raise FetchError(f"not a page or a feed ({main}): not read")


def _refuse_binary_body(head: bytes, charset: str) -> None:
    wide = charset.startswith(("utf-16", "utf-32")) or head.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    )
    if head.startswith((b"%PDF", b"\x1f\x8b")) or (b"\x00" in head and not wide):
        raise FetchError("the answer is binary, not a page or a feed")


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n:,} bytes"


# -- Decoding --------------------------------------------------------------------------------------

# Codecs that are not a web page's character set: a source naming one is not believed.
_NOT_CHARSETS = frozenset(
    {
        "idna",
        "punycode",
        "raw-unicode-escape",
        "unicode-escape",
        "undefined",
        "utf-7",
        "mbcs",
        "base64",
        "bz2",
        "hex",
        "quopri",
        "rot-13",
        "uu",
        "zlib",
    }
)
# As browsers read them (the WHATWG Encoding Standard): these labels mean windows-1252.
_AS_1252 = frozenset({"iso8859-1", "latin-1", "ascii", "cp819", "l1", "us-ascii"})
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16's, which it begins with
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_XML_DECLARATION = re.compile(
    rb"""\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})"""
)
_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,500}?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]{1,40})""", re.I
)


def _charset_label(label: str) -> str:
    """A character set's codec name, or '' when the label names none."""
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except (LookupError, ValueError):
        return ""
    if name in _NOT_CHARSETS:
        return ""
    return "cp1252" if name in _AS_1252 else name


def _declared(ctype: str) -> str:
    """The charset a Content-Type header declares, as a codec name ('' if none or unknown)."""
    for part in ctype.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "charset" and value:
            return _charset_label(value)
    return ""


def decode(body: bytes | bytearray, ctype: str = "") -> tuple[str, str]:
    """A body's text and the charset read: a byte-order mark (it cannot be mistaken), else the
    HTTP header's charset, else the document's own declaration (<meta charset>, or the XML
    declaration) in its first 4 KB, else UTF-8. A bad byte becomes U+FFFD: the rest is kept."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body.decode(name, errors="replace"), name
    charset = _declared(ctype)
    if not charset:
        head = body[:4096]
        found = _XML_DECLARATION.match(head) or _META_CHARSET.search(head)
        charset = _charset_label(found.group(1).decode("ascii")) if found else ""
        if charset.startswith(("utf-16", "utf-32")):
            charset = "utf-8"  # a document read as ASCII cannot say it is not (WHATWG)
    charset = charset or "utf-8"
    return body.decode(charset, errors="replace"), charset


# -- Reading feeds and articles --------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """A feed's entry: where its article is, its title, the day it was published if given, and
    its full content when the feed carries it (the publisher's own text, not a summary)."""

    url: str
    title: str
    published: date | None
    content: str = ""  # as the feed gives it: HTML, or plain text
    html: bool = False

    @cached_property
    def text(self) -> str:
        """The full content as text ('' if none), read when first asked for: a poll reads the
        text of the items it takes, not of every item in the feed."""
        return _html_text(self.content) if self.html else self.content.strip()


def read_feed(fetched: Fetched) -> tuple[list[Item], str]:
    """Every item of a feed that links to an article, newest first, and what was wrong with the
    feed ('' if nothing). A feed so broken that no item can be read raises FetchError."""
    import feedparser

    # Handed over as the text already decoded, declared as UTF-8, in a stream: a bare string
    # would be taken for a file name or an address to fetch.
    parsed = feedparser.parse(
        io.BytesIO(fetched.text.encode("utf-8", errors="replace")),
        response_headers={
            "content-type": "application/xml; charset=utf-8",
            "content-location": fetched.url,
        },
        sanitize_html=False,  # the HTML is read for its text below, never shown as HTML
        resolve_relative_uris=False,
    )
    problem = ""
    harmless = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
    if parsed.bozo and not isinstance(parsed.get("bozo_exception"), harmless):
        problem = f"malformed feed: {_one_line(parsed.get('bozo_exception'))}"
    if not parsed.version and not parsed.entries:
        raise FetchError(problem or "not an RSS or Atom feed")
    entries: list[tuple[Any, Item]] = []
    seen: set[str] = set()
    for entry in parsed.entries:
        link = urljoin(fetched.url, entry.get("link", "") or "").split("#", 1)[0]
        if urlsplit(link).scheme not in DEFAULT_PORTS or link in seen:
            continue
        seen.add(link)
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = _stamp_day(stamp)
        title = " ".join(str(entry.get("title", "")).split())
        content, html = _content(entry)
        entries.append((stamp, Item(link, title, published, content, html)))
    if not entries and parsed.entries:
        raise FetchError(problem or "no item in the feed links to an article")
    # Newest first by the feed's own times when every item has one; else as the feed lists them
    # (newest first, by convention). Items of the same time keep the feed's order.
    if all(stamp for stamp, _ in entries):
        entries.sort(key=lambda e: tuple(e[0][:6]), reverse=True)
    return [item for _, item in entries], problem


def _stamp_day(stamp: Any) -> date | None:
    try:
        return date(*stamp[:3]) if stamp else None
    except (TypeError, ValueError):
        return None


def _content(entry: Any) -> tuple[str, bool]:
    """An entry's full content, and whether it is HTML: `content:encoded` or Atom `<content>`.
    The summary (`description`) is a teaser, never taken for the article."""
    for content in entry.get("content") or ():
        value = str(content.get("value", "") or "").strip()
        if value:
            return value, "html" in str(content.get("type", ""))
    return "", False


def _html_text(html: str) -> str:
    """The text of an HTML fragment, a paragraph a line (trafilatura's plain reading)."""
    if "<" not in html and "&" not in html:
        return " ".join(html.split())  # no markup: the text itself, its white space as HTML's
    from lxml.etree import ParserError
    from lxml.html import fragments_fromstring
    from trafilatura import html2txt

    try:
        parts = fragments_fromstring(html)
    except (ParserError, ValueError):
        return ""
    lines = [p if isinstance(p, str) else html2txt(p) for p in parts]
    return "\n\n".join(line.strip() for line in lines if line and line.strip())


@dataclass(frozen=True)
class Article:
    """A page's main text, its title and date when the page gives them."""

    url: str
    title: str
    text: str
    published: date | None


def read_article(fetched: Fetched) -> Article:
    """The article in a page (trafilatura, given the text decoded), or a plain-text body as is."""
    kind = fetched.kind
    if kind == "text":
        return Article(fetched.url, "", fetched.text.strip(), None)
    if kind != "page":
        raise FetchError("not an HTML page: no article read")
    import trafilatura
    from trafilatura.settings import Document

    html = _XML_PROLOGUE.sub("", fetched.text, count=1)  # lxml refuses a str that names its bytes
    doc = trafilatura.bare_extraction(
        html,
        url=fetched.url,
        with_metadata=True,
        include_comments=False,
        # The page's date from its markup only: a date guessed from its prose ("2026-02-31" read
        # as 1 February) would set the day every relative date in it is read against.
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    text = (doc.text or "").strip() if isinstance(doc, Document) else ""  # not as_dict: a Document
    if not isinstance(doc, Document) or not text:
        raise FetchError("no article text found in the page")
    return Article(fetched.url, (doc.title or "").strip(), text, _day(doc.date))


_XML_PROLOGUE = re.compile(r"^\ufeff?\s*<\?xml[^>]*\?>")


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _one_line(exc: object) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
