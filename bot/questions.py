"""Questions from Slack to the handlers: each with what the asker may do, their zone and their
channels; answered with the store's plain reply when the store does not even open (and the
admins told, once an hour at most, by `Alarm`)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Config
from bot.listeners.common import after, message
from bot.permissions import Permissions
from bot.stores import Stores
from bot.users import Membership, UserZones
from handlers.reminder_actions import ASKER_ZONE
from handlers.render import Card, esc
from handlers.router import Ask, lookup, route, split, store_down
from store.errors import StoreError

log = logging.getLogger("apec.app")


def wants_zone(text: str) -> bool:
    """Whether the command in `text` reads or shows times for the one asking."""
    found = lookup(split(text)[0])
    return found is not None and found.name in ASKER_ZONE


class Alarm:
    """Tells the admins, by direct message, that the store failed under a request: once an hour
    at most, and not while a fault episode of the store is on (bot/faults.py has told them)."""

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
        after(self.later, self._tell, detail)

    def _tell(self, detail: str) -> None:
        card = Card().section(
            ":rotating_light: The desk's store failed under a request; users are told it is "
            f"unavailable. Check the disk and `/healthz`.\n{esc(detail[:300])}"
        )
        for admin in sorted(self.admins):
            try:
                channel = self.client.conversations_open(users=[admin])["channel"]["id"]
                self.client.chat_postMessage(channel=channel, **message(card.payload()))
            except (SlackApiError, OSError) as exc:
                log.error("could not tell admin %s the store failed: %s", admin, type(exc).__name__)


class Questions:
    """Makes the handlers' `Ask` for a question from Slack, and answers it."""

    def __init__(
        self,
        config: Config,
        stores: Stores,
        clock: Callable[[], datetime],
        *,
        permissions: Permissions,
        zones: UserZones,
        membership: Membership,
        alarm: Alarm,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.config, self.stores, self.clock = config, stores, clock
        self.permissions, self.zones, self.membership = permissions, zones, membership
        self.alarm, self.on_change = alarm, on_change

    def changed(self) -> None:
        self.stores.changed()  # every thread of this process re-reads the store before it answers
        self.on_change()

    def ask(self, text: str, user: str, channel: str, zoned: bool | None = None) -> Ask:
        """The question; with the asker's own zone when it reads or shows their times (by
        default, when its command does: `ASKER_ZONE`)."""
        zone = self.zones.zone(user) if (wants_zone(text) if zoned is None else zoned) else None
        return self.config.ask(
            self.stores.get(quick=True),
            self.clock(),
            text,
            via="slack",
            user=user,
            channel=channel,
            on_change=self.changed,
            can_edit=lambda: self.permissions.may_edit(user),
            on_store_error=self.alarm,
            user_tz=zone,
            member_of=self.membership.member_of,
        )

    def answer(self, text: str, user: str, channel: str) -> Card:
        """route(), or the plain reply when the store does not even open for the question."""
        try:
            ask = self.ask(text, user, channel)
        except (StoreError, sqlite3.Error) as exc:
            log.error("the store did not open answering %r: %s", text[:40], exc)
            self.alarm(f"{type(exc).__name__}: {exc}")
            return store_down()
        return route(ask)
