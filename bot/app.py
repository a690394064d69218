"""The Bolt app: `/apec`, @-mentions, the Home tab and the buttons, each a few lines.

Built with no network at construction (`token_verification_enabled=False`) and a WebClient whose
base URL comes from SLACK_API_URL. Store look-ups are answered before the HTTP response
(`process_before_response=True`); Web API calls (a form to open, a long answer's later parts, a
mention's reply) run after the ack, so Slack gets it within its 3 seconds.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler

from bot.config import Config
from bot.health import AdminAlerts
from bot.observe import OUTCOME, REFUSED
from bot.permissions import Names, Permissions, lookup_client
from bot.posting import SlackPoster
from bot.stores import Stores
from bot.users import Membership, UserZones
from bot.workspace import Workspace
from handlers.answer import MORE_ACTION, READING_ACTION, mention
from handlers.edits import FORM, submit_form
from handlers.home import home_view
from handlers.info import NEXT_ACTION, PREVIOUS_ACTION
from handlers.proposals import (
    APPROVE,
    EDIT,
    IGNORE,
    card_after_edit,
    edit_form,
    pressed,
    proposal_of,
    submit_edit,
)
from handlers.reminder_actions import (
    ASKER_ZONE,
    DONE_ACTION,
    LIST_ACTION,
    READS_WHO,
    SNOOZE_ACTION,
    list_mine,
    press,
)
from handlers.render import SHARE_ACTION, Card, Document, esc, from_slack
from handlers.router import Ask, lookup, route, split, store_down
from handlers.timeline import Picture, PictureCard
from store.desk import Desk
from store.errors import StoreError

log = logging.getLogger("apec.app")
NO_FORM = (
    "I could not open the form; type the change instead, e.g. "
    '`/apec add-meeting "SOM3" 2026-08-10..2026-08-21 Dalian`.'
)
ELSEWHERE = "This app answers only in the workspace it is installed in."


class _NoTokenNotice(logging.Filter):
    """Bolt warns that a token in the environment goes unused when given a client: by design here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.App").addFilter(_NoTokenNotice())


def web_client(config: Config, token: str | None = None) -> WebClient:
    """A Web API client that waits out 429s as Slack's Retry-After asks, and nothing else: the
    default handler would send a request again after a dropped connection, and a message or a
    canvas whose first sending may have arrived is not sent again without looking."""
    retry: list[RetryHandler] = [RateLimitErrorRetryHandler(max_retry_count=3)]
    return WebClient(token=token, base_url=config.api_url, timeout=10, retry_handlers=retry)


def authorizer(
    config: Config, client: WebClient, workspace: Workspace | None = None
) -> Callable[..., AuthorizeResult]:
    """Bolt's authorize: the bot token, and the bot's identity from one `auth.test` on first need.

    Bolt's own single-team path calls `auth.test` on the first request and fails every request
    while Slack is unreachable; here a failure answers without the bot's identity, and is not
    retried for a minute. The identity tells the workspace which team is ours.
    """
    found: dict[str, AuthorizeResult] = {}
    failed_at = [float("-inf")]
    lock = threading.Lock()

    def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        with lock:
            if "result" in found:
                return found["result"]
            if time.monotonic() - failed_at[0] > 60:
                try:
                    response = client.auth_test(token=config.bot_token)
                    found["result"] = AuthorizeResult.from_auth_test_response(
                        auth_test_response=response, bot_token=config.bot_token
                    )
                    if workspace is not None:
                        workspace.learn(response.get("team_id"), response.get("enterprise_id"))
                    return found["result"]
                except (SlackApiError, OSError) as exc:
                    failed_at[0] = time.monotonic()
                    log.warning(
                        "auth.test failed (%s); answering without the bot's identity",
                        type(exc).__name__,
                    )
        return AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, bot_token=config.bot_token
        )

    return authorize


class Alarm:
    """Tells the admins, by direct message, that the store failed under a request: once an hour
    at most, and not while a fault episode of the store is on (bot/health.py has told them)."""

    def __init__(
        self,
        admins: frozenset[str],
        client: WebClient,
        later: ThreadPoolExecutor,
        clock: Callable[[], float] = time.monotonic,
        told: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.admins, self.client, self.later, self.clock = admins, client, later, clock
        self.told = told
        self._last = float("-inf")
        self._lock = threading.Lock()

    def __call__(self, detail: str) -> None:
        if self.told() is not None:
            return
        with self._lock:
            if self.clock() - self._last < 3600:
                return
            self._last = self.clock()
        _after(self.later, self._tell, detail)

    def _tell(self, detail: str) -> None:
        card = Card().section(
            ":rotating_light: The desk's store failed under a request; users are told it is "
            f"unavailable. Check the disk and `/healthz`.\n{esc(detail[:300])}"
        )
        for admin in sorted(self.admins):
            try:
                channel = self.client.conversations_open(users=[admin])["channel"]["id"]
                self.client.chat_postMessage(channel=channel, **_message(card.payload()))
            except (SlackApiError, OSError) as exc:
                log.error("could not tell admin %s the store failed: %s", admin, type(exc).__name__)


def _message(page: dict[str, Any]) -> dict[str, Any]:
    return {"text": page["text"], "blocks": page["blocks"]}


def after_ack_pool() -> ThreadPoolExecutor:
    """The pool that does what comes after an ack: late answers, forms, mention replies."""
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="later")


def create_app(
    config: Config,
    stores: Stores,
    clock: Callable[[], datetime],
    on_change: Callable[[], None] = lambda: None,
    *,
    replies: Replies | None = None,
    workspace: Workspace | None = None,
    later: ThreadPoolExecutor | None = None,
) -> App:
    """The Bolt app with every listener registered; makes no network call. `replies` and
    `workspace` are given when the HTTP front shares them (`kept_reply`); `later`, the pool for
    work after an ack, when the caller waits for it on the way out (`serve`)."""
    client = web_client(config)
    workspace = workspace or Workspace()
    app = App(
        client=client,
        authorize=authorizer(config, client, workspace),
        signing_secret=config.signing_secret or None,
        token_verification_enabled=False,
        process_before_response=True,
        request_verification_enabled=True,
        ignoring_self_events_enabled=True,
        url_verification_enabled=True,
        ssl_check_enabled=True,
    )
    later = later or after_ack_pool()
    lookups = lookup_client(config.api_url, config.bot_token or None)
    permissions = Permissions(config.admins, lookups, workspace)
    zones, membership = UserZones(lookups), Membership(lookups)
    names = Names(lookups)
    admin_client = web_client(config, config.bot_token or None)
    alarm = Alarm(config.admins, admin_client, later, told=stores.faults.failing)
    # A fault of the store's files or disk is told once an episode, and its end too (bot/health.py).
    stores.faults.tell = AdminAlerts(config.admins, SlackPoster(admin_client))

    def changed() -> None:
        stores.changed()  # every thread of this process re-reads the store before it answers
        on_change()

    def ask_from(text: str, user: str, channel: str, zoned: bool | None = None) -> Ask:
        """The question; with the asker's own zone when it reads or shows their times (by
        default, when its command does: `ASKER_ZONE`)."""
        zone = zones.zone(user) if (wants_zone(text) if zoned is None else zoned) else None
        return config.ask(
            stores.get(quick=True),
            clock(),
            text,
            via="slack",
            user=user,
            channel=channel,
            on_change=changed,
            can_edit=lambda: permissions.may_edit(user),
            on_store_error=alarm,
            user_tz=zone,
            member_of=membership.member_of,
        )

    def answer(text: str, user: str, channel: str) -> Card:
        """route(), or the plain reply when the store does not even open for the question."""
        try:
            ask = ask_from(text, user, channel)
        except (StoreError, sqlite3.Error) as exc:
            log.error("the store did not open answering %r: %s", text[:40], exc)
            alarm(f"{type(exc).__name__}: {exc}")
            return store_down()
        return route(ask)

    _register_middleware(app, stores, clock, workspace)

    def briefs() -> Briefs:
        return Briefs(Desk(stores.get().db), clock())

    _register_command(
        app, answer, later, replies or Replies(stores, clock), stores.changed, names, briefs
    )
    _register_events(app, ask_from, later, names)
    _register_buttons(app, ask_from, later, names)
    return app


# -- what goes into a channel ------------------------------------------------------------------

_PERSON = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")


def public(page: dict[str, Any], names: Names) -> dict[str, Any]:
    """A page as it may go into a channel: each person it names by their name, not a mention, so
    that nobody is pinged by a post someone else caused (a history, a reminder's confirmation)."""

    def named(match: re.Match[str]) -> str:
        found = names.name(match[1])
        return "@" + esc(found) if found else "someone"

    def fix(value: Any) -> Any:
        if isinstance(value, str):
            return _PERSON.sub(named, value)
        if isinstance(value, list):
            return [fix(v) for v in value]
        if isinstance(value, dict):
            return {
                k: (v if k in ("action_id", "value", "type") else fix(v)) for k, v in value.items()
            }
        return value

    return fix(page)


def _send(
    respond: Callable[..., Any], page: dict[str, Any], names: Names, replace: bool = False
) -> None:
    """One page by a command's response_url: as `public` makes it when it is for the channel."""
    shown = public(page, names) if page.get("response_type") == "in_channel" else page
    respond(**shown, replace_original=replace)


def wants_zone(text: str) -> bool:
    """Whether the command in `text` reads or shows times for the one asking."""
    found = lookup(split(text)[0])
    return found is not None and found.name in ASKER_ZONE


_LEADING_MENTION = re.compile(r"\A\s*<@[A-Z0-9]+(?:\|[^<>]*)?>")


def command_text(raw: str) -> str:
    """A command's text as Slack sent it, decoded once; people and channels kept as Slack named
    them for a command that reads whom it is for (`READS_WHO`)."""
    text = from_slack(raw)
    found = lookup(split(text)[0])
    return from_slack(raw, ids=True) if found is not None and found.name in READS_WHO else text


def mention_text(raw: str, bot: str) -> str:
    """A mention's text without the bot's own mention, decoded once; people dropped (they are
    not what is asked about), except for a command that reads whom it is for (`READS_WHO`)."""
    text = from_slack(raw, people=False)
    found = lookup(split(text)[0])
    if found is None or found.name not in READS_WHO:
        return text
    own = re.compile(rf"<@{re.escape(bot)}(?:\|[^<>]*)?>") if bot else _LEADING_MENTION
    return " ".join(own.sub(" ", from_slack(raw, ids=True)).split())


def _register_middleware(
    app: App, stores: Stores, clock: Callable[[], datetime], workspace: Workspace
) -> None:
    @app.middleware
    def gate(body: dict, next: Callable[[], BoltResponse]) -> BoltResponse | None:
        """What never reaches a listener: a request from another team or enterprise (refused, and
        logged), and an event Slack sends again because it thinks it was lost (answered once)."""
        why = workspace.foreign(body)
        if why:
            log.warning("refused a request from %s: this app serves one workspace", why)
            is_command = isinstance(body, dict) and "command" in body
            return BoltResponse(status=200, body=ELSEWHERE if is_command else "")
        event_id = body.get("event_id") if isinstance(body, dict) else None
        if event_id and not stores.claim_event(event_id, clock()):
            log.info("event %s already handled: acknowledged, not answered again", event_id)
            return BoltResponse(status=200, body="")
        return next()


class Replies:
    """Replies kept per (words, store epoch, minute) for the commands whose reply depends on
    nothing else (`Command.kept`): the next to ask the same in that minute gets them at once,
    and the HTTP front can answer it without Bolt at all (`json`)."""

    SIZE = 512

    def __init__(self, stores: Stores, clock: Callable[[], datetime]) -> None:
        self.stores, self.clock = stores, clock
        self._kept: OrderedDict[tuple[str, int, datetime], tuple[list[dict[str, Any]], bytes]]
        self._kept = OrderedDict()
        self._lock = threading.Lock()

    def _key(self, text: str) -> tuple[str, int, datetime]:
        minute = self.clock().replace(second=0, microsecond=0)
        return " ".join(text.split()), self.stores.epoch(), minute

    def pages(self, text: str, answer: Callable[[], Card]) -> list[dict[str, Any]]:
        """The reply's pages, kept or made (and kept, unless it is about a passing trouble)."""
        key = self._key(text)
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found[0]
        card = answer()
        pages = card.pages()
        if not card.transient:
            # What Bolt would send for ack(pages[0]), made once: the front may send it itself.
            first = json.dumps(pages[0]).encode() if len(pages) == 1 else b""
            with self._lock:
                self._kept[key] = (pages, first)
                if len(self._kept) > self.SIZE:
                    self._kept.popitem(last=False)
        return pages

    def json(self, text: str) -> bytes | None:
        """The whole HTTP answer to `/apec text` when it is kept and fits one message; else None
        (it goes through Bolt, which makes and keeps it)."""
        key = self._key(text)
        with self._lock:
            found = self._kept.get(key)
        return found[1] if found is not None and found[1] else None


def kept_reply(replies: Replies, workspace: Workspace, body: dict[str, Any]) -> bytes | None:
    """The front's short way for a `/apec` command whose reply is kept: the JSON Bolt's ack would
    send, checked for the workspace as Bolt's middleware checks it. None sends it through Bolt."""
    if body.get("command") != "/apec" or workspace.foreign(body):
        return None
    return replies.json(from_slack(str(body.get("text", ""))))


ACK_WAIT = 0.3  # seconds a change may take before it is acknowledged first, answered after
WORKING = "Working on it: the answer follows here in a moment."


def _register_command(
    app: App,
    answer: Callable[[str, str, str], Card],
    later: ThreadPoolExecutor,
    replies: Replies,
    wrote: Callable[[], None],
    names: Names,
    briefs: Callable[[], Briefs] | None = None,
) -> None:
    @app.command("/apec")
    def apec(ack, command, client, respond, context):
        """The answer in the ack; a form, or a long answer's later parts, right after it. A change
        that waits on the store's write lock is acknowledged first and answered after."""
        text = command_text(command.get("text", ""))  # Slack's escapes decoded once, here
        user, channel = command.get("user_id", ""), command.get("channel_id", "")
        found = lookup(split(text)[0])
        if found is not None and found.kept:
            first, *rest = replies.pages(text, lambda: answer(text, user, channel))
            ack(dict(first))  # the kept page itself stays as it is
            if rest:
                _after(later, _respond_all, respond, rest, names)
            return
        if found is not None and found.writes:
            # Its own thread, its own connection: the listener's may not cross threads. Whatever
            # it changed, every thread re-reads (a handler need not say so itself).
            work = later.submit(_then, lambda: answer(text, user, channel), wrote)
            try:
                card = work.result(timeout=ACK_WAIT)
            except FutureTimeout:
                ack(text=WORKING)
                trigger = command.get("trigger_id", "")
                work.add_done_callback(
                    lambda done: _after(later, _answer_late, done, client, respond, trigger)
                )
                return
        else:
            card = answer(text, user, channel)
        if card.refused:  # counted as a refusal, not "ok" (the HTTP front reads it after dispatch)
            context[OUTCOME] = REFUSED
        if card.modal is not None:
            ack()
            _after(later, _open_form, client, respond, command.get("trigger_id", ""), card.modal)
            return
        first, *rest = card.pages()
        ack(**(public(first, names) if first["response_type"] == "in_channel" else first))
        if rest:
            _after(later, _respond_all, respond, rest, names)
        if card.document is not None:
            found = context.authorize_result
            where = (
                f"{found.url}docs/{found.team_id}/" if found and found.url and found.team_id else ""
            )
            _after(later, _post_document, client, respond, channel, card.document, briefs, where)
        if isinstance(card, PictureCard) and card.picture is not None:
            _after(later, _post_picture, client, respond, channel, card.picture)


# canvases.create errors that mean the workspace or the app may not make canvases: a file instead.
CANVAS_REFUSED = frozenset(
    {
        "not_allowed",
        "feature_not_enabled",
        "not_allowed_token_type",
        "restricted_action",
        "missing_scope",
        "canvas_disabled_user_team",
        "team_tier_cannot_create_canvases",
        "free_teams_cannot_create_non_tabbed_canvases",
    }
)


class Briefs:
    """Which canvas or file holds a brief in a channel (the store's `brief_documents`), as of now."""

    def __init__(self, desk: Desk, now: datetime) -> None:
        self.desk, self.now = desk, now

    def kept(self, channel: str, doc: Document) -> tuple[str, str] | None:
        return self.desk.brief_document(channel, doc.meeting, doc.economy) if doc.meeting else None

    def keep(self, channel: str, doc: Document, kind: str, slack_id: str) -> None:
        if doc.meeting and slack_id:
            self.desk.keep_brief_document(
                channel, doc.meeting, doc.economy, kind, slack_id, self.now
            )

    def forget(self, channel: str, doc: Document, slack_id: str) -> None:
        if doc.meeting:
            self.desk.forget_brief_document(channel, doc.meeting, doc.economy, slack_id)


# canvases.edit errors that mean the canvas kept for a brief is gone: a new one is made.
CANVAS_GONE = frozenset({"canvas_not_found", "canvas_deleted", "file_not_found", "file_deleted"})


def _post_document(
    client: WebClient,
    respond: Callable[..., Any],
    channel: str,
    doc: Document,
    briefs: Callable[[], Briefs] | None = None,
    where: str = "",
) -> None:
    """A reply's whole note, after the ack: one canvas in the channel per meeting (and economy),
    updated in place when asked again, where the workspace allows it; else a Markdown file there,
    which replaces the one before. Then the asker is told where it is (`where`: the workspace's
    address for canvas links, from auth.test). A canvas whose making got no answer is not
    followed by another (nor by a file): the asker is told to look first."""
    kept_by = briefs() if briefs is not None else None
    kept = kept_by.kept(channel, doc) if kept_by is not None else None
    content = {"type": "markdown", "markdown": doc.markdown}
    if kept is not None and kept[0] == "canvas":
        try:
            client.canvases_edit(
                canvas_id=kept[1], changes=[{"operation": "replace", "document_content": content}]
            )
            _told(
                respond,
                "The whole note is updated in its canvas in this channel",
                doc,
                where,
                kept[1],
            )
            return
        except OSError as exc:  # the canvas stays the same one: asking again updates it
            log.warning(
                "canvases.edit gave no answer (%s): the update's outcome is unknown",
                type(exc).__name__,
            )
            respond(**Card().section(BRIEF_EDIT_UNKNOWN).payload(), replace_original=False)
            return
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error not in CANVAS_GONE:
                log.warning(
                    "canvases.edit failed (%s): the brief's canvas is left as it was", error
                )
                respond(**Card().section(BRIEF_EDIT_FAILED).payload(), replace_original=False)
                return
            log.info("the brief's canvas is gone (%s): a new one is made", error)
            assert kept_by is not None
            kept_by.forget(channel, doc, kept[1])
            kept = None
    try:
        made = client.canvases_create(
            title=doc.title[:250], channel_id=channel, document_content=content
        )
    except OSError as exc:  # no answer: the canvas may exist, so no file is made beside it
        log.warning(
            "canvases.create gave no answer (%s): the note's outcome is unknown", type(exc).__name__
        )
        respond(**Card().section(BRIEF_UNKNOWN).payload(), replace_original=False)
        return
    except SlackApiError as exc:  # refused: nothing was made, so the file is the note
        error = exc.response.get("error")
        level = logging.INFO if error in CANVAS_REFUSED else logging.WARNING
        log.log(level, "canvases.create failed (%s): the note goes as a file", error)
        _post_file(client, respond, channel, doc, kept_by, kept)
        return
    canvas = str(made.get("canvas_id") or "")
    if kept_by is not None:
        kept_by.keep(channel, doc, "canvas", canvas)
    if kept is not None and kept[0] == "file":  # the file the canvas now stands for
        _delete_file(client, kept[1])
    _told(respond, "The whole note is a canvas in this channel", doc, where, canvas)


def _post_file(
    client: WebClient,
    respond: Callable[..., Any],
    channel: str,
    doc: Document,
    kept_by: Briefs | None,
    kept: tuple[str, str] | None,
) -> None:
    """The note as a Markdown file in the channel; the file it replaces deleted once it is up."""
    try:
        up = client.files_upload_v2(
            channel=channel, content=doc.markdown, title=doc.title, filename=doc.filename
        )
    except (SlackApiError, SlackRequestError, OSError) as failed:
        log.warning("the note could not be posted as a file: %s", type(failed).__name__)
        respond(**Card().section(BRIEF_FAILED).payload(), replace_original=False)
        return
    found = up.get("file")
    shared = found if isinstance(found, dict) else {}
    file_id = str(shared.get("id") or "")
    if kept_by is not None:
        kept_by.keep(channel, doc, "file", file_id)
    if kept is not None and kept[0] == "file" and kept[1] != file_id:
        _delete_file(client, kept[1])
    link = str(shared.get("permalink") or "")
    said = f"The whole note is a Markdown file in this channel: _{esc(doc.title)}_"
    said = f"{said} (<{link}|open it>)." if link.startswith("https://") else f"{said}."
    respond(**Card().section(said).payload(), replace_original=False)


def _delete_file(client: WebClient, file_id: str) -> None:
    """The brief's previous file, deleted once its replacement is up (gone already: no matter)."""
    try:
        client.files_delete(file=file_id)
    except (SlackApiError, OSError) as exc:
        error = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
        if error not in ("file_not_found", "file_deleted"):
            log.warning("the brief's previous file %s was not deleted: %s", file_id, error)


def _told(respond: Callable[..., Any], said: str, doc: Document, where: str, canvas: str) -> None:
    """The asker told where the note is, with a link to its canvas where the address is known."""
    link = f" (<{where}{canvas}|open it>)" if where.startswith("https://") and canvas else ""
    respond(
        **Card().section(f"{said}: _{esc(doc.title)}_{link}.").payload(), replace_original=False
    )


BRIEF_UNKNOWN = (
    "Slack did not answer when I made the brief's canvas, so it may or may not be in this "
    "channel. Look at the channel's canvases before asking again."
)
BRIEF_EDIT_UNKNOWN = (
    "Slack did not answer when I updated the brief's canvas, so it may still show the note as it "
    "was. Asking again updates the same canvas."
)
BRIEF_EDIT_FAILED = (
    "Slack refused the update of the brief's canvas in this channel; it shows the note as it was. "
    "`apec-bot brief MEETING` prints it on the desk's machine."
)
BRIEF_FAILED = (
    "I could not post the whole brief in this channel (Slack refused the canvas and the file). "
    "`apec-bot brief MEETING` prints it on the desk's machine."
)


def _post_picture(
    client: WebClient, respond: Callable[..., Any], channel: str, picture: Picture
) -> None:
    """A reply's picture, drawn and uploaded to the channel after the ack, with its one-line
    summary; if it cannot be drawn or Slack refuses the file, the asker gets the list instead."""
    try:
        png = picture.render()
        client.files_upload_v2(
            channel=channel,
            file=png,
            filename=picture.filename,
            title=picture.title,
            initial_comment=picture.comment,
        )
        return
    except (SlackApiError, SlackRequestError, OSError) as exc:
        log.warning("the picture could not be posted as a file: %s", type(exc).__name__)
    except Exception:  # a drawing that failed: the list still answers
        log.exception("the picture could not be drawn")
    for page in picture.fallback.pages():
        respond(**page, replace_original=False)


def _then(work: Callable[[], Card], after: Callable[[], None]) -> Card:
    try:
        return work()
    finally:
        after()


def _open_form(client: WebClient, respond: Callable[..., Any], trigger: str, view: dict) -> None:
    try:
        client.views_open(trigger_id=trigger, view=view)
    except SlackApiError as exc:
        log.warning("views.open failed: %s", exc.response.get("error"))
        respond(**Card().section(NO_FORM).payload(), replace_original=False)


def _answer_late(
    done: Future[Card], client: WebClient, respond: Callable[..., Any], trigger: str
) -> None:
    """The answer to a command acknowledged with "Working on it": its form, or its pages; if it
    failed, a plain line rather than silence."""
    try:
        card = done.result()
    except Exception:
        log.exception("a command acknowledged with 'Working on it' failed")
        respond(**Card().section(LATE_FAILED).payload(), replace_original=False)
        return
    if card.modal is not None:
        _open_form(client, respond, trigger, card.modal)
    else:
        _respond_all(respond, card.pages())


LATE_FAILED = (
    "Something went wrong on my side with that. `/apec history` shows whether it changed anything."
)


def _respond_all(
    respond: Callable[..., Any], pages: list[dict[str, Any]], names: Names | None = None
) -> None:
    for page in pages:
        if names is not None:
            _send(respond, page, names)
        else:
            respond(**page, replace_original=False)


def _register_events(
    app: App, ask_from: Callable[..., Ask], later: ThreadPoolExecutor, names: Names
) -> None:
    # Acknowledged at once, answered after on our pool: Bolt's lazy listeners would deep-copy the
    # whole request for each event, which costs more than the answer.
    @app.event("app_mention")
    def mentioned(ack, event, client, context):
        ack()
        fields = {
            k: str(event.get(k) or "") for k in ("text", "user", "channel", "ts", "thread_ts")
        }
        fields["bot"] = str(context.bot_user_id or "")
        _after(later, _answer_mention, ask_from, client, fields, names)

    @app.event("app_home_opened")
    def home_opened(ack, event, client):
        ack()
        if event.get("tab", "home") == "home" and event.get("user"):
            _after(later, _publish_home, ask_from, client, str(event["user"]))

    @app.event("message")
    def ignore_messages():
        """Channel messages that are not mentions: nothing to say."""


def _answer_mention(
    ask_from: Callable[..., Ask], client: WebClient, event: dict[str, str], names: Names
) -> None:
    """The answer in the mention's thread, naming people without pinging them; a private one
    (a secret address, a refusal) to the asker alone, in that thread."""
    card = mention(
        ask_from(mention_text(event["text"], event["bot"]), event["user"], event["channel"])
    )
    thread = event["thread_ts"] or event["ts"]
    for page in card.pages():  # a long answer goes on in the thread, part by part
        if card.private:
            client.chat_postEphemeral(
                channel=event["channel"], user=event["user"], thread_ts=thread, **_message(page)
            )
        else:
            client.chat_postMessage(
                channel=event["channel"], thread_ts=thread, **_message(public(page, names))
            )


def _publish_home(ask_from: Callable[..., Ask], client: WebClient, user: str) -> None:
    client.views_publish(user_id=user, view=home_view(ask_from("", user, "", zoned=True)))


def _after(later: ThreadPoolExecutor, work: Callable[..., Any], *args: Any) -> None:
    """Run `work` after the ack, on the pool; a failure is logged (a future would keep it quiet)."""

    def run() -> None:
        try:
            work(*args)
        except Exception:
            log.exception("%s failed after the ack", getattr(work, "__name__", "work"))

    later.submit(run)


def _register_buttons(
    app: App, ask_from: Callable[..., Ask], later: ThreadPoolExecutor, names: Names
) -> None:
    """Each button and form is acknowledged first; its Web API calls run after, on `later`
    (Bolt sends the ack only when the listener returns: a slow Slack must not hold it)."""

    @app.view(FORM)
    def meeting_form_submitted(ack, body, view, client):
        user = body.get("user", {}).get("id", "")
        meta = view.get("private_metadata", "")
        try:
            channel = json.loads(meta or "{}").get("channel", "")
        except ValueError:
            channel = ""
        ask = ask_from("", user, channel)
        submit = submit_edit if proposal_of(meta) is not None else submit_form  # a proposal's Edit
        errors, reply = submit(ask, view.get("state", {}).get("values", {}), meta)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()

        def tell() -> None:
            if proposal_of(meta) is not None:
                _update_card(client, card_after_edit(ask_from("", user, channel).store, meta))
            if reply and channel:
                try:
                    client.chat_postEphemeral(
                        channel=channel, user=user, **_message(reply.payload())
                    )
                except SlackApiError as exc:
                    log.warning(
                        "could not confirm the form to %s: %s", user, exc.response.get("error")
                    )

        _after(later, tell)

    @app.action(APPROVE)
    @app.action(IGNORE)
    def decide_proposal(ack, body, respond):
        """A proposal approved or ignored: the card says so in place; a refusal goes to the presser."""
        ack()

        def work() -> None:
            action = body["actions"][0]
            user = body.get("user", {}).get("id", "")
            channel = (body.get("channel") or {}).get("id", "")
            card, note = pressed(
                ask_from("", user, channel),
                action.get("action_id", ""),
                str(action.get("value", "")),
            )
            if card is not None:  # an admin's decision, the card edited in place
                respond(**card.payload(), replace_original=True)
            if note is not None:
                respond(**note.payload(), replace_original=False)

        _after(later, work)

    @app.action(EDIT)
    def edit_proposal(ack, body, client, respond):
        """The meeting form, filled in with what the proposal proposes."""
        ack()

        def work() -> None:
            user = body.get("user", {}).get("id", "")
            channel = (body.get("channel") or {}).get("id", "")
            ts = str((body.get("message") or {}).get("ts", ""))
            value = str(body["actions"][0].get("value", ""))
            form, note = edit_form(ask_from("", user, channel), value, (channel, ts))
            if form is not None:
                _open_form(client, respond, body.get("trigger_id", ""), form)
            if note is not None:
                respond(**note.payload(), replace_original=False)

        _after(later, work)

    @app.action(DONE_ACTION)
    @app.action(SNOOZE_ACTION)
    def reminder_pressed(ack, body, respond):
        """Mark as done, or snooze: the post says so in place of its buttons; a refusal, or a
        second press, is told to the presser alone."""
        ack()

        def work() -> None:
            action = body["actions"][0]
            user = body.get("user", {}).get("id", "")
            channel = (body.get("channel") or {}).get("id", "")
            ask = ask_from("", user, channel, zoned=True)
            done = press(ask, str(action.get("action_id", "")), str(action.get("value", "")))
            if done.mark is not None:
                respond(**_marked(body.get("message") or {}, done.mark), replace_original=True)
            if done.note is not None:
                respond(**done.note.payload(), replace_original=False)

        _after(later, work)

    @app.action(LIST_ACTION)
    def list_reminders(ack, body, respond):
        """The presser's own reminders, shown to them alone."""
        ack()

        def work() -> None:
            user = body.get("user", {}).get("id", "")
            channel = (body.get("channel") or {}).get("id", "")
            _respond_all(respond, list_mine(ask_from("", user, channel, zoned=True)).pages(), names)

        _after(later, work)

    @app.action(SHARE_ACTION)
    def share(ack, body, respond):
        """The same answer again, posted for the channel to see."""
        ack()

        def work() -> None:
            card = _pressed(ask_from, body)
            card.buttons = []
            _respond_all(respond, card.in_channel().pages(), names)  # a private card stays private

        _after(later, work)

    @app.action(MORE_ACTION)
    def more(ack, body, respond):
        """The whole card behind a short answer, shown to the one who asked for it."""
        ack()

        def work() -> None:
            _respond_all(respond, _pressed(ask_from, body).pages(), names)

        _after(later, work)

    @app.action(PREVIOUS_ACTION)
    @app.action(NEXT_ACTION)
    @app.action(re.compile(rf"^{READING_ACTION}-\d$"))
    def turn_page(ack, body, respond):
        """Another page of a listing, or the answer to a reading of a question asked back, in
        place of the one shown."""
        ack()

        def work() -> None:
            card = _pressed(ask_from, body)
            first, *rest = card.pages()
            if card.private:  # not in place of a post the channel may see: to the presser alone
                _send(respond, first, names)
            elif (body.get("container") or {}).get("is_ephemeral"):
                respond(**first, replace_original=True)
            else:  # in place of a post the channel sees: as the channel may see it
                respond(**public(first, names), replace_original=True)
            _respond_all(respond, rest, names)

        _after(later, work)


def _update_card(client: WebClient, found: tuple[str, str, Card] | None) -> None:
    """A proposals card updated in place after its proposal was edited and saved."""
    if found is None:
        return
    channel, ts, card = found
    try:
        client.chat_update(channel=channel, ts=ts, **_message(card.payload()))
    except SlackApiError as exc:
        log.warning("could not update the proposals card: %s", exc.response.get("error"))


def _marked(message: dict[str, Any], mark: str) -> dict[str, Any]:
    """A post as Slack holds it, its row of buttons replaced by a line saying what was done."""
    kept = [b for b in message.get("blocks") or [] if b.get("type") != "actions"]
    return {
        "text": str(message.get("text") or ""),
        "blocks": Card(blocks=kept).context(mark).blocks,
    }


def _pressed(ask_from: Callable[..., Ask], body: dict[str, Any]) -> Card:
    """What a button's command answers (its value is our own text: nothing to decode)."""
    action = body["actions"][0]
    user = body.get("user", {}).get("id", "")
    channel = (body.get("channel") or {}).get("id", "")
    return route(ask_from(action.get("value", ""), user, channel))
