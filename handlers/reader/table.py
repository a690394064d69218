"""The table of questions: every row a kind of record and an ask, and the function answering it."""

from __future__ import annotations

from handlers.reader.base import Intent
from handlers.reader.delegations import delegation
from handlers.reader.facts import facts
from handlers.reader.meetings import host, kind_list, meeting, parts, period
from handlers.reader.members import counts, membership
from handlers.reader.people import attendance, doers, person, who_is
from handlers.reader.said import statements
from handlers.reader.time import countdown, next_meeting, time_of_day

INTENTS: tuple[Intent, ...] = (
    countdown,
    next_meeting,
    time_of_day,
    membership,
    counts,
    who_is,
    delegation,
    attendance,
    doers,
    statements,
    host,
    parts,
    kind_list,
    meeting,
    period,
    person,
    facts,
)
