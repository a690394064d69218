"""What the scheduler posts: reminders, digests, one-offs, and the admins' notice of a failure."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.meetings import HOW_TO_ADD, countdown, in_days, meeting_line, title, upcoming
from handlers.proposals import post_card
from handlers.render import Card, date_token, esc, when
from handlers.router import Ask
from store.desk import iso
from store.proposals import POST_KIND
from store.queries import Store
from store.schedule import Post, describe_offset

LATE_NOTE = "_Posted late: the bot was not running when this was due."


def _local(moment: datetime, tz: str) -> str:
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local.day} {local:%b %Y %H:%M} ({tz})"


def message_for(
    post: Post, store: Store, now: datetime, last_digest: datetime | None = None, late: bool = False
) -> Card:
    """The message a post makes; a late one says so."""
    if post.kind == POST_KIND:
        card = post_card(store, post.key)  # a document's card, or a held source's
    elif post.kind == "reminder":
        card = reminder_card(post, store)
    elif post.kind == "digest":  # what was published by the day it is posted
        card = digest_card(post, store.at(now.date()), now, last_digest)
    else:
        card = Card().section(f":alarm_clock: *Reminder:* {esc(post.text)}")
        card.context(
            f"Asked for {date_token(post.due, '{date_short_pretty} {time}', _local(post.due, post.tz))}"
            f" — one-off #{post.one_off_id}"
        )
    if late:
        card.context(
            LATE_NOTE
            + f" (due {date_token(post.due, '{date_short_pretty} {time}', _local(post.due, post.tz))})_"
        )
    return card.in_channel()


def reminder_card(post: Post, store: Store) -> Card:
    """ "SOM3 opens in 7 days": the meeting, its dates and place, and the source."""
    meeting = next((m for m in store.meetings() if m.id == post.meeting_id), None)
    card = Card()
    if meeting is None:
        return card.section(
            f":calendar: Reminder for a meeting no longer on record ({esc(post.meeting_id)})."
        )
    days = (
        (meeting.span.start - post.due.astimezone(ZoneInfo(post.tz)).date()).days
        if meeting.span.start
        else 0
    )
    lead = "opens today" if days <= 0 else f"opens {in_days(days)}"
    card.section(
        f":calendar: *{esc(title(meeting))}* {lead} — {esc(when(meeting))}"
        + (f", {esc(meeting.place)}" if meeting.place else "")
        + "."
    )
    offset = describe_offset(post.offset)  # "on the first day" is whole as it is
    card.context(f"Reminder {offset}" + ("" if offset.endswith("first day") else " the first day"))
    card.cite(meeting.source, meeting.quote)
    return card


def digest_card(post: Post, store: Store, now: datetime, since: datetime | None) -> Card:
    """The next 30 days' meetings, the countdown, month-only notes, and sources added since the last."""
    card = Card().header("APEC digest")
    soon = upcoming(store, post.due, days=30)
    if soon:
        card.section("*Next 30 days*\n" + "\n".join(meeting_line(m, post.due) for m in soon))
    elif store.next_meeting(after=post.due) is not None:
        card.section("*Next 30 days:* no meetings on record.")
    else:
        card.section("*Next 30 days:* no meetings on record, and none further ahead either.")
        card.context(HOW_TO_ADD)
    card.blocks.extend(countdown(Ask(store=store, now=post.due)).blocks)
    horizon = (post.due + timedelta(days=120)).date()
    month_only = [
        m
        for m in store.meetings()
        if m.month_only
        and not m.parent_id
        and m.span.end is not None
        and m.span.end >= post.due.date()
        and m.span.start <= horizon
    ]
    if month_only:
        card.context(
            "Known only to the month (no reminders until dated): "
            + "; ".join(f"{esc(m.short)}, {esc(when(m))}" for m in month_only)
        )
    added = store.desk_sources_since(iso(since)) if since is not None else []
    if added:
        card.section(
            "*Sources added since the last digest*\n"
            + "\n".join(f"• {esc(s.title)}" for s in added)
        )
    return card


def failure_notice(post: Post, error: str) -> Card:
    """The direct message an admin gets when Slack refuses a post."""
    hint = {
        "not_in_channel": "Invite the bot to the channel (`/invite @APEC`).",
        "channel_not_found": "The channel is gone or the bot cannot see it; `/apec unsubscribe` there, or ignore.",
        "is_archived": "The channel is archived.",
    }.get(error, "")
    card = Card().section(
        f":warning: I could not post a {esc(post.kind)} to <#{esc(post.channel)}>: `{esc(error)}`. {hint}"
    )
    card.context(f"{esc(post.why)} · due {_local(post.due, post.tz)} · key `{esc(post.key)}`")
    return card.in_channel()
