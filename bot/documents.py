"""What a reply puts into the channel after the ack besides messages: a brief's whole note (one
canvas per meeting and economy, updated in place; a Markdown file where canvases are not allowed)
and a picture (the timeline's), each uploaded with the Web API."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.listeners.common import Responder, say
from handlers.render import Document, esc
from handlers.timeline import Picture
from store.desk import Desk

log = logging.getLogger("apec.app")

Kept = tuple[str, str]  # ("canvas" or "file", its Slack ID): where a brief is kept in a channel

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
# canvases.edit errors that mean the canvas kept for a brief is gone: a new one is made.
CANVAS_GONE = frozenset({"canvas_not_found", "canvas_deleted", "file_not_found", "file_deleted"})

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


class Briefs:
    """Which canvas or file holds a brief in a channel (the store's `brief_documents`), now."""

    def __init__(self, desk: Desk, now: datetime) -> None:
        self.desk, self.now = desk, now

    def kept(self, channel: str, doc: Document) -> Kept | None:
        return self.desk.brief_document(channel, doc.meeting, doc.economy) if doc.meeting else None

    def keep(self, channel: str, doc: Document, kind: str, slack_id: str) -> None:
        if doc.meeting and slack_id:
            self.desk.keep_brief_document(
                channel, doc.meeting, doc.economy, kind, slack_id, self.now
            )

    def forget(self, channel: str, doc: Document, slack_id: str) -> None:
        if doc.meeting:
            self.desk.forget_brief_document(channel, doc.meeting, doc.economy, slack_id)


def post_document(
    client: WebClient,
    respond: Responder,
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
        if _update_canvas(client, respond, kept[1], content, doc, where):
            return
        assert kept_by is not None
        kept_by.forget(channel, doc, kept[1])
        kept = None
    _make_canvas(client, respond, channel, doc, content, kept_by, kept, where)


def _update_canvas(
    client: WebClient,
    respond: Responder,
    canvas: str,
    content: dict[str, str],
    doc: Document,
    where: str,
) -> bool:
    """The brief's canvas updated in place, and the asker told how that went; False when the
    canvas is gone (a new one is to be made)."""
    try:
        client.canvases_edit(
            canvas_id=canvas, changes=[{"operation": "replace", "document_content": content}]
        )
        _told(
            respond, "The whole note is updated in its canvas in this channel", doc, where, canvas
        )
    except OSError as exc:  # the canvas stays the same one: asking again updates it
        log.warning(
            "canvases.edit gave no answer (%s): the update's outcome is unknown",
            type(exc).__name__,
        )
        say(respond, BRIEF_EDIT_UNKNOWN)
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error in CANVAS_GONE:
            log.info("the brief's canvas is gone (%s): a new one is made", error)
            return False
        log.warning("canvases.edit failed (%s): the brief's canvas is left as it was", error)
        say(respond, BRIEF_EDIT_FAILED)
    return True


def _make_canvas(
    client: WebClient,
    respond: Responder,
    channel: str,
    doc: Document,
    content: dict[str, str],
    kept_by: Briefs | None,
    kept: Kept | None,
    where: str,
) -> None:
    """A new canvas for the brief (a file where Slack refuses canvases), replacing a kept file."""
    try:
        made = client.canvases_create(
            title=doc.title[:250], channel_id=channel, document_content=content
        )
    except OSError as exc:  # no answer: the canvas may exist, so no file is made beside it
        log.warning(
            "canvases.create gave no answer (%s): the note's outcome is unknown", type(exc).__name__
        )
        say(respond, BRIEF_UNKNOWN)
        return
    except SlackApiError as exc:  # refused: nothing was made, so the file is the note
        error = exc.response.get("error")
        level = logging.INFO if error in CANVAS_REFUSED else logging.WARNING
        log.log(level, "canvases.create failed (%s): the note goes as a file", error)
        post_file(client, respond, channel, doc, kept_by, kept)
        return
    canvas = str(made.get("canvas_id") or "")
    if kept_by is not None:
        kept_by.keep(channel, doc, "canvas", canvas)
    if kept is not None and kept[0] == "file":  # the file the canvas now stands for
        delete_file(client, kept[1])
    _told(respond, "The whole note is a canvas in this channel", doc, where, canvas)


def post_file(
    client: WebClient,
    respond: Responder,
    channel: str,
    doc: Document,
    kept_by: Briefs | None,
    kept: Kept | None,
) -> None:
    """The note as a Markdown file in the channel; the file it replaces deleted once it is up."""
    try:
        up = client.files_upload_v2(
            channel=channel, content=doc.markdown, title=doc.title, filename=doc.filename
        )
    except (SlackApiError, SlackRequestError, OSError) as failed:
        log.warning("the note could not be posted as a file: %s", type(failed).__name__)
        say(respond, BRIEF_FAILED)
        return
    found = up.get("file")
    shared = found if isinstance(found, dict) else {}
    file_id = str(shared.get("id") or "")
    if kept_by is not None:
        kept_by.keep(channel, doc, "file", file_id)
    if kept is not None and kept[0] == "file" and kept[1] != file_id:
        delete_file(client, kept[1])
    link = str(shared.get("permalink") or "")
    said = f"The whole note is a Markdown file in this channel: _{esc(doc.title)}_"
    say(respond, f"{said} (<{link}|open it>)." if link.startswith("https://") else f"{said}.")


def delete_file(client: WebClient, file_id: str) -> None:
    """The brief's previous file, deleted once its replacement is up (gone already: no matter)."""
    try:
        client.files_delete(file=file_id)
    except (SlackApiError, OSError) as exc:
        error = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
        if error not in ("file_not_found", "file_deleted"):
            log.warning("the brief's previous file %s was not deleted: %s", file_id, error)


def _told(respond: Responder, said: str, doc: Document, where: str, canvas: str) -> None:
    """The asker told where the note is, with a link to its canvas where the address is known."""
    link = f" (<{where}{canvas}|open it>)" if where.startswith("https://") and canvas else ""
    say(respond, f"{said}: _{esc(doc.title)}_{link}.")


def post_picture(client: WebClient, respond: Responder, channel: str, picture: Picture) -> None:
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
