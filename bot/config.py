"""Configuration: every environment variable the bot reads, in one table (SETTINGS), read once at
start-up into a frozen Config that is passed down. Nothing else reads os.environ.

deploy/.env.example and the README's table of variables are generated from SETTINGS
(`python -m bot.config --update`; tests/test_config.py checks they agree), and
`apec-bot config --check` shows what is set, secrets masked, and what Slack still needs.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
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
            f"{what}: {value!r} is not an ISO-8601 time — write it with its UTC offset, "
            "as 2026-01-20T09:00+09:00"
        ) from exc
    if moment.tzinfo is None:
        if "T" in text or " " in text:
            raise ConfigError(
                f"{what}: {value!r} has no UTC offset — write it with one, as "
                "2026-01-20T09:00+09:00"
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
            f"{what}: {value!r} is not an IANA time zone — use a name such as Asia/Seoul or UTC"
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
        raise ConfigError(
            f"{what}: {value!r} is not a number of seconds above 0 and up to {most:.0f} — "
            f"give one such as 20, or unset {what} for the default"
        )
    return seconds


def parse_feeds(value: str, allow: tuple[str, ...] = ()) -> tuple[str, ...]:
    """APEC_FEEDS: comma-separated http(s) addresses, each one the bot may fetch."""
    from store.fetch import FetchError, check_url

    try:
        return tuple(dict.fromkeys(check_url(u, allow) for u in value.split(",") if u.strip()))
    except FetchError as exc:
        raise ConfigError(
            f"APEC_FEEDS: {exc} — correct or remove that address (APEC_FEEDS takes "
            "comma-separated http(s) addresses of public feeds or pages)"
        ) from exc


def parse_allow(value: str) -> tuple[str, ...]:
    """APEC_FETCH_ALLOW: comma-separated hosts (`host` or `host:port`) or networks (CIDR) the
    watcher may fetch from though they are not on the public web."""
    from store.fetch import AllowList

    entries = tuple(dict.fromkeys(e.strip() for e in value.split(",") if e.strip()))
    try:
        AllowList.parse(entries)
    except ValueError as exc:
        raise ConfigError(
            f"APEC_FETCH_ALLOW: {exc} — list hosts (host or host:port) or networks "
            "(10.20.0.0/16), comma-separated"
        ) from exc
    return entries


BRIEF_PAPERS = ("a4", "letter")


def parse_paper(value: str, what: str = "APEC_BRIEF_PAPER") -> str:
    """A paper size for the brief's Word document: a4 or letter (any case); A4 when not given."""
    paper = value.strip().lower() or "a4"
    if paper not in BRIEF_PAPERS:
        raise ConfigError(
            f"{what}: {value!r} is not a paper size the brief is written on — use a4 or letter"
        )
    return paper


MAX_WORKERS = 64


def parse_workers(value: str, what: str = "--workers") -> int:
    """A number of worker processes from 1 to MAX_WORKERS; not given, one per core."""
    if not value:
        return max(1, min(os.cpu_count() or 1, MAX_WORKERS))
    if not value.isdigit() or not 1 <= int(value) <= MAX_WORKERS:
        raise ConfigError(
            f"{what}: {value!r} is not a number of workers from 1 to {MAX_WORKERS} — "
            "give one such as 4, or leave it out for one per core"
        )
    return int(value)


def parse_seeds(value: str) -> Path:
    """APEC_SEEDS: a folder holding the desk file."""
    from store.build import DESK_FILE

    seeds = Path(value)
    if not (seeds / DESK_FILE).is_file():
        raise ConfigError(
            f"APEC_SEEDS={value}: no desk file at {seeds / DESK_FILE} — point APEC_SEEDS at the "
            "seeds folder (unset it for the packaged seeds)"
        )
    return seeds


def parse_url(value: str, what: str, then: str) -> str:
    """An http(s) address with a host; `then` says what to do when it is not one."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{what}: {value!r} is not an http(s) address — {then}")
    return value


# -- The table ----------------------------------------------------------------------------------

NEEDED = {"slack": "both modes", "http": "HTTP mode", "socket": "Socket Mode", "": ""}
TOKEN_KINDS = {"xoxb-": "a bot token", "xapp-": "an app-level token", "xoxp-": "a user token"}


@dataclass(frozen=True)
class Setting:
    """One environment variable: what it holds, its default, what it means, and how it is read."""

    name: str
    field: str  # the Config attribute it sets
    kind: str  # what it holds, in a word or two
    default: str  # as the docs say it
    meaning: str  # one line, Markdown
    read: Callable[[str, Mapping[str, Any]], Any]  # its value (stripped, not empty), fields so far
    secret: bool = False
    needed: str = ""  # for Slack: "slack" (both modes), "http", "socket"; "" for no mode
    line: str = ""  # its line in deploy/.env.example; `#NAME=` when empty
    fallback: Callable[[], Any] | None = None  # a default worked out at start-up
    prefix: str = ""  # a token's prefix (xoxb-, xapp-)
    how: str = ""  # where to get it, for `config --check`

    def env_line(self) -> str:
        return self.line or f"#{self.name}="


def _text(value: str, _: Mapping[str, Any]) -> str:
    return value


def _ids(value: str, _: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(a.strip() for a in value.split(",") if a.strip())


def _api_url(value: str, _: Mapping[str, Any]) -> str:
    then = f"unset it for Slack's own ({DEFAULT_API_URL}); only tests point it elsewhere"
    value = parse_url(value, "SLACK_API_URL", then)
    return value if value.endswith("/") else value + "/"  # slack-sdk joins method names onto it


def _public_url(value: str, _: Mapping[str, Any]) -> str:
    then = "set it to the address users reach the bot at, as https://apec-bot.example.org"
    return parse_url(value, "APEC_PUBLIC_URL", then).rstrip("/")


def _host_id(value: str) -> str:
    return value.replace(":", "-")  # the lease's holder is "host:pid"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "SLACK_BOT_TOKEN",
        "bot_token",
        "token",
        "none",
        "the bot token (`xoxb-`), from the app's *OAuth & Permissions* page",
        _text,
        secret=True,
        needed="slack",
        line="SLACK_BOT_TOKEN=",
        prefix="xoxb-",
        how="copy the Bot User OAuth Token (xoxb-…) from the app's OAuth & Permissions page",
    ),
    Setting(
        "SLACK_SIGNING_SECRET",
        "signing_secret",
        "secret",
        "none",
        "the signing secret, from the app's *Basic Information* page: HTTP mode checks every "
        "request from Slack with it",
        _text,
        secret=True,
        needed="http",
        line="SLACK_SIGNING_SECRET=",
        how="HTTP mode checks Slack's requests with the Signing Secret from the app's Basic "
        "Information page (or set SLACK_APP_TOKEN for Socket Mode)",
    ),
    Setting(
        "SLACK_APP_TOKEN",
        "app_token",
        "token",
        "none",
        "an app-level token (`xapp-`) with `connections:write`: when it is set, `serve` connects "
        "out to Slack in Socket Mode and needs no signing secret",
        _text,
        secret=True,
        needed="socket",
        prefix="xapp-",
        how="make an app-level token with connections:write on the app's Basic Information page",
    ),
    Setting(
        "SLACK_API_URL",
        "api_url",
        "URL",
        f"`{DEFAULT_API_URL}`",
        "the base URL of Slack's Web API; tests point it at a local stand-in",
        _api_url,
        line=f"SLACK_API_URL={DEFAULT_API_URL}",
    ),
    Setting(
        "APEC_DB",
        "db_path",
        "path",
        "`./apec.db`",
        "the path of the SQLite store (the image sets `/data/apec.db`, the systemd unit "
        "`/var/lib/apec-bot/apec.db`)",
        lambda v, _: Path(v),
        line="#APEC_DB=/data/apec.db",
    ),
    Setting(
        "APEC_SEEDS",
        "seeds",
        "path",
        "`seeds/` beside the packages",
        "the folder of seed documents and the desk file (`desk.toml`) that `build` reads; set it "
        "when the package is installed away from its source tree (the image sets `/app/seeds`, the "
        "systemd unit `/opt/apec-bot/seeds`)",
        lambda v, _: parse_seeds(v),
        line="#APEC_SEEDS=/app/seeds",
        fallback=lambda: SEEDS,
    ),
    Setting(
        "APEC_TZ",
        "tz",
        "time zone",
        "`UTC`",
        "the desk's time zone (IANA name, `Asia/Seoul`) for digests and times shown outside Slack",
        lambda v, _: parse_tz(v),
        line="APEC_TZ=UTC",
    ),
    Setting(
        "APEC_NOW",
        "now",
        "time",
        "the real clock",
        "the time the bot's clock starts from (ISO-8601 with offset); it runs on in real time from "
        "there. For demos and tests, never production; `--now` overrides it",
        lambda v, _: parse_now(v, "APEC_NOW"),
        line="#APEC_NOW=2026-01-20T09:00+09:00",
    ),
    Setting(
        "APEC_ADMINS",
        "admins",
        "user IDs",
        "none",
        "comma-separated Slack user IDs (`U012AB3CD,U045EF6GH`) allowed to change the calendar (as "
        "the workspace's admins are) and told of failed posts",
        _ids,
        line="APEC_ADMINS=",
    ),
    Setting(
        "APEC_REMINDER_CHANNEL",
        "reminder_channel",
        "channel ID",
        "none",
        "the channel (`C012AB3CD`) that gets reminders before every SOM and the Leaders' Summit "
        "with no subscription",
        _text,
        line="APEC_REMINDER_CHANNEL=",
    ),
    Setting(
        "APEC_DESK_CHANNEL",
        "desk_channel",
        "channel ID",
        "none (proposals only in `/apec proposals` and the CLI)",
        "the channel where each new document's proposals are posted as a card for admins to "
        "approve",
        _text,
    ),
    Setting(
        "APEC_FETCH_ALLOW",
        "fetch_allow",
        "hosts",
        "none (public web, ports 80 and 443 only)",
        "comma-separated hosts (`host`, `host:port`) or networks (`10.20.0.0/16`) the watcher may "
        "fetch from though they are not on the public web (loopback, private, link-local...) or "
        "are on another port",
        lambda v, _: parse_allow(v),
    ),
    Setting(
        "APEC_FEEDS",
        "feeds",
        "URLs",
        "none",
        "comma-separated addresses of sources to watch (RSS, Atom or a page), besides those added "
        "with `/apec watch`",
        lambda v, got: parse_feeds(v, got.get("fetch_allow", ())),
        line="#APEC_FEEDS=https://example.org/news/rss.xml,https://example.org/calendar",
    ),
    Setting(
        "APEC_DESK_ECONOMY",
        "desk_economy",
        "economy",
        "none (a brief shows no economy's objectives)",
        "the desk's own economy: whose objectives a brief shows unless `for ECONOMY` / `--for` "
        "names another (any name the bot knows: `US`, `Korea`, `Viet Nam`)",
        _text,
    ),
    Setting(
        "APEC_DESK_NAME",
        "desk_name",
        "text",
        "`APEC desk`",
        "the desk's name: the author of a brief's Word file and the left of its footer",
        _text,
    ),
    Setting(
        "APEC_BRIEF_MARKING",
        "brief_marking",
        "text",
        "none (no marking line)",
        "the marking line centred atop every page of a brief's Word file (`UNCLASSIFIED`, "
        "`OFFICIAL`...); the bot cannot know a document's classification, so it shows none unless "
        "told",
        _text,
    ),
    Setting(
        "APEC_BRIEF_PAPER",
        "brief_paper",
        "`a4` or `letter`",
        "`a4`",
        "the paper a brief's Word file is laid out on",
        lambda v, _: parse_paper(v),
    ),
    Setting(
        "APEC_PUBLIC_URL",
        "public_url",
        "URL",
        "none (shown as `https://YOUR-BOT-HOST`)",
        "the HTTPS address users reach the bot's port at, so `/apec ics` shows the feed's full "
        "address and the Home tab the year's picture",
        _public_url,
    ),
    Setting(
        "APEC_METRICS_TOKEN",
        "metrics_token",
        "secret",
        "none (loopback only)",
        "the bearer token `/metrics` asks for from anywhere but loopback",
        _text,
        secret=True,
    ),
    Setting(
        "APEC_WORKERS",
        "workers",
        "count",
        "one per core",
        f"worker processes `serve` runs on one port (1-{MAX_WORKERS}; `--workers` overrides)",
        lambda v, _: parse_workers(v, "APEC_WORKERS"),
        fallback=lambda: parse_workers(""),
    ),
    Setting(
        "APEC_STOP_TIMEOUT",
        "stop_timeout",
        "seconds",
        "`20`",
        "seconds SIGTERM may take to finish requests and acknowledged work before `serve` exits 0 "
        "anyway; keep it under the stop timeout of what runs it (systemd's `TimeoutStopSec=30`, "
        "compose's `stop_grace_period: 30s`)",
        lambda v, _: parse_seconds(v, "APEC_STOP_TIMEOUT"),
        line="#APEC_STOP_TIMEOUT=20",
    ),
    Setting(
        "APEC_HOST_ID",
        "host_id",
        "text",
        "the machine's host name",
        "this host's name in the scheduler's lease and claims; give two `serve` hosts different "
        "names",
        lambda v, _: _host_id(v),
        fallback=lambda: _host_id(socket.gethostname()),
    ),
    Setting(
        "APEC_LEASE_TTL",
        "lease_ttl",
        "seconds",
        "`90`",
        "seconds a scheduler's lease lasts unless renewed (drills and tests; up to 3600)",
        lambda v, _: parse_seconds(v, "APEC_LEASE_TTL"),
    ),
    Setting(
        "PROMETHEUS_MULTIPROC_DIR",
        "metrics_dir",
        "path",
        "none",
        "set by `serve --workers` for its worker processes (prometheus-client reads it too): leave "
        "it unset",
        _text,
    ),
)


def _read(env: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, ConfigError]]:
    """The Config fields the environment sets, and the error of each variable that is wrong."""
    values: dict[str, Any] = {}
    problems: dict[str, ConfigError] = {}
    for setting in SETTINGS:
        value = (env.get(setting.name) or "").strip()
        try:
            if value:
                values[setting.field] = setting.read(value, values)
            elif setting.fallback is not None:
                values[setting.field] = setting.fallback()
        except ConfigError as exc:
            problems[setting.name] = exc
    return values, problems


@dataclass(frozen=True)
class Config:
    """Everything the bot is told by its environment: one field a row of SETTINGS."""

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
        """Read every variable in SETTINGS; raises ConfigError naming the first bad one."""
        values, problems = _read(os.environ if env is None else env)
        for problem in problems.values():
            raise problem
        return cls(**values)

    def ask(
        self,
        store: Store,
        now: datetime,
        text: str,
        *,
        via: str,
        can_edit: Callable[[], bool],
        user: str = "",
        channel: str = "",
        on_change: Callable[[], None] = lambda: None,
        on_store_error: Callable[[str], None] = lambda _: None,
        user_tz: ZoneInfo | None = None,
        member_of: Callable[[str], bool | None] = lambda _: None,
    ) -> Ask:
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


def secrets(env: Mapping[str, str] | None = None) -> list[str]:
    """The values of the secret variables that are set, for the log filter to mask."""
    env = os.environ if env is None else env
    return [value for s in SETTINGS if s.secret and (value := (env.get(s.name) or "").strip())]


# -- apec-bot config --check ----------------------------------------------------------------------


def masked(value: str) -> str:
    """A secret as `config --check` shows it: its length, and a Slack token's known prefix only."""
    prefix = _token_prefix(value)
    return f"set ({prefix}…, {len(value)} chars)" if prefix else f"set ({len(value)} chars)"


def _token_prefix(value: str) -> str:
    return next((p for p in TOKEN_KINDS if value.startswith(p)), "")


def _slack_problem(setting: Setting, value: str) -> str:
    """What is wrong with a Slack secret that is set ('' when nothing is), never showing it."""
    found = _token_prefix(value)
    if found and found != setting.prefix:
        said = f"holds {TOKEN_KINDS[found]} ({found}…)"
    elif setting.prefix and not re.fullmatch(re.escape(setting.prefix) + r"[A-Za-z0-9-]+", value):
        kind = TOKEN_KINDS[setting.prefix]
        said = f"is not {kind} ({setting.prefix} then letters, digits and dashes)"
    else:
        return ""
    return f"{setting.name}: {said} — {setting.how}"


def _shown(value: Any) -> str:
    if isinstance(value, ZoneInfo):
        text = value.key
    elif isinstance(value, frozenset):
        text = ",".join(sorted(value))
    elif isinstance(value, tuple):
        text = ",".join(value)
    elif isinstance(value, datetime):
        text = value.isoformat()
    elif isinstance(value, float):
        text = f"{value:g}"
    else:
        text = str(value)
    return text if text.isprintable() else repr(text)


def _plain(markdown: str) -> str:
    return markdown.replace("`", "").replace("*", "")


@dataclass(frozen=True)
class Check:
    """What `apec-bot config --check` says: a line a variable, Slack's modes, and the problems."""

    lines: list[str]
    problems: list[str]  # one line each
    status: int  # 0 usable; 1 a variable set is invalid; 2 Slack lacks what `serve` needs


# Slack's two ways in, each with what it needs (`Setting.needed`); the first is used when its
# token is set (`Config.app_token`).
MODES = (("Socket Mode", ("slack", "socket")), ("HTTP mode", ("slack", "http")))


def check(env: Mapping[str, str] | None = None) -> Check:
    """The effective configuration, secrets masked, and what stops `serve` from starting."""
    env = os.environ if env is None else env
    values, errors = _read(env)
    config = Config(**values)
    lines = _aligned(
        [("variable", "value", "from")] + [_row(s, env, config, errors) for s in SETTINGS]
    )
    invalid = [str(e) for e in errors.values()] + _missing_places(config, errors)
    chosen = "Socket Mode" if config.app_token else "HTTP mode"
    slack: list[str] = []
    for mode, needs in MODES:
        wanted = [(s, getattr(config, s.field)) for s in SETTINGS if s.needed in needs]
        lines.append(f"{mode}: {_readiness(wanted)}")
        if mode == chosen:  # what `serve` would say, one line a setting
            slack = _slack_problems(wanted)
    lines.append(_verdict(chosen, bool(invalid or slack)))
    return Check(lines, invalid + slack, 1 if invalid else 2 if slack else 0)


def _row(
    s: Setting, env: Mapping[str, str], config: Config, errors: Mapping[str, ConfigError]
) -> tuple[str, str, str]:
    """A variable's line in the table: its name, its value as `check` shows it, and its source."""
    raw = (env.get(s.name) or "").strip()
    source = "environment" if raw else "default (set empty)" if s.name in env else "default"
    return s.name, _value_shown(s, raw, getattr(config, s.field), s.name in errors), source


def _value_shown(s: Setting, raw: str, value: Any, invalid: bool) -> str:
    """A variable's value for the table: secrets masked, defaults as the docs say them."""
    if invalid:
        return "invalid"
    if s.secret:
        return masked(raw) if raw else "not set"
    if raw:
        return _shown(value)
    if s.fallback is not None:  # worked out at start-up: shown, with what the docs say
        return f"{_shown(value)} ({_plain(s.default)})"
    return _plain(s.default)


def _aligned(rows: list[tuple[str, str, str]]) -> list[str]:
    """Rows as lines in columns (the value's column no wider than 48)."""
    wide = [max(len(row[i]) for row in rows) for i in (0, 1)]
    return [f"{n:<{wide[0]}}  {v:<{min(wide[1], 48)}}  {f}" for n, v, f in rows]


def _missing_places(config: Config, errors: Mapping[str, ConfigError]) -> list[str]:
    """The store's folder and the seeds, where the settings (or their defaults) put them."""
    from store.build import DESK_FILE

    said = []
    folder = config.db_path.parent
    if not folder.is_dir():
        said.append(
            f"APEC_DB={config.db_path}: the folder {folder} does not exist — create it, "
            "or point APEC_DB at a file in a folder that does"
        )
    if "APEC_SEEDS" not in errors and not (config.seeds / DESK_FILE).is_file():
        said.append(
            f"APEC_SEEDS is not set and the packaged seeds are missing ({config.seeds}) "
            "— point APEC_SEEDS at the seeds folder"
        )
    return said


def _readiness(wanted: list[tuple[Setting, Any]]) -> str:
    """A mode's Slack settings in a few words: what is missing and malformed, or "ready"."""
    missing = [s.name for s, value in wanted if not value]
    wrong = [s.name for s, value in wanted if value and _slack_problem(s, value)]
    said = [f"missing {' and '.join(missing)}"] if missing else []
    return "; ".join(said + [f"{n} is malformed" for n in wrong]) or "ready"


def _slack_problems(wanted: list[tuple[Setting, Any]]) -> list[str]:
    """What `serve` would say of a mode's Slack settings: a line for each missing or malformed."""
    said = []
    for s, value in wanted:
        problem = _slack_problem(s, value) if value else f"{s.name}: not set — {s.how}"
        if problem:
            said.append(problem)
    return said


def _verdict(chosen: str, stopped: bool) -> str:
    if stopped:
        return (
            "serve would not start: the problems are on standard error, one a line; "
            "`apec-bot shell` runs without Slack"
        )
    return f"serve would run in {chosen}"


# -- The files made from the table ----------------------------------------------------------------

ENV_HEADER = """\
# Environment for the APEC desk bot: every variable the bot reads.
# Generated from bot/config.py (SETTINGS) by `python -m bot.config --update`: change it there.
# `apec-bot config --check` shows what is set (secrets masked) and what Slack still needs.
#
#   Docker / compose:  cp deploy/.env.example deploy/apec-bot.env
#   systemd:           install it as /etc/apec-bot/apec-bot.env (mode 0640, see apec-bot.service)
#
# One VAR=value per line, no quotes, no `export`: both docker's --env-file and systemd's
# EnvironmentFile= read this format. Keep the filled-in file out of git (deploy/.gitignore does).
#
# Slack: fill in SLACK_BOT_TOKEN, then EITHER SLACK_SIGNING_SECRET (HTTP mode) OR SLACK_APP_TOKEN
# (Socket Mode). Left empty, `apec-bot serve` refuses to start and names what is missing.
"""

README_START = (
    "<!-- The table of variables is generated from bot/config.py (SETTINGS) by "
    "`python -m bot.config --update`; tests/test_config.py checks it. -->"
)
README_END = "<!-- end of the table of variables -->"


def _sentence(markdown: str) -> str:
    text = _plain(markdown)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def env_example() -> str:
    """deploy/.env.example: each variable with what it means above it."""
    out = [ENV_HEADER, "\n"]
    for s in SETTINGS:
        secret = ", secret" if s.secret and s.kind != "secret" else ""
        facts = [_plain(s.kind) + secret, f"default {_plain(s.default)}"]
        facts += [f"needed for Slack in {NEEDED[s.needed]}"] if s.needed else []
        wrapped = textwrap.wrap(_sentence(s.meaning), 98, break_on_hyphens=False)
        out.append("".join(f"# {line}\n" for line in [*wrapped, "; ".join(facts)]))
        out.append(f"{s.env_line()}\n\n")
    return "".join(out).rstrip("\n") + "\n"


def markdown_table() -> str:
    """The README's table of variables."""
    rows = [
        "| variable | type | default | meaning | secret | needed for Slack |",
        "|---|---|---|---|---|---|",
    ]
    for s in SETTINGS:
        rows.append(
            f"| `{s.name}` | {s.kind} | {s.default} | {s.meaning} | "
            f"{'yes' if s.secret else ''} | {NEEDED[s.needed]} |"
        )
    return "\n".join(rows) + "\n"


def with_readme_table(readme: str) -> str:
    """The README with its table of variables (between README_START and README_END) made anew."""
    before, start, rest = readme.partition(README_START + "\n")
    _, end, after = rest.partition(README_END)
    if not start or not end:
        raise ValueError(f"README.md lacks the lines {README_START!r} and {README_END!r}")
    return before + start + "\n" + markdown_table() + "\n" + end + after


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bot.config --env-example | --markdown | --update`."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m bot.config", description=__doc__)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--env-example", action="store_true", help="print deploy/.env.example")
    what.add_argument("--markdown", action="store_true", help="print the README's table")
    what.add_argument("--update", action="store_true", help="rewrite both from SETTINGS")
    args = p.parse_args(argv)
    if args.env_example:
        sys.stdout.write(env_example())
    elif args.markdown:
        sys.stdout.write(markdown_table())
    else:
        root = Path(__file__).resolve().parent.parent
        readme = root / "README.md"
        try:
            text = with_readme_table(readme.read_text(encoding="utf-8"))
        except ValueError as exc:
            print(f"python -m bot.config: {exc}", file=sys.stderr)
            return 1
        (root / "deploy" / ".env.example").write_text(env_example(), encoding="utf-8")
        readme.write_text(text, encoding="utf-8")
        print("wrote deploy/.env.example and the README's table of variables", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
