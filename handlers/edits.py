"""The desk keeps the calendar: meetings added, edited, cancelled; delegates added and taken out.

Each change is kept in the desk's own tables and audited, then the records are re-derived at once,
so answers, the Home tab and the scheduler follow it. Only admins may run these (router's check).
"""

from __future__ import annotations

import hashlib
import json
import shlex
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handlers.meetings import not_found_meeting, title
from handlers.registry import Ask, UsageError, command, refuse_unless_admin
from handlers.render import STATUS_WORDS, Card, esc, when
from store import changes, edits
from store.dates import DateError, read_span
from store.edits import STATUSES
from store.models import Economy, Meeting
from store.queries import Store
from store.text import clean
from store.vocabulary import MEETING_KINDS

FORM = "meeting_form"
KEYS = {"name", "short", "kind", "dates", "city", "host", "tz", "status", "note"}


def record_of(m: Meeting) -> dict[str, Any]:
    """A meeting as a desk record (the fields a form edits)."""
    return {
        "id": m.id,
        "name": m.name,
        "short": m.short,
        "kind": m.kind,
        "parent": m.parent_id,
        "dates": m.span.text,
        "city": m.city,
        "host": m.host_id,
        "tz": m.tz,
        "status": m.status,
        "note": m.note,
    }


def editor(ask: Ask) -> str:
    """Who made a change, for the audit trail: the Slack user, or where it came from (cli,
    console)."""
    return ask.user or ask.via


def who(user: str) -> str:
    """A Slack user as a mention; anything else (cli, console) as it is."""
    return f"<@{esc(user)}>" if user[:1] in ("U", "W") and user[1:].isalnum() else esc(user)


class FieldError(Exception):
    """A field the desk filled in wrongly: which one, and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def check_record(
    store: Store, rec: dict[str, Any], now: datetime, default_tz: ZoneInfo, new: bool = True
) -> dict[str, Any]:
    """Fields checked (dates read by the store's date module, host and zone known); a new
    meeting's record also made whole (short name, kind, the venue's zone guessed)."""
    rec = edits.cleaned(rec)  # invisible characters and controls out, as the store keeps text
    if new and not rec.get("name") or "name" in rec and not rec["name"]:
        raise FieldError("name", 'A meeting needs a name in visible letters, such as "SOM3".')
    if len(rec.get("name", "")) > 150:
        raise FieldError("name", "Keep the name under 150 characters.")
    if new:
        rec["short"] = rec.get("short") or rec["name"]
        rec["kind"] = rec.get("kind") or _guess_kind(rec["name"])
        rec["status"] = rec.get("status") or "scheduled"
    if rec.get("short"):
        rec["short"] = rec["short"][:40]
    _check_choices(rec)
    if rec.get("dates"):
        _check_dates(rec["dates"], now)
    if rec.get("host"):
        economy = store.member(rec["host"]).economy
        if economy is None:
            raise FieldError("host", f"{rec['host']!r} is not a member economy I know.")
        rec["host"] = economy.id
    if new:
        rec["tz"] = rec.get("tz") or changes.venue_zone(store.db, rec) or default_tz.key
    if "tz" in rec:
        _check_zone(rec["tz"])
    return rec


def _check_choices(rec: dict[str, Any]) -> None:
    for key, allowed in (("kind", MEETING_KINDS), ("status", STATUSES)):
        if key in rec:
            rec[key] = str(rec[key]).lower()
            if rec[key] not in allowed:
                raise FieldError(key, f"{key.title()} is one of {', '.join(sorted(allowed))}.")


def _check_dates(text: str, now: datetime) -> None:
    try:
        span = read_span(text, now.date())
    except DateError as exc:
        raise FieldError(
            "dates",
            f"I can't read {text!r} as dates ({exc}). Try 2026-08-10..2026-08-21 or August 2026.",
        ) from exc
    if span.precision not in ("day", "month"):
        raise FieldError(
            "dates", "Give the days (2026-08-10..2026-08-21) or the month (August 2026)."
        )


def _check_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise FieldError("tz", f"{name!r} is not a time zone such as Asia/Shanghai.") from exc


def _guess_kind(name: str) -> str:
    low = name.lower()
    if "som" in low.split() or low.startswith("som") or "senior official" in low:
        return "som"
    if "summit" in low or "leaders" in low:
        return "summit"
    return "ministerial" if "minister" in low else "event"


def apply_meeting(ask: Ask, meeting_id: str | None, fields: dict[str, Any], action: str) -> Meeting:
    """Make the change in one write transaction (store.changes), tell the scheduler; the meeting
    as now on record."""
    new_id = (
        None
        if meeting_id
        else (lambda db: _new_id(db, fields["name"], fields.get("dates", ""), ask.now))
    )
    _, after = changes.change_meeting(
        ask.store.db, ask.seeds, meeting_id, fields, editor(ask), ask.now, action, new_id
    )
    ask.on_change()
    store = ask.store.refresh()
    found = next((m for m in store.meetings() if m.id == after["id"]), None)
    assert found is not None
    return found


def changed_card(verb: str, m: Meeting) -> Card:
    card = Card().section(
        f":white_check_mark: {verb} *{esc(title(m))}*: {esc(when(m))}"
        + (f", {esc(m.place)}" if m.place else "")
        + f" ({STATUS_WORDS.get(m.status, m.status)})."
    )
    card.context(
        "Answers, the Home tab and reminders follow at once. `/apec history "
        f"{esc(m.short)}` shows the change; `apec-bot export` writes the desk's changes out."
    )
    return card


def _split(args: str) -> tuple[list[str], dict[str, str]]:
    """Positional words and key=value pairs, quotes allowed:
    `"SOM3" 2026-08-10..2026-08-21 Dalian host=CN`."""
    try:
        words = shlex.split(args)
    except ValueError as exc:
        raise UsageError(f"I can't read that ({exc}): check the quotes.") from exc
    pairs = {}
    positional = []
    for word in words:
        key, sep, value = word.partition("=")
        if sep and key.lower() in KEYS:
            pairs[key.lower()] = value
        else:
            positional.append(word)
    return positional, pairs


@command(
    "add-meeting",
    usage='add-meeting ["NAME" DATES CITY] [host=CN kind=som status=scheduled note="..."]',
    example='add-meeting "SOM3" 2026-08-10..2026-08-21 Dalian',
    admin=True,
)
def add_meeting(ask: Ask) -> Card:
    """Add a meeting to the calendar (a form in Slack, or typed); a name on record is updated
    instead."""
    if not ask.args:
        return form_or_usage(ask, None)
    positional, pairs = _split(ask.args)
    if not positional and "name" not in pairs:
        raise UsageError("Give at least the meeting's name.")
    rec = {"name": clean(pairs.pop("name", positional[0] if positional else ""))}
    if len(positional) > 1:
        rec["dates"] = positional[1]
    if len(positional) > 2:
        rec["city"] = " ".join(positional[2:])
    rec.update(pairs)
    existing = ask.store.meeting(rec["name"])
    if existing is not None:
        changed = {k: v for k, v in rec.items() if k != "name"}
        return _save(ask, existing.id, changed, "edit-meeting", "Updated")
    return _save(ask, None, rec, "add-meeting", "Added")


def _new_id(db: Any, name: str, dates: str, now: datetime) -> str:
    """A new meeting's id: its name and year, unique among those on record (read in the change's
    transaction)."""
    year = now.year
    if dates:
        try:
            span = read_span(dates, now.date())
            year = span.start.year if span.start else year
        except DateError:
            pass
    return changes.unique_meeting_id(db, f"{edits.slug(name)}-{year}")


def _save(ask: Ask, meeting_id: str | None, fields: dict[str, Any], action: str, verb: str) -> Card:
    """Check the fields given (a new meeting's made whole), then change only those."""
    try:
        fields = check_record(ask.store, fields, ask.now, ask.tz, new=meeting_id is None)
    except FieldError as exc:
        raise UsageError(f"{exc.field}: {esc(exc.message)}") from exc
    return changed_card(verb, apply_meeting(ask, meeting_id, fields, action))


@command(
    "edit-meeting",
    usage="edit-meeting NAME [dates=... city=... status=... host=... name=... note=...]",
    example="edit-meeting SOM3 dates=2026-08-10..2026-08-21 status=scheduled",
    admin=True,
)
def edit_meeting(ask: Ask) -> Card:
    """Change a meeting on the calendar (a form in Slack, or key=value typed)."""
    positional, pairs = _split(ask.args)
    if not positional:
        raise UsageError("Which meeting?")
    name = " ".join(positional)
    found = ask.store.meeting(name)
    if found is None:
        return not_found_meeting(ask.store, name)
    if not pairs:
        return form_or_usage(ask, found)
    return _save(ask, found.id, pairs, "edit-meeting", "Changed")


@command(
    "cancel-meeting",
    usage='cancel-meeting NAME [note="why"]',
    example="cancel-meeting SOM3",
    admin=True,
)
def cancel_meeting(ask: Ask) -> Card:
    """Mark a meeting cancelled: it stays on record, its reminders stop."""
    positional, pairs = _split(ask.args)
    if not positional:
        raise UsageError("Which meeting?")
    found = ask.store.meeting(" ".join(positional))
    if found is None:
        return not_found_meeting(ask.store, " ".join(positional))
    if found.status == "cancelled":
        return Card().section(f"*{esc(title(found))}* is already cancelled.")
    fields = {"status": "cancelled", **({"note": pairs["note"]} if "note" in pairs else {})}
    return _save(ask, found.id, fields, "cancel-meeting", "Cancelled")


@command(
    "add-delegate",
    usage='add-delegate ECONOMY MEETING "NAME" "ROLE"',
    example='add-delegate US SOM3 "Jane Doe" "Deputy Senior Official"',
    admin=True,
)
def add_delegate(ask: Ask) -> Card:
    """Add a person to an economy's delegation to a meeting."""
    return _delegate(ask, removed=False)


@command(
    "remove-delegate",
    usage='remove-delegate ECONOMY MEETING "NAME"',
    example='remove-delegate US SOM3 "Jane Doe"',
    admin=True,
)
def remove_delegate(ask: Ask) -> Card:
    """Take a person out of a delegation (undoes add-delegate; also for a person the seeds name)."""
    return _delegate(ask, removed=True)


def _delegate_args(ask: Ask, removed: bool) -> tuple[Economy, Meeting | None, str, str, str]:
    """(economy, meeting or None if unknown, name, role, the meeting as typed) of a delegate
    command."""
    positional, _ = _split(ask.args)
    need = 3 if removed else 4
    if len(positional) < need:
        raise UsageError(
            "Give the economy, the meeting, the name"
            + ("." if removed else " and the role, quoted.")
        )
    economy_name, meeting_name, name = positional[0], positional[1], clean(positional[2])
    economy = ask.store.member(economy_name).economy
    if economy is None:
        raise UsageError(f"{esc(economy_name)!s} is not a member economy I know.")
    if not name or len(name) > 120:
        raise UsageError("Give the person's name in visible letters (under 120 characters).")
    role = " ".join(positional[3:])[:200]
    return economy, ask.store.meeting(meeting_name), name, role, meeting_name


def _delegate(ask: Ask, removed: bool) -> Card:
    economy, meeting, name, role, typed = _delegate_args(ask, removed)
    if meeting is None:
        return not_found_meeting(ask.store, typed)
    current = [
        m
        for d in ask.store.delegations(economy_id=economy.id, meeting_id=meeting.id)
        for m in d.members
    ]
    person = next((m for m in current if m.person.name.lower() == name.lower()), None)
    if removed and person is None:
        return Card().section(
            f"{esc(name)} is not in the {esc(economy.name)} delegation to {esc(meeting.short)} "
            "on record."
        )
    changes.change_delegate(
        ask.store.db, ask.seeds, economy.id, meeting.id, name, role, removed, editor(ask), ask.now
    )
    ask.on_change()
    verb = "Took out" if removed else "Added"
    where = f"the {esc(economy.name)} delegation to {esc(title(meeting))}"
    card = Card().section(
        f":white_check_mark: {verb} *{esc(name)}*"
        + (f" ({esc(role)})" if role else "")
        + (" from " if removed else " to ")
        + where
        + "."
    )
    card.context(
        f"Undo with `/apec {'add' if removed else 'remove'}-delegate {esc(economy.id)} "
        f'{esc(meeting.short)} "{esc(name)}"'
        + ("" if removed else "`")
        + ("" if not removed else ' "ROLE"`')
    )
    return card


@command("history", usage="history [NAME]", example="history SOM3", mention=True)
def history(ask: Ask) -> Card:
    """Who changed what on the calendar, and when (of one meeting if named)."""
    target = None
    if ask.args:
        found = ask.store.meeting(ask.args)
        if found is None:
            return not_found_meeting(ask.store, ask.args)
        target = found.id
    entries = edits.history(ask.store.db, target)
    if not entries:
        return Card().section(
            "No changes on record" + (f" for {esc(ask.args)}." if target else ".")
        )
    lines = []
    for e in entries:
        change = _diff(e.before, e.after)
        lines.append(
            f"• {e.at:%Y-%m-%d %H:%M} UTC — {who(e.user)} {esc(e.action)} `{esc(e.target)}`"
            + (f": {change}" if change else "")
        )
    return Card().section("*Calendar changes, newest first*\n" + "\n".join(lines))


def _diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    if before is None and after is not None:
        return "added " + ", ".join(
            f"{k}={esc(str(v))!s}"
            for k, v in after.items()
            if v and k in ("name", "dates", "city", "status", "role")
        )
    if after is None:
        return "removed"
    assert before is not None
    return "; ".join(
        f"{k}: {esc(str(before.get(k, '')))} → {esc(str(v))}"
        for k, v in after.items()
        if str(before.get(k, "")) != str(v)
    )


# -- the form (Slack modal) --------------------------------------------------------------------


def form_or_usage(ask: Ask, meeting: Meeting | None) -> Card:
    """In Slack, a form (`modal` for the bot to open); elsewhere, how to type the change."""
    if ask.via != "slack":
        cmd = "edit-meeting" if meeting else "add-meeting"
        example = (
            "edit-meeting SOM3 dates=2026-08-10..2026-08-21"
            if meeting
            else 'add-meeting "SOM3" 2026-08-10..2026-08-21 Dalian'
        )
        return (
            Card()
            .section(f"Forms open in Slack. Here, type the change: `/apec {example}`")
            .context(f"`/apec help` shows `{cmd}`'s fields.")
        )
    reply = Card().section("Opening the form…")
    reply.modal = meeting_form(meeting, ask.channel)
    return reply


def _input(
    block_id: str,
    label: str,
    initial: str = "",
    optional: bool = False,
    multiline: bool = False,
    hint: str = "",
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": multiline,
    }
    if initial:
        element["initial_value"] = initial[:3000]
    block = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def _select(block_id: str, label: str, options: list[str], initial: str) -> dict[str, Any]:
    opts = [{"text": {"type": "plain_text", "text": o}, "value": o} for o in options]
    element: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": opts}
    if initial in options:
        element["initial_option"] = opts[options.index(initial)]
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }


def meeting_form(meeting: Meeting | None, channel: str) -> dict[str, Any]:
    """The modal for adding or editing a meeting (views.open)."""
    rec = record_of(meeting) if meeting else {}
    start = end = month = ""
    if meeting and meeting.dated and meeting.span.start and meeting.span.end:
        start, end = meeting.span.start.isoformat(), meeting.span.end.isoformat()
    elif meeting and meeting.month_only and meeting.span.start:
        month = f"{meeting.span.start:%B %Y}"
    shown = {
        **{k: rec.get(k, "") for k in FORM_FIELDS},
        "dates": f"{start}..{end}" if start else month,
    }
    meta = {"id": meeting.id if meeting else "", "channel": channel, "shown": _marks(shown)}
    return {
        "type": "modal",
        "callback_id": FORM,
        "private_metadata": json.dumps(meta),
        "title": {"type": "plain_text", "text": "Edit meeting" if meeting else "Add meeting"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _input("name", "Name", rec.get("name", "")),
            _input("short", "Short name", rec.get("short", ""), optional=True, hint="e.g. SOM3"),
            _select("kind", "Kind", sorted(MEETING_KINDS), rec.get("kind", "som")),
            _input("start", "First day", start, optional=True, hint="2026-08-10, or August 10"),
            _input("end", "Last day", end, optional=True, hint="leave empty for a one-day meeting"),
            _input(
                "month",
                "Or only the month",
                month,
                optional=True,
                hint="August 2026: no reminders until dated",
            ),
            _input("city", "City", rec.get("city", ""), optional=True),
            _input(
                "host",
                "Host economy",
                rec.get("host", ""),
                optional=True,
                hint="e.g. China, CN, PRC",
            ),
            _input(
                "tz",
                "Venue time zone",
                rec.get("tz", ""),
                optional=True,
                hint="e.g. Asia/Shanghai; guessed from the city or host if empty",
            ),
            _select("status", "Status", sorted(STATUSES), rec.get("status", "scheduled")),
            _input(
                "note",
                "Source or note",
                rec.get("note", ""),
                multiline=True,
                hint="Where this comes from: it is cited with the meeting",
            ),
        ],
    }


FORM_FIELDS = ("name", "short", "kind", "city", "host", "tz", "status", "note")
_GUESSED = frozenset({"short", "kind", "tz", "status"})  # an empty field of these keeps its value


def _marks(fields: dict[str, Any]) -> dict[str, str]:
    """A short mark of each field's value as the form showed it (the form's metadata is small)."""
    return {k: hashlib.sha1(str(v or "").encode()).hexdigest()[:10] for k, v in fields.items()}


def form_values(state: dict[str, Any]) -> dict[str, str]:
    """The form's fields from a view_submission's `view.state.values`."""
    out = {}
    for block_id, actions in (state or {}).items():
        value = (actions or {}).get("value") or {}
        out[block_id] = (
            value.get("value") or (value.get("selected_option") or {}).get("value") or ""
        ).strip()
    return out


def submit_form(
    ask: Ask, state: dict[str, Any], private_metadata: str
) -> tuple[dict[str, str] | None, Card | None]:
    """A submitted form: (field errors to show in the form, None) or (None, the confirmation)."""
    refusal = refuse_unless_admin(ask)
    if refusal is not None:
        return {"name": "Only the desk's calendar keepers can change it."}, None
    values = form_values(state)
    try:
        meta = json.loads(private_metadata or "{}")
    except ValueError:
        meta = {}
    meeting = ask.store.meeting(meta.get("id", "")) if meta.get("id") else None
    errors: dict[str, str] = {}
    dates = _form_dates(ask, values, errors)
    rec = {**{k: values.get(k, "") for k in FORM_FIELDS}, "dates": dates}
    if not rec["note"]:
        errors["note"] = "Say where this comes from: it is cited with the meeting."
    if meeting is not None:  # only what the admin changed in the form: others' changes stand
        shown = meta.get("shown") or {}
        rec = {k: v for k, v in rec.items() if _marks({k: v})[k] != shown.get(k)}
        rec = {k: v for k, v in rec.items() if v or k not in _GUESSED}  # left empty: kept
    if not errors:
        try:
            rec = check_record(ask.store, rec, ask.now, ask.tz, new=meeting is None)
        except FieldError as exc:
            errors[{"dates": "start"}.get(exc.field, exc.field)] = exc.message
    if errors:
        return errors, None
    return None, _save_form(ask, meeting, rec)


def _form_dates(ask: Ask, values: dict[str, str], errors: dict[str, str]) -> str:
    """The form's days or month as a date phrase; what is wrong with them goes in `errors`."""
    start, end, month = values.get("start", ""), values.get("end", ""), values.get("month", "")
    if start and month:
        errors["month"] = "Give the days or the month, not both."
    elif start:
        try:
            first = read_span(start, ask.now.date())
            last = read_span(end, ask.now.date()) if end else first
            if first.precision != "day" or last.precision != "day":
                raise DateError("a day")
            if first.start is None or last.end is None:  # a day's span has both ends
                raise DateError("a day")
            if last.end < first.start:
                errors["end"] = "The last day is before the first."
            return f"{first.start.isoformat()}..{last.end.isoformat()}"
        except DateError:
            errors["end" if end and _reads(start, ask) else "start"] = (
                "I can't read that as a day: try 2026-08-10."
            )
    elif end:
        errors["start"] = "Give the first day too."
    elif month:
        try:
            if read_span(month, ask.now.date()).precision != "month":
                raise DateError("a month")
            return month
        except DateError:
            errors["month"] = "I can't read that as a month: try August 2026."
    return ""


def _save_form(ask: Ask, meeting: Meeting | None, fields: dict[str, Any]) -> Card:
    """A checked form saved: the meeting it edits, one of that name, or a new one."""
    if meeting is not None:
        return changed_card("Changed", apply_meeting(ask, meeting.id, fields, "edit-meeting"))
    existing = ask.store.meeting(fields["name"])
    if existing is not None:
        changed = {k: v for k, v in fields.items() if k != "name"}
        return changed_card("Updated", apply_meeting(ask, existing.id, changed, "edit-meeting"))
    return changed_card("Added", apply_meeting(ask, None, fields, "add-meeting"))


def _reads(text: str, ask: Ask) -> bool:
    try:
        read_span(text, ask.now.date())
        return True
    except DateError:
        return False
