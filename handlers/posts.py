"""What the scheduler posts: reminders, digests, one-off and recurring reminders, and the admins'
notice of a failure.

A reminder a person asked for says who asked when it goes to someone else ("<@ann> asked me to
remind you: …"), and every time in a post is Slack's date token, which each reader sees in their
own zone (the fallback names it in the asker's).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.meetings import HOW_TO_ADD, countdown, in_days, meeting_line, title, upcoming
from handlers.proposals import post_card
from handlers.registry import Ask
from handlers.reminder_actions import reminder_buttons
from handlers.render import Card, date_token, esc, when
from store.desk import Desk, is_user, iso
from store.proposals import POST_KIND
from store.queries import Store
from store.schedule import Post, describe_offset, next_occurrence

LATE_NOTE = "_Posted late: the bot was not running when this was due."
WHEN = "{date_short_pretty} at {time}"  # a date token's format: "Monday at 9:00 AM", "Nov 9th at …"


def _local(moment: datetime, tz: str) -> str:
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local.day} {local:%b %Y %H:%M} ({tz})"


def time_token(moment: datetime, tz: str) -> str:
    """A time each reader sees in their own zone; the fallback names it in `tz`."""
    return date_token(moment, WHEN, _local(moment, tz))


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
    elif post.kind == "recurring":
        card = recurring_card(post, store)
    else:
        card = one_off_card(post)
    if late:
        card.context(LATE_NOTE + f" (due {time_token(post.due, post.tz)})_")
    card.buttons.extend(reminder_buttons(post))
    return card.in_channel()


def reminder_line(post: Post) -> str:
    """The reminder itself, as Slack's `/remind` says it: "Reminder: …" to the channel or the
    one who asked, "<@ann> asked me to remind you: …" to someone else."""
    person = post.for_user or (post.channel if is_user(post.channel) else "")
    text = esc(post.text)
    if not person or person == post.asker or not post.asker:
        return f":alarm_clock: *Reminder:* {text}"
    if is_user(post.channel):
        return f":alarm_clock: <@{post.asker}> asked me to remind you: {text}"
    return f":alarm_clock: <@{post.asker}> asked me to remind <@{person}>: {text}"


def one_off_card(post: Post) -> Card:
    """A one-off reminder: the text, when it was asked for, and its number."""
    card = Card().section(reminder_line(post))
    by = f" by <@{post.asker}>" if _asker_unnamed(post) else ""
    return card.context(
        f"Asked for {time_token(post.due, post.tz)}{by} — one-off #{post.one_off_id}"
    )


def recurring_card(post: Post, store: Store) -> Card:
    """An occurrence of a recurring reminder: the text, its number, and when it comes next."""
    card = Card().section(reminder_line(post))
    reminder = Desk(store.db).recurring_by_id(post.recurring_id)
    by = f" set by <@{post.asker}>" if _asker_unnamed(post) else ""
    line = f"Recurring reminder #{post.recurring_id}{by}"
    if reminder is None or reminder.cancelled:
        return card.context(line + " — cancelled since: this is its last post.")
    if reminder.until_text:
        line += f", {esc(reminder.until_text)}"
    zone = ZoneInfo(post.tz)
    stop = None
    if reminder.meeting_id:
        stop = next((m.span.start for m in store.meetings() if m.id == reminder.meeting_id), None)
    upcoming = next_occurrence(reminder, zone, post.due, stop)
    if reminder.paused:
        line += " — paused: nothing more until it is resumed."
    elif upcoming is None:
        line += " — this is its last post."
    else:
        line += f" — next {time_token(upcoming, post.tz)}."
    return card.context(line)


def _asker_unnamed(post: Post) -> bool:
    """Whether a reminder's readers are yet to be told who asked for it: not when it reminds the
    asker alone, nor when its line names them already."""
    if not post.asker or post.channel == post.asker:
        return False
    return not reminder_line(post).startswith(f":alarm_clock: <@{post.asker}>")


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
    """The next 30 days' meetings, the countdown, month-only notes, and sources added since the
    last."""
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
        and m.span.start is not None
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
        "channel_not_found": "The channel is gone or the bot cannot see it; "
        "`/apec unsubscribe` there, or ignore.",
        "is_archived": "The channel is archived.",
        "user_not_found": "The person is not in this workspace any more.",
        "user_disabled": "The person's account is deactivated.",
    }.get(error, "")
    where = f"<@{esc(post.channel)}>" if is_user(post.channel) else f"<#{esc(post.channel)}>"
    card = Card().section(
        f":warning: I could not post a {esc(post.kind)} to {where}: `{esc(error)}`. {hint}"
    )
    card.context(f"{esc(post.why)} · due {_local(post.due, post.tz)} · key `{esc(post.key)}`")
    return card.in_channel()
