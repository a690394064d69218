"""A stand-in for Slack's Web API: a real HTTP server on loopback that answers and records calls.

Point a real client at it::

    stub = WebAPIStub().start()
    client = slack_sdk.WebClient(token=stub.token, base_url=stub.url)
    client.chat_postMessage(channel="C1", text="hi")
    assert stub.posts("C1")[0]["text"] == "hi"
    stub.stop()

Nothing here is a mock: the client speaks HTTP to a ``ThreadingHTTPServer`` bound to
``127.0.0.1`` on a free port. Methods the stub does not know answer ``{"ok": true}``. It speaks
HTTP/1.1: a client that keeps its connection open may send its next call on it (``connections``
counts the TCP connections accepted); the connections left open are closed when the stub stops.

Run as its own process (for subprocess tests)::

    python -m tests.slack_stub --port 0 --calls-file calls.jsonl

prints its URL on the first line of stdout and appends every call to the file as one JSON
line (``method``, ``params``, ``status``, ``at`` as ``time.time()``) until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BOT_USER = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T1"
TEAM = "Test"

# Fields slack-sdk (or a caller) may send as JSON text inside a form body; decoded to objects.
_JSON_FIELDS = ("blocks", "metadata", "view", "attachments")


@dataclass
class Call:
    """One request the stub answered."""

    method: str  # e.g. "chat.postMessage"
    params: dict  # query string merged with the form or JSON body (body wins); no `token`
    token: str  # from "Authorization: Bearer ..." or a `token` param; "" when absent
    at: float  # time.monotonic() when answered
    status: int  # HTTP status answered
    response: dict = field(default_factory=dict)  # the JSON body answered


@dataclass
class _Delay:
    method: str
    seconds: float
    times: int


@dataclass
class _Fault:
    method: str
    times: int
    status: int
    error: str  # "" with `posts`: the normal answer
    channel: str | None = None
    retry_after: int | None = None
    posts: bool = False  # handle the call first (a message is posted), then answer as above
    hold: float = 0.0  # seconds the answer is held, as `delay` does
    drop: bool = False  # no answer at all: the connection is closed once the call is read


def _shut(connections: set[socket.socket]) -> None:
    """Close connections from the server's side (their handlers see the end, and finish)."""
    for sock in connections:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already gone


def _truthy(value: Any) -> bool:
    """Slack's reading of a boolean parameter: true, "true" or "1" (form bodies carry "1"/"0")."""
    return value is True or value == 1 or str(value).lower() in ("true", "1")


def _decode_json_fields(params: dict) -> dict:
    for key in _JSON_FIELDS:
        value = params.get(key)
        if isinstance(value, str):
            try:
                params[key] = json.loads(value)
            except ValueError:
                pass  # not JSON: leave as sent
    return params


class WebAPIStub:
    """A local Slack Web API on ``127.0.0.1``; every call is kept in :attr:`calls`, in order."""

    def __init__(
        self, token: str = "xoxb-test-token", *, calls_file: str | Path | None = None
    ) -> None:
        """``token`` is the only bot token accepted; ``calls_file`` gets one JSON line per call."""
        self.token = token
        self.calls: list[Call] = []
        self.url = ""
        self._calls_file = Path(calls_file) if calls_file is not None else None
        self._cond = threading.Condition()  # guards every piece of state below, notified per call
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._stopping = threading.Event()  # wakes answers held by `delay` when the stub stops
        self._releases = 0  # `release_held` counts up: answers held before it are sent
        self._on_call: dict[str, Callable[[Call], None]] = {}  # `on_call`: once, before answering
        self._users: dict[str, dict] = {}
        self._known_channels: dict[str, dict] = {}  # channel -> what conversations.info says
        self._channels: dict[str, list[dict]] = {}  # channel -> messages, oldest first
        self._last_ts_us = 0
        self._files: dict[str, dict] = {}  # file_id -> the file announced, then its bytes
        self._canvases: list[dict] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.connections = 0  # TCP connections accepted
        self._waiting: set[socket.socket] = set()  # connections waiting for their next request
        self._busy: set[socket.socket] = set()  # connections between a request and its answer

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, port: int = 0) -> WebAPIStub:
        """Bind ``127.0.0.1:port`` (0: a free port) and serve in a daemon thread."""
        self._stopping.clear()
        handler = type("Handler", (_Handler,), {"stub": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        host, bound = self._server.server_address[:2]
        self.url = f"http://{host}:{bound}/api/"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how long stop() may wait for the loop to notice
            name="slack-web-api-stub",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port; close the connections kept open. Safe to call twice."""
        with self._cond:
            self._stopping.set()  # a connection answering a call is closed once it has answered
            self._cond.notify_all()
            waiting, self._waiting = self._waiting, set()
        _shut(waiting)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def close_idle(self, timeout: float = 5.0) -> int:
        """Close every connection kept open and waiting for its next call, as a server's idle
        timeout does, once the calls under way are answered; how many were closed."""
        with self._cond:
            self._cond.wait_for(lambda: not self._busy, timeout)
            waiting, self._waiting = self._waiting, set()
        _shut(waiting)
        return len(waiting)

    def __enter__(self) -> WebAPIStub:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests read -----------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        """Every call of ``method`` so far, in order."""
        with self._cond:
            return [call for call in self.calls if call.method == method]

    def posts(self, channel: str | None = None) -> list[dict]:
        """The params of chat.postMessage calls that succeeded (optionally to one channel)."""
        with self._cond:
            return [
                call.params
                for call in self.calls
                if call.method == "chat.postMessage"
                and call.response.get("ok")
                and (channel is None or call.params.get("channel") == channel)
            ]

    def history(self, channel: str) -> list[dict]:
        """Messages posted to ``channel``, newest first, as conversations.history returns them
        (always with ``metadata``; thread replies included)."""
        with self._cond:
            return [dict(message) for message in reversed(self._channels.get(channel, []))]

    def posted_keys(self) -> Counter[str]:
        """How many messages in every channel's history carry each key in their metadata
        (``event_payload.key``): what Slack holds, whatever it answered."""
        with self._cond:
            return Counter(
                str(message["metadata"]["event_payload"]["key"])
                for messages in self._channels.values()
                for message in messages
                if isinstance(message.get("metadata"), dict)
                and "key" in (message["metadata"].get("event_payload") or {})
            )

    def canvases(self) -> list[dict]:
        """The canvases made (canvases.create that succeeded) and not deleted: canvas_id, title,
        channel_id, markdown (as the last canvases.edit replaced it)."""
        with self._cond:
            return [dict(c) for c in self._canvases if not c.get("deleted")]

    def delete_canvas(self, canvas_id: str) -> None:
        """Delete a canvas, as a user may in Slack: canvases.edit of it then fails."""
        with self._cond:
            for canvas in self._canvases:
                if canvas["canvas_id"] == canvas_id:
                    canvas["deleted"] = True

    def files(self) -> list[dict]:
        """Files shared by files_upload_v2's three steps (files.getUploadURLExternal, a POST of
        the bytes to the upload URL, files.completeUploadExternal): id, filename, title,
        channel_id, content (text), bytes (as sent), initial_comment."""
        with self._cond:
            return [
                dict(f) for f in self._files.values() if f.get("completed") and not f.get("deleted")
            ]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until ``method`` has been called ``count`` times; return its calls.

        Wakes on each call (no polling). Raises AssertionError naming what was seen on timeout.
        """
        with self._cond:
            if self._cond.wait_for(lambda: len(self.calls_to(method)) >= count, timeout):
                return self.calls_to(method)
            seen = [call.method for call in self.calls]
        raise AssertionError(
            f"expected {count} call(s) to {method} within {timeout}s; "
            f"saw {len([m for m in seen if m == method])}. All calls: {seen}"
        )

    # -- what tests arrange --------------------------------------------------------------------

    def fail(
        self,
        method: str,
        error: str,
        times: int = 1,
        channel: str | None = None,
        status: int = 200,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (only those to ``channel``, if given)
        with HTTP ``status`` ``{"ok": false, "error": error}``, e.g. "channel_not_found".
        Nothing is done: no message is posted."""
        self.answer_with(method, status=status, error=error, times=times, channel=channel)

    def fail_after_posting(
        self,
        method: str,
        error: str = "internal_error",
        status: int = 500,
        times: int = 1,
        channel: str | None = None,
    ) -> None:
        """Handle the next ``times`` calls of ``method`` (a message is posted, as Slack sometimes
        does before failing), then answer HTTP ``status`` ``{"ok": false, "error": error}``."""
        self.answer_with(
            method, status=status, error=error, posts=True, times=times, channel=channel
        )

    def on_call(self, method: str, action: Callable[[Call], None]) -> None:
        """Run `action(call)` once, when ``method`` is next called, after it is recorded and before
        it is answered: a test acts at that very moment (freezes the caller mid-call), whatever the
        machine's load."""
        with self._cond:
            self._on_call[method] = action

    def answer_late(self, method: str, seconds: float, times: int = 1) -> None:
        """As `delay` (handled first, the answer held ``seconds``), but in the order of the other
        faults: ``answer_late`` then ``fail`` holds the next call and fails the one after."""
        self.answer_with(method, posts=True, hold=seconds, times=times)

    def answer_with(
        self,
        method: str,
        *,
        status: int = 200,
        error: str = "",
        posts: bool = False,
        hold: float = 0.0,
        retry_after: int | None = None,
        times: int = 1,
        channel: str | None = None,
    ) -> None:
        """The general form of the faults: the next ``times`` calls of ``method`` (to ``channel``,
        if given) are handled first when ``posts`` (a message is stored, as if Slack did the work),
        then answered with HTTP ``status`` and ``{"ok": false, "error": error}`` (the normal answer
        when ``error`` is ""), with ``Retry-After`` if given, held ``hold`` seconds. Faults are
        taken in the order they were arranged: ``answer_with(m, posts=True)`` is one normal
        answer."""
        if not error and not posts:
            raise ValueError("an answer that does not post needs an error")
        fault = _Fault(method, times, status, error, channel, retry_after, posts, hold)
        with self._cond:
            self._faults.append(fault)

    def drop(self, method: str, times: int = 1) -> None:
        """Handle the next ``times`` calls of ``method`` (a message is posted), then close the
        connection without answering: the caller cannot tell whether it was done."""
        with self._cond:
            self._faults.append(_Fault(method, times, 200, "", posts=True, drop=True))

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 429, ``Retry-After`` and
        ``{"ok": false, "error": "ratelimited"}``."""
        self.answer_with(
            method, status=429, error="ratelimited", retry_after=retry_after, times=times
        )

    def delay(self, method: str, seconds: float, times: int = 1) -> None:
        """Hold the answer to the next ``times`` calls of ``method`` for ``seconds``.

        The call is handled first (recorded in :attr:`calls`, waiters woken, a posted message
        stored in history), then the answer waits: a client killed meanwhile has made its post
        but never sees the ``ts``. A held answer is released at once when the stub stops.
        """
        with self._cond:
            self._delays.append(_Delay(method, seconds, times))

    def release_held(self) -> None:
        """Send every answer held now (by `delay`, `answer_late` or a fault's `hold`) at once."""
        with self._cond:
            self._releases += 1
            self._cond.notify_all()

    def set_user(
        self,
        user_id: str,
        *,
        is_admin: bool = False,
        is_owner: bool = False,
        tz: str | None = "UTC",
        team_id: str = TEAM_ID,
        display_name: str = "",
    ) -> None:
        """Make ``user_id`` known to users.info (a user of another team: a Slack Connect guest);
        ``tz`` is the zone of their profile (None: no ``tz`` field, as for a bot user);
        ``display_name`` their profile's display name."""
        with self._cond:
            self._users[user_id] = {
                "id": user_id,
                "team_id": team_id,
                "name": user_id.lower(),
                "is_admin": is_admin,
                "is_owner": is_owner,
                "profile": {"display_name": display_name},
                **({"tz": tz} if tz is not None else {}),
            }

    def set_channel(
        self, channel_id: str, *, is_member: bool = True, is_private: bool = False
    ) -> None:
        """Say whether the bot is in ``channel_id`` (conversations.info's ``is_member``); a private
        channel the bot is not in answers ``channel_not_found``, as Slack does. A channel never
        set answers ``is_member: true``."""
        with self._cond:
            self._known_channels[channel_id] = {
                "id": channel_id,
                "is_archived": False,
                "is_member": is_member,
                "is_private": is_private,
            }

    def dm_channel(self, user_id: str) -> str:
        """The id conversations.open answers for a direct message with ``user_id``."""
        return "D" + user_id.lstrip("UW")

    # -- answering -----------------------------------------------------------------------------

    def _answer(self, method: str, params: dict, token: str) -> tuple[int, dict, dict[str, str]]:
        """Work out (status, body, extra headers) for one call, record it and wake waiters; a
        status of 0: no answer (`drop`)."""
        with self._cond:
            headers: dict[str, str] = {}
            held = 0.0
            dropped = False
            if not self._authorized(method, token):
                status, body = 200, {"ok": False, "error": "invalid_auth"}
            elif fault := self._take_fault(method, params):
                status, body = self._handle(method, params) if fault.posts else (200, {})
                if fault.error or not fault.posts:
                    status, body = fault.status, {"ok": False, "error": fault.error}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                held, dropped = fault.hold, fault.drop
            else:
                status, body = self._handle(method, params)
            call = Call(method, params, token, time.monotonic(), status, body)
            self.calls.append(call)
            self._write_call_line(call)
            action = self._on_call.pop(method, None)
            if action is not None:
                action(call)
            self._cond.notify_all()
            hold = max(held, self._take_delay(method))
            releases = self._releases
        if hold:
            with self._cond:  # waiting releases the lock: other calls are answered meanwhile
                self._cond.wait_for(
                    lambda: self._releases != releases or self._stopping.is_set(), hold
                )
        return (0 if dropped else status), body, headers

    def _idle(self, connection: socket.socket, waiting: bool, busy: bool = False) -> bool:
        """A connection starts (True) or stops (False) waiting for its next request, and is busy
        answering one meanwhile or not; False when the stub is stopping: that connection is to be
        closed, not waited on."""
        with self._cond:
            (self._busy.add if busy else self._busy.discard)(connection)
            if not waiting:
                self._waiting.discard(connection)
            elif self._stopping.is_set():
                return False
            else:
                self._waiting.add(connection)
            self._cond.notify_all()
            return True

    def _handle(self, method: str, params: dict) -> tuple[int, dict]:
        """Do what the method does; (200, its answer)."""
        try:
            return 200, self._dispatch(method, params)
        except Exception as exc:  # a bug in the stub: say so rather than hang the client
            return 500, {"ok": False, "error": f"stub_error: {exc!r}"}

    def _take_delay(self, method: str) -> float:
        for delay in self._delays:
            if delay.method == method:
                delay.times -= 1
                if delay.times <= 0:
                    self._delays.remove(delay)
                return delay.seconds
        return 0.0

    def _authorized(self, method: str, token: str) -> bool:
        if token == self.token:
            return True
        if method.startswith("hooks."):  # response_url posts carry no token
            return True
        return method == "apps.connections.open" and token.startswith("xapp-")

    def _take_fault(self, method: str, params: dict) -> _Fault | None:
        for fault in self._faults:
            if fault.method == method and (
                fault.channel is None or params.get("channel") == fault.channel
            ):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _next_ts(self) -> str:
        """A message ts from the wall clock, strictly increasing: "1700000000.000100" style."""
        self._last_ts_us = max(time.time_ns() // 1000, self._last_ts_us + 1)
        seconds, micros = divmod(self._last_ts_us, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _dispatch(self, method: str, p: dict) -> dict:
        """What the method does, by its name; a method not simulated answers a bare ok."""
        handler = _METHODS.get(method)
        return {"ok": True} if handler is None else handler(self, p)

    # -- the methods simulated, one each (the table `_METHODS` below the class names them) ------

    def _auth_test(self, p: dict) -> dict:
        return {
            "ok": True,
            "url": "https://test.slack.com/",
            "team": TEAM,
            "user": "bot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
        }

    def _chat_post_message(self, p: dict) -> dict:
        channel = p.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not p.get("text") and not p.get("blocks"):
            return {"ok": False, "error": "no_text"}
        message = {
            "type": "message",
            "ts": self._next_ts(),
            "text": p.get("text") or "",
            "blocks": p.get("blocks"),
            "metadata": p.get("metadata"),
            "thread_ts": p.get("thread_ts"),
            "bot_id": BOT_ID,
            "user": BOT_USER,
        }
        message = {k: v for k, v in message.items() if v is not None}
        self._channels.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": dict(message)}

    def _chat_post_ephemeral(self, p: dict) -> dict:
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_update(self, p: dict) -> dict:
        for message in self._channels.get(p.get("channel", ""), []):
            if message["ts"] == p.get("ts"):
                for key in ("text", "blocks", "metadata"):
                    if p.get(key) is not None:
                        message[key] = p[key]
        return {"ok": True, "channel": p.get("channel"), "ts": p.get("ts"), "text": p.get("text")}

    def _chat_delete(self, p: dict) -> dict:
        messages = self._channels.get(p.get("channel", ""), [])
        messages[:] = [m for m in messages if m["ts"] != p.get("ts")]
        return {"ok": True, "channel": p.get("channel"), "ts": p.get("ts")}

    def _conversations_history(self, p: dict) -> dict:
        return {"ok": True, "messages": self._read_history(p), "has_more": False}

    def _conversations_open(self, p: dict) -> dict:
        users = str(p.get("users") or "").split(",")
        if not users[0]:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": self.dm_channel(users[0])}}

    def _conversations_info(self, p: dict) -> dict:
        found = self._known_channels.get(p.get("channel", ""))
        if found is not None and found["is_private"] and not found["is_member"]:
            return {"ok": False, "error": "channel_not_found"}
        default = {"id": p.get("channel"), "is_archived": False, "is_member": True}
        return {"ok": True, "channel": dict(found or default)}

    def _users_info(self, p: dict) -> dict:
        user = self._users.get(p.get("user", ""))
        return (
            {"ok": True, "user": dict(user)} if user else {"ok": False, "error": "user_not_found"}
        )

    def _views(self, p: dict) -> dict:
        view = p.get("view") if isinstance(p.get("view"), dict) else {}
        return {"ok": True, "view": {"id": "V1", **view}}

    def _apps_connections_open(self, p: dict) -> dict:
        return {"ok": True, "url": "ws://127.0.0.1:1/"}

    def _canvases_create(self, p: dict) -> dict:
        content = p.get("document_content") or {}
        canvas_id = f"F{len(self._canvases) + 1:08d}C"
        self._canvases.append(
            {
                "canvas_id": canvas_id,
                "title": p.get("title"),
                "channel_id": p.get("channel_id"),
                "markdown": content.get("markdown", ""),
            }
        )
        return {"ok": True, "canvas_id": canvas_id}

    def _canvases_edit(self, p: dict) -> dict:
        changes = p.get("changes") or []
        found = [c for c in self._canvases if c["canvas_id"] == p.get("canvas_id")]
        if not found or found[0].get("deleted"):
            return {"ok": False, "error": "canvas_not_found"}
        for change in changes:
            if change.get("operation") == "replace" and "section_id" not in change:
                found[0]["markdown"] = (change.get("document_content") or {}).get("markdown", "")
        return {"ok": True}

    def _files_delete(self, p: dict) -> dict:
        found = self._files.get(p.get("file", ""))
        if found is None or found.get("deleted"):
            return {"ok": False, "error": "file_not_found"}
        found["deleted"] = True
        return {"ok": True}

    def _files_get_upload_url_external(self, p: dict) -> dict:
        if not p.get("filename") or not str(p.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{len(self._files) + 1:08d}U"
        self._files[file_id] = {
            "id": file_id,
            "filename": p["filename"],
            "length": int(p["length"]),
        }
        return {
            "ok": True,
            "file_id": file_id,
            "upload_url": f"{self.url.removesuffix('api/')}upload/v1/{file_id}",
        }

    def _files_complete_upload_external(self, p: dict) -> dict:
        files = json.loads(p.get("files") or "[]")
        done = []
        for f in files:
            found = self._files.get(f.get("id", ""))
            if found is None or "content" not in found:
                return {"ok": False, "error": "file_not_found"}
            found.update(
                completed=True,
                title=f.get("title"),
                channel_id=p.get("channel_id"),
                initial_comment=p.get("initial_comment"),
            )
            done.append({"id": found["id"], "name": found["filename"], "title": f.get("title")})
        return {"ok": True, "files": done}

    def _upload(self, file_id: str, data: bytes) -> int:
        """Step 2 of files_upload_v2: the bytes POSTed to the URL getUploadURLExternal gave."""
        with self._cond:
            found = self._files.get(file_id)
            status = 200 if found is not None else 404
            if found is not None:
                found["content"] = data.decode("utf-8", "replace")
                found["bytes"] = data  # a picture's, as sent
            params = {"file_id": file_id, "bytes": len(data)}
            self.calls.append(Call("files.upload", params, "", time.monotonic(), status))
            self._write_call_line(self.calls[-1])
            self._cond.notify_all()
            return status

    def _read_history(self, p: dict) -> list[dict]:
        limit = int(p.get("limit") or 100)
        inclusive = _truthy(p.get("inclusive", False))
        oldest = float(p["oldest"]) if p.get("oldest") not in (None, "") else None
        latest = float(p["latest"]) if p.get("latest") not in (None, "") else None
        with_metadata = _truthy(p.get("include_all_metadata", False))
        found = []
        for message in reversed(self._channels.get(p.get("channel", ""), [])):
            ts = float(message["ts"])
            if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
                continue
            if latest is not None and (ts > latest or (ts == latest and not inclusive)):
                continue
            shown = dict(message)
            if not with_metadata:
                shown.pop("metadata", None)
            found.append(shown)
        return found[:limit]

    def _write_call_line(self, call: Call) -> None:
        if self._calls_file is None:
            return
        line = {"method": call.method, "params": call.params, "status": call.status}
        line["at"] = time.time()
        with self._calls_file.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, default=str) + "\n")


# The Web API methods the stub does the work of; any other answers a bare ok.
_METHODS: dict[str, Callable[[WebAPIStub, dict], dict]] = {
    "auth.test": WebAPIStub._auth_test,
    "chat.postMessage": WebAPIStub._chat_post_message,
    "chat.postEphemeral": WebAPIStub._chat_post_ephemeral,
    "chat.update": WebAPIStub._chat_update,
    "chat.delete": WebAPIStub._chat_delete,
    "conversations.history": WebAPIStub._conversations_history,
    "conversations.open": WebAPIStub._conversations_open,
    "conversations.info": WebAPIStub._conversations_info,
    "users.info": WebAPIStub._users_info,
    "views.open": WebAPIStub._views,
    "views.publish": WebAPIStub._views,
    "views.update": WebAPIStub._views,
    "apps.connections.open": WebAPIStub._apps_connections_open,
    "canvases.create": WebAPIStub._canvases_create,
    "canvases.edit": WebAPIStub._canvases_edit,
    "files.delete": WebAPIStub._files_delete,
    "files.getUploadURLExternal": WebAPIStub._files_get_upload_url_external,
    "files.completeUploadExternal": WebAPIStub._files_complete_upload_external,
}


class _Handler(BaseHTTPRequestHandler):
    """Parses one request into (method, params, token) and writes the stub's JSON answer."""

    stub: WebAPIStub
    protocol_version = "HTTP/1.1"  # keep-alive, as Slack's own servers

    def setup(self) -> None:
        super().setup()
        with self.stub._cond:
            self.stub.connections += 1

    # A connection waits for its next call from the moment its answer is written until a request
    # line comes: `close_idle` closes it meanwhile, and `stop` has it closed after its answer.
    disable_nagle_algorithm = True  # the headers and the body go out in two writes

    def handle_one_request(self) -> None:
        if not self.stub._idle(self.connection, True):
            self.close_connection = True
            return
        super().handle_one_request()
        self.stub._idle(self.connection, not self.close_connection)  # answered, or not at all

    def parse_request(self) -> bool:
        self.stub._idle(self.connection, False, busy=True)
        return super().parse_request()

    def finish(self) -> None:
        self.stub._idle(self.connection, False)
        super().finish()

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests should not see a line per request."""

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        if parts.path.startswith("/upload/v1/"):
            length = int(self.headers.get("Content-Length") or 0)
            status = self.stub._upload(parts.path.rsplit("/", 1)[1], self.rfile.read(length))
            self._send(status, {"ok": status == 200}, {})
            return
        method = parts.path.removeprefix("/api/") if parts.path.startswith("/api/") else parts.path
        method = method.lstrip("/")
        if not method or "/" in method:
            # Its body, if any, is left unread: the connection cannot carry another request.
            self._send(404, {"ok": False, "error": "unknown_method"}, {"Connection": "close"})
            return
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        params.update(self._read_body())
        _decode_json_fields(params)
        token = params.pop("token", "")
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth.removeprefix("Bearer ").strip()
        status, body, headers = self.stub._answer(method, params, str(token))
        if status == 0:  # `drop`: read and done, never answered
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(status, body, headers)

    def _read_body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        kind = self.headers.get_content_type()
        charset = self.headers.get_content_charset() or "utf-8"
        text = raw.decode(charset)
        if kind == "application/json":
            data = json.loads(text)
            return data if isinstance(data, dict) else {}
        if kind == "application/x-www-form-urlencoded":
            return dict(parse_qsl(text, keep_blank_values=True))
        return {}  # multipart (file uploads) and others: not simulated

    def _send(self, status: int, body: dict, headers: dict[str, str]) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        if self.stub._stopping.is_set():  # this answer is the last
            self.send_header("Connection", "close")
        try:
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client is gone (killed while a `delay` held its answer): nothing to tell


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGINT/SIGTERM; print the URL first, then append calls to --calls-file."""
    parser = argparse.ArgumentParser(prog="python -m tests.slack_stub", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--calls-file", type=Path, help="append one JSON line per call here")
    parser.add_argument("--token", default="xoxb-test-token", help="the bot token to accept")
    args = parser.parse_args(argv)
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    # Blocked before any thread starts, so every thread inherits the mask and sigwait gets them.
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    stub = WebAPIStub(args.token, calls_file=args.calls_file).start(args.port)
    print(stub.url, flush=True)
    signal.sigwait(stop_signals)
    stub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
