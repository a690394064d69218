"""Configuration: read once from the environment at start-up, then passed down. Nothing else reads os.environ."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handlers.router import Ask
from store.queries import Store

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
DEFAULT_API_URL = "https://slack.com/api/"


class ConfigError(Exception):
    """A setting is missing or malformed: the message is the one line the admin sees."""


def parse_now(value: str, what: str = "--now") -> datetime:
    """An ISO-8601 time with its offset (a bare date is midnight UTC); naive times are refused."""
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(
            f"{what}: {value!r} is not an ISO-8601 time such as 2026-01-20T09:00+09:00"
        ) from exc
    if moment.tzinfo is None:
        if "T" in text or " " in text:
            raise ConfigError(
                f"{what}: {value!r} has no UTC offset; write it as 2026-01-20T09:00+09:00"
            )
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment


def parse_tz(value: str, what: str = "APEC_TZ") -> ZoneInfo:
    """An IANA time-zone name."""
    try:
        if not value or value.startswith(("/", ".")) or ".." in value:
            raise ValueError(value)
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"{what}: {value!r} is not an IANA time zone such as Asia/Seoul or UTC"
        ) from exc


def parse_seconds(value: str, what: str, most: float = 3600) -> float | None:
    """A number of seconds above 0 and at most `most`; None when not given."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= most:
        raise ConfigError(f"{what}: {value!r} is not a number of seconds from 0 to {most:.0f}")
    return seconds


def parse_feeds(value: str, allow: tuple[str, ...] = ()) -> tuple[str, ...]:
    """APEC_FEEDS: comma-separated http(s) addresses, each one the bot may fetch."""
    from store.fetch import FetchError, check_url

    try:
        return tuple(dict.fromkeys(check_url(u, allow) for u in value.split(",") if u.strip()))
    except FetchError as exc:
        raise ConfigError(f"APEC_FEEDS: {exc}") from exc


def parse_allow(value: str) -> tuple[str, ...]:
    """APEC_FETCH_ALLOW: comma-separated hosts (`host` or `host:port`) or networks (CIDR) the
    watcher may fetch from though they are not on the public web."""
    from store.fetch import AllowList

    entries = tuple(dict.fromkeys(e.strip() for e in value.split(",") if e.strip()))
    try:
        AllowList.parse(entries)
    except ValueError as exc:
        raise ConfigError(f"APEC_FETCH_ALLOW: {exc}") from exc
    return entries


BRIEF_PAPERS = ("a4", "letter")


def parse_paper(value: str, what: str = "APEC_BRIEF_PAPER") -> str:
    """A paper size for the brief's Word document: a4 or letter (any case); A4 when not given."""
    paper = value.strip().lower() or "a4"
    if paper not in BRIEF_PAPERS:
        raise ConfigError(f"{what}: {value!r} is not a paper size the brief is written on: a4 or letter")  # fmt: skip
    return paper


MAX_WORKERS = 64


def parse_workers(value: str, what: str = "--workers") -> int:
    """A number of worker processes from 1 to MAX_WORKERS; not given, one per core."""
    if not value:
        return max(1, min(os.cpu_count() or 1, MAX_WORKERS))
    if not value.isdigit() or not 1 <= int(value) <= MAX_WORKERS:
        raise ConfigError(f"{what}: {value!r} is not a number of workers from 1 to {MAX_WORKERS}")
    return int(value)


@dataclass(frozen=True)
class Config:
    """Everything the bot is told by its environment."""

    db_path: Path = Path("apec.db")
    now: datetime | None = None
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    admins: frozenset[str] = frozenset()
    reminder_channel: str = ""
    bot_token: str = field(default="", repr=False)
    signing_secret: str = field(default="", repr=False)
    app_token: str = field(default="", repr=False)
    api_url: str = DEFAULT_API_URL
    seeds: Path = SEEDS
    public_url: str = ""  # APEC_PUBLIC_URL: where users reach the bot's HTTP port (for the feed)
    metrics_token: str = field(default="", repr=False)  # APEC_METRICS_TOKEN
    host_id: str = ""  # APEC_HOST_ID: this host's name in the scheduler's lease and claims
    lease_ttl: float | None = None  # APEC_LEASE_TTL: a shorter lease, for drills and tests
    workers: int = 1  # APEC_WORKERS (or serve --workers): processes sharing the port
    metrics_dir: str = ""  # PROMETHEUS_MULTIPROC_DIR: set by `serve --workers` for its workers
    desk_channel: str = ""  # APEC_DESK_CHANNEL: where proposals from new documents are posted
    feeds: tuple[str, ...] = ()  # APEC_FEEDS: sources to watch, besides those added in Slack
    fetch_allow: tuple[str, ...] = ()  # APEC_FETCH_ALLOW: non-public hosts the watcher may fetch
    desk_economy: str = ""  # APEC_DESK_ECONOMY: whose objectives a brief shows by default
    stop_timeout: float = 20.0  # APEC_STOP_TIMEOUT: seconds SIGTERM may take (systemd allows 30)
    desk_name: str = "APEC desk"  # APEC_DESK_NAME: the brief document's author and footer
    brief_marking: str = ""  # APEC_BRIEF_MARKING: the marking line atop every page of a brief
    brief_paper: str = "a4"  # APEC_BRIEF_PAPER: a4 or letter

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Read the variables of INTERFACE.md; raises ConfigError naming the bad one."""
        env = os.environ if env is None else env
        now = env.get("APEC_NOW", "").strip()
        api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_API_URL
        if not api_url.endswith("/"):
            api_url += "/"  # slack-sdk joins method names onto it
        fetch_allow = parse_allow(env.get("APEC_FETCH_ALLOW", ""))
        return cls(
            db_path=Path(env.get("APEC_DB", "").strip() or "apec.db"),
            now=parse_now(now, "APEC_NOW") if now else None,
            tz=parse_tz(env.get("APEC_TZ", "").strip() or "UTC"),
            admins=frozenset(a.strip() for a in env.get("APEC_ADMINS", "").split(",") if a.strip()),
            reminder_channel=env.get("APEC_REMINDER_CHANNEL", "").strip(),
            bot_token=env.get("SLACK_BOT_TOKEN", "").strip(),
            signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip(),
            app_token=env.get("SLACK_APP_TOKEN", "").strip(),
            api_url=api_url,
            seeds=Path(env["APEC_SEEDS"]) if env.get("APEC_SEEDS") else SEEDS,
            public_url=env.get("APEC_PUBLIC_URL", "").strip().rstrip("/"),
            metrics_token=env.get("APEC_METRICS_TOKEN", "").strip(),
            host_id=(env.get("APEC_HOST_ID", "").strip() or socket.gethostname()).replace(":", "-"),
            lease_ttl=parse_seconds(env.get("APEC_LEASE_TTL", "").strip(), "APEC_LEASE_TTL"),
            workers=parse_workers(env.get("APEC_WORKERS", "").strip(), "APEC_WORKERS"),
            metrics_dir=env.get("PROMETHEUS_MULTIPROC_DIR", "").strip(),
            desk_channel=env.get("APEC_DESK_CHANNEL", "").strip(),
            feeds=parse_feeds(env.get("APEC_FEEDS", ""), fetch_allow),
            fetch_allow=fetch_allow,
            desk_economy=env.get("APEC_DESK_ECONOMY", "").strip(),
            stop_timeout=parse_seconds(
                env.get("APEC_STOP_TIMEOUT", "").strip(), "APEC_STOP_TIMEOUT"
            )
            or cls.stop_timeout,
            desk_name=env.get("APEC_DESK_NAME", "").strip() or cls.desk_name,
            brief_marking=env.get("APEC_BRIEF_MARKING", "").strip(),
            brief_paper=parse_paper(env.get("APEC_BRIEF_PAPER", "")),
        )

    def ask(self, store: Store, now: datetime, text: str, *, via: str, can_edit: Callable[[], bool],
            user: str = "", channel: str = "", on_change: Callable[[], None] = lambda: None,
            on_store_error: Callable[[str], None] = lambda _: None,
            user_tz: ZoneInfo | None = None,
            member_of: Callable[[str], bool | None] = lambda _: None) -> Ask:  # fmt: skip
        """A question to the handlers, carrying what this configuration tells them."""
        return Ask(
            store=store,
            now=now,
            text=text,
            user=user,
            channel=channel,
            tz=self.tz,
            via=via,
            reminder_channel=self.reminder_channel,
            on_change=on_change,
            can_edit=can_edit,
            on_store_error=on_store_error,
            admins=tuple(sorted(self.admins)),
            seeds=self.seeds,
            public_url=self.public_url,
            feeds=self.feeds,
            fetch_allow=self.fetch_allow,
            desk_economy=self.desk_economy,
            user_tz=user_tz,
            member_of=member_of,
        )
