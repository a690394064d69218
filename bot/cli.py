"""The command line, `apec-bot` (also `python -m bot`): a thin layer over the store and the
handlers."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from bot.arenas import bound_arenas
from bot.clock import Clock
from bot.config import Config, ConfigError, parse_now, parse_workers, secrets
from bot.observe import setup_logging
from bot.stores import Stores
from store.errors import StoreError

if TYPE_CHECKING:
    from datetime import datetime

    from store.desk import Desk
    from store.ingest import IngestReport
    from store.queries import Store

log = logging.getLogger("apec")
FINDINGS_SHOWN = 50  # of each kind: a long document's every mention helps nobody


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="apec-bot", description="The APEC desk bot.")
    p.add_argument("--version", action="version", version=f"apec-bot {_version()}")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="log lines as text or as JSON objects for log shippers (default text)",
    )
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    sub.add_parser("build", help="(re)build the store at $APEC_DB from seeds/")
    ingest = sub.add_parser(
        "ingest", help="add source documents (files or web addresses) and print what they hold"
    )
    ingest.add_argument("files", nargs="+", metavar="FILE_OR_URL")
    watch = sub.add_parser("watch", help="poll the watched sources (APEC_FEEDS, /apec watch)")
    watch.add_argument("--once", action="store_true", help="poll each source once, then exit")
    watch.add_argument("--now", help="the time to poll at (ISO-8601 with offset)")
    for name, what in (
        ("command", "what `/apec TEXT` answers"),
        ("mention", "what `@bot TEXT` answers"),
    ):
        c = sub.add_parser(name, help=what)
        c.add_argument("text", nargs="*", metavar="TEXT")
        c.add_argument("--now", help="the time to answer at (ISO-8601 with offset)")
        c.add_argument("--json", action="store_true", help="print the Slack message payload")
        c.add_argument(
            "--user",
            default="",
            help="the Slack user ID asking (with SLACK_BOT_TOKEN, their zone comes from Slack)",
        )
        c.add_argument("--channel", default="", help="the channel ID asked in")
    serve = sub.add_parser(
        "serve", help="run for Slack: Socket Mode with SLACK_APP_TOKEN, else HTTP"
    )
    serve.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    serve.add_argument(
        "--host", default="0.0.0.0", help="HTTP address to listen on (default 0.0.0.0)"
    )
    serve.add_argument("--now", help="start the clock at this time (ISO-8601 with offset)")
    serve.add_argument(
        "--workers",
        help="processes sharing the port, one of which posts "
        "(default $APEC_WORKERS, else one per core)",
    )
    ics = sub.add_parser("ics", help="the meetings calendar (iCalendar) on stdout")
    ics.add_argument("--now", help="the time to stamp it with (ISO-8601 with offset)")
    export = sub.add_parser(
        "export", help="write the desk's calendar changes as a desk file for seeds/"
    )
    export.add_argument("--output", "-o", type=Path, help="write here instead of standard output")
    backup = sub.add_parser(
        "backup", help="copy the store to PATH while the bot runs (SQLite online backup)"
    )
    backup.add_argument("path", type=Path, metavar="PATH")
    sched = sub.add_parser("schedule", help="the posts the scheduler will make in the next N days")
    sched.add_argument("--now", help="the time to start from (ISO-8601 with offset)")
    sched.add_argument("--days", type=int, default=30, help="how many days ahead (default 30)")
    brief = sub.add_parser("brief", help="the briefing note for a meeting, every line cited")
    brief.add_argument("meeting", nargs="+", metavar="MEETING")
    brief.add_argument("--now", help="the time to write it as of (ISO-8601 with offset)")
    brief.add_argument("--for", dest="economy", default="", help="the economy it is for")
    brief.add_argument("--format", choices=("md", "docx"), default="md", help="default md")
    brief.add_argument("--output", "-o", type=Path, help="write here instead of standard output")
    timeline = sub.add_parser("timeline", help="the year (or a period) as a picture (PNG)")
    timeline.add_argument("period", nargs="*", metavar="PERIOD", help="default: this year")
    timeline.add_argument("--output", "-o", type=Path, required=True, help="the PNG to write")
    timeline.add_argument("--now", help="draw it as of this time (ISO-8601 with offset)")
    sub.add_parser("proposals", help="the open proposals from new documents, one line each")
    for name, what in (
        ("approve", "approve proposal N: the change goes on the calendar, citing its document"),
        ("ignore", "ignore proposal N: it is never proposed again"),
    ):
        decide = sub.add_parser(name, help=what)
        decide.add_argument("number", type=int, metavar="N", help="the proposal's number")
        decide.add_argument("--now", help="the time to record it at (ISO-8601 with offset)")
    shell = sub.add_parser("shell", help="the console adapter: ask questions with no Slack")
    shell.add_argument("--now", help="start the clock at this time (ISO-8601 with offset)")
    config = sub.add_parser("config", help="the configuration from the environment, secrets masked")
    config.add_argument(
        "--check",
        action="store_true",
        required=True,
        help="show each variable's value and where it came from, and what Slack still needs",
    )
    return p


def _version() -> str:
    """The installed distribution's version (pyproject's), or a word saying it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("apec-desk-bot")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; exit 0 for any answer, 2 for bad usage, 1 for a real failure."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "now", None):
            parse_now(args.now)
        if getattr(args, "workers", None):
            parse_workers(args.workers)
    except ConfigError as exc:
        parser.error(str(exc))  # bad usage: exit 2
    if args.cmd == "serve":  # before the log's thread, the first of many
        bound_arenas()
    quiet = logging.INFO if args.cmd in ("serve", "shell") else logging.WARNING
    setup_logging(logging.DEBUG if args.debug else quiet, args.log_format, secrets())
    if not args.debug:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job run is noise
    try:
        if args.cmd == "config":  # reads the environment itself: every problem, not the first
            return cmd_config(args)
        config = Config.from_env()
        return COMMANDS[args.cmd](config, args)
    except BrokenPipeError:
        # The reader went away (`| head`): nothing more to say, and nothing to complain about.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ConfigError, StoreError, OSError) as exc:
        if args.debug:
            raise
        print(f"apec-bot: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - one clear line, not a traceback (--debug shows it)
        if args.debug:
            raise
        log.debug("unexpected failure", exc_info=True)
        print(
            f"apec-bot: unexpected failure: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr
        )
        return 1


def _one_line(exc: BaseException) -> str:
    text = str(exc) or exc.__class__.__name__
    return text if "\n" not in text else text.replace("\n", " | ")


def _clock(config: Config, args: argparse.Namespace) -> Clock:
    """The injected clock: --now over APEC_NOW over the real one."""
    if getattr(args, "now", None):
        return Clock(parse_now(args.now))
    return Clock(config.now)


def _stores(config: Config) -> Stores:
    stores = Stores(config.db_path, config.seeds)
    built = stores.ensure_built()
    if built:
        log.info("%s", built)
    return stores


def cmd_build(config: Config, args: argparse.Namespace) -> int:
    from store.build import build
    from store.db import connect

    db = connect(config.db_path)
    try:
        report = build(db, config.seeds)
    finally:
        db.close()
    print(report.summary(str(config.db_path)))
    return 0


MANY = 20  # documents ingested at once past which progress is shown even off a terminal


def cmd_ingest(config: Config, args: argparse.Namespace) -> int:
    from store.db import connect
    from store.errors import SourceError
    from store.fetch import Fetcher
    from store.ingest import ingest_many, read_file
    from store.watch import documents_at

    now = Clock(config.now)()
    _stores(config)
    docs, names, failed = [], [], 0
    with Fetcher(allow=config.fetch_allow) as fetcher:
        for item in args.files:  # one that cannot be read is named; the others still go in
            try:
                if item.startswith(("http://", "https://")):
                    found, problems = documents_at(item, fetcher)
                    for problem in problems:
                        print(f"apec-bot: {item}: {problem}", file=sys.stderr)
                    docs += found
                    names += [d.url for d in found]
                else:
                    docs.append(read_file(Path(item)))
                    names.append(item)
            except OSError as exc:
                failed += 1
                print(f"apec-bot: {item}: {_unreadable(exc)}", file=sys.stderr)
            except SourceError as exc:
                failed += 1
                said = _one_line(exc).removeprefix(f"{item}: ")  # it names the file itself
                print(f"apec-bot: {item}: {said}", file=sys.stderr)
    if not docs:
        return 1 if failed else 0
    db = connect(config.db_path)
    try:
        with _progress(2 * len(docs)) as step:
            reports = ingest_many(db, docs, now=now, seeds=config.seeds, progress=step)
    finally:
        db.close()
    for name, report in zip(names, reports, strict=True):
        _print_report(name, report)
    return 1 if failed else 0


def _unreadable(exc: OSError) -> str:
    """Why a file could not be read, in words rather than an errno."""
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "a folder, not a file: name the files in it"
    if isinstance(exc, PermissionError):
        return "not readable by this user"
    return _one_line(exc) if exc.strerror is None else exc.strerror.lower()


@contextmanager
def _progress(steps: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when it is a terminal or the documents are many; else nothing."""
    if not (sys.stderr.isatty() or steps >= 2 * MANY):
        yield lambda _: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=sys.stderr.isatty()) as bar:
        task = bar.add_task("ingesting", total=steps)
        yield lambda n: bar.advance(task, n)


def _print_report(name: str, report: IngestReport) -> None:
    state = "added" if report.new else "already in the store"
    print(
        f"{name}: {state} as source {report.source_id!r}, {report.passages} passages, "
        f"read as of {report.reference_date.isoformat()}"
    )
    print(f"  title: {report.title}")
    if not report.findings:
        print("  found no dates, economies, people or meetings")
    for kind, kinds in (
        ("date", "dates"),
        ("economy", "economies"),
        ("person", "people"),
        ("meeting", "meetings"),
    ):
        items = [f for f in report.findings if f.kind == kind]
        if items:
            print(f"  {kinds}:")
        for f in items[:FINDINGS_SHOWN]:
            sentence = f.sentence if len(f.sentence) <= 160 else f.sentence[:157] + "..."
            print(f"    {f.value}\n      in: {sentence}")
        if len(items) > FINDINGS_SHOWN:
            print(f"    ... and {len(items) - FINDINGS_SHOWN} more {kind} findings")


def cmd_watch(config: Config, args: argparse.Namespace) -> int:
    from store.db import connect
    from store.fetch import Fetcher
    from store.watch import run

    if not args.once:
        print(
            "apec-bot: `serve` watches the sources on its own schedule; "
            "`apec-bot watch --once` polls them now",
            file=sys.stderr,
        )
        return 2
    now = _clock(config, args)()
    _stores(config)
    db = connect(config.db_path)
    try:
        fetcher = Fetcher(allow=config.fetch_allow)
        polled = run(db, now=now, seeds=config.seeds, env=config.feeds, fetcher=fetcher)
    finally:
        db.close()
    if not polled:
        print(
            "apec-bot: no source is watched: set APEC_FEEDS, or `/apec watch URL`", file=sys.stderr
        )
    for source in polled:
        print(
            f"{source.url}: {source.result}" + (f" ({source.error})" if source.error else ""),
            file=sys.stderr,
        )
        for found in source.found:
            report = found.report
            print(
                f"new document: {report.title} <{report.url}> as source {report.source_id!r}, "
                f"read as of {report.reference_date.isoformat()}"
            )
            for proposal in found.proposals:
                print(proposal.line())
    return 0


def _ask(config: Config, args: argparse.Namespace, mention: bool) -> int:
    from handlers.router import mention as answer_mention
    from handlers.router import route

    text = " ".join(args.text)
    now = _clock(config, args)()
    store = _stores(config).get()
    # Whoever runs the CLI holds the store itself: it may edit.
    ask = config.ask(
        store, now, text, via="cli", user=args.user, channel=args.channel, can_edit=lambda: True
    )
    if config.bot_token:  # Slack is there to say the asker's zone, and where the bot is
        from bot.permissions import lookup_client
        from bot.users import Membership, UserZones

        client = lookup_client(config.api_url, config.bot_token)
        zone = UserZones(client).zone(args.user) if args.user else None
        ask = replace(ask, user_tz=zone, member_of=Membership(client).member_of)
    card = answer_mention(ask) if mention else route(ask)
    if args.json:
        pages = card.pages()
        print(json.dumps(pages[0] if len(pages) == 1 else pages, indent=2, ensure_ascii=False))
    else:
        print(card.plain())
    return 0


def cmd_shell(config: Config, args: argparse.Namespace) -> int:
    from bot import console
    from bot.posting import ConsolePoster
    from bot.serve import make_scheduler

    stores = _stores(config)
    clock = _clock(config, args)
    screen = console.Screen(sys.stdout)  # posts and log lines go above the prompt, never into it
    screen.take_over_logs()
    scheduler = make_scheduler(config, stores, clock, ConsolePoster(screen.lines(sys.stdout)))
    scheduler.start()
    try:
        return console.run(
            lambda: config.ask(
                stores.get(),
                clock(),
                "",
                via="console",
                user=console.CONSOLE_USER,
                channel=console.CONSOLE_CHANNEL,
                can_edit=lambda: True,  # the operator
                on_change=scheduler.notify,
            ),
            screen=screen,
        )
    finally:
        scheduler.stop()


def cmd_schedule(config: Config, args: argparse.Namespace) -> int:
    from datetime import UTC, timedelta

    from store.desk import Desk
    from store.schedule import plan

    if not 0 < args.days <= 3660:
        print("apec-bot: --days takes a whole number of days from 1 to 3660", file=sys.stderr)
        return 2
    now = _clock(config, args)()
    store = _stores(config).get()
    desk = Desk(store.db)
    known = desk.known_keys()
    pauses = desk.pauses()
    short = {m.id: m.short for m in store.meetings()}
    end = now + timedelta(days=args.days)
    planned = plan(
        store, desk, now, end, config.tz, config.reminder_channel, desk_channel=config.desk_channel
    )
    if all(post.key in known for post in planned):
        print(
            f"apec-bot: {_nothing_planned(config, store, desk, end, args.days, len(planned))}",
            file=sys.stderr,
        )
    for post in planned:
        if post.key in known:
            continue
        local = post.local
        extra = [f"local={local:%Y-%m-%d %H:%M} {post.tz}"]
        if post.offset:
            extra.append(f"offset={post.offset}")
        pause = pauses.get(post.channel)
        if pause and (pause.until is None or post.due < pause.until):
            extra.append("paused")
        extra.append(f"key={post.key}")
        when = post.due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        name = short.get(post.meeting_id, "-").replace(" ", "-")  # one column, whatever the name
        print(f"{when} {post.channel} {post.kind} {name} {' '.join(extra)}")
    return 0


def _nothing_planned(
    config: Config, store: Store, desk: Desk, end: datetime, days: int, made: int
) -> str:
    """Why `schedule` lists nothing, from the data: all made already, nothing asked for, or no
    dated meeting in the window."""
    if made:
        posts = "1 post planned was" if made == 1 else f"{made} posts planned were"
        return (
            f"nothing left to post in the next {days} days: "
            f"the {posts} already made (sent or skipped)"
        )
    subs = len(desk.subscriptions())
    reminders = len(desk.one_offs()) + len(desk.recurring(include_paused=False))
    asked = [_count(subs, "subscription"), _count(reminders, "reminder")]
    asked += ["APEC_REMINDER_CHANNEL"] if config.reminder_channel else []
    asked = [a for a in asked if a]
    if not asked:
        return (
            "nothing is planned: no channel is subscribed and APEC_REMINDER_CHANNEL is not set "
            "(`/apec subscribe` in a channel, or set APEC_REMINDER_CHANNEL)"
        )
    later = sorted(
        (m.span.start, m.short)
        for m in store.meetings()
        if m.dated
        and not m.parent_id
        and m.status != "cancelled"
        and m.span.start is not None
        and m.span.start >= end.date()
    )
    after = (
        f"the next is {later[0][1]} on {later[0][0]:%-d %B %Y}"
        if later
        else "none is on record after"
    )
    return (
        f"nothing is planned in the next {days} days: no dated meeting falls in them ({after}), "
        f"and nothing else is due for the {' and '.join(asked)}"
    )


def _count(n: int, what: str) -> str:
    return "" if not n else f"1 {what}" if n == 1 else f"{n} {what}s"


def cmd_ics(config: Config, args: argparse.Namespace) -> int:
    from handlers.calendar import calendar

    now = _clock(config, args)()
    sys.stdout.buffer.write(calendar(_stores(config).get(), now))
    sys.stdout.buffer.flush()
    return 0


def cmd_brief(config: Config, args: argparse.Namespace) -> int:
    from handlers.brief import Brief, request, to_markdown
    from handlers.router import UsageError

    if args.format == "docx" and not args.output:
        print("apec-bot: --format docx writes a file: add -o FILE", file=sys.stderr)
        return 2
    store = _stores(config).get()
    economy = args.economy or config.desk_economy
    text = " ".join(args.meeting)
    try:
        found = request(store, text, _clock(config, args)(), economy, config.tz)
    except UsageError as exc:
        print(f"apec-bot: {exc}", file=sys.stderr)
        return 2
    if not isinstance(found, Brief):  # no such meeting or economy: the bot's own answer
        print(found.plain())
        return 0
    if args.format == "docx":
        from handlers.brief_docx import timeline_picture, to_docx

        docx = to_docx(
            found,
            desk=config.desk_name,
            marking=config.brief_marking,
            paper=config.brief_paper,
            timeline=timeline_picture(store, found),
        )
        args.output.write_bytes(docx)
        print(f"wrote the brief for {found.meeting.short} to {args.output}", file=sys.stderr)
    elif args.output:
        args.output.write_text(to_markdown(found), encoding="utf-8")
        print(f"wrote the brief for {found.meeting.short} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(to_markdown(found))
    return 0


def cmd_timeline(config: Config, args: argparse.Namespace) -> int:
    from handlers.router import UsageError
    from handlers.timeline import summary, timeline_period, timeline_plot, timeline_png

    now = _clock(config, args)()
    try:
        period = timeline_period(" ".join(args.period), now)
    except UsageError as exc:
        print(f"apec-bot: {exc}", file=sys.stderr)
        return 2
    store = _stores(config).get()
    args.output.write_bytes(timeline_png(store, period.start, period.end, now.date()))
    said = summary(timeline_plot(store, period.start, period.end, now.date()))
    print(f"wrote {args.output}: {said}", file=sys.stderr)
    return 0


def cmd_serve(config: Config, args: argparse.Namespace) -> int:
    from bot.serve import serve, serve_workers

    workers = parse_workers(args.workers) if args.workers else config.workers
    if workers > 1:
        return serve_workers(config, _clock(config, args), args.host, args.port, workers)
    return serve(config, _clock(config, args), host=args.host, port=args.port)


def cmd_export(config: Config, args: argparse.Namespace) -> int:
    from store.edits import export_toml

    text = export_toml(_stores(config).get().db)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote the desk's changes to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_backup(config: Config, args: argparse.Namespace) -> int:
    from store.db import backup

    if not config.db_path.exists():
        print(f"apec-bot: no store at {config.db_path} to back up", file=sys.stderr)
        return 1
    pages = backup(config.db_path, args.path)
    print(f"backed up {config.db_path} to {args.path} ({pages} pages)")
    return 0


def cmd_proposals(config: Config, args: argparse.Namespace) -> int:
    from store.proposals import open_proposals

    found = open_proposals(_stores(config).get().db)
    for proposal in found:
        print(proposal.line())
    if not found:
        print("No open proposals.", file=sys.stderr)
    return 0


def cmd_decide(config: Config, args: argparse.Namespace, approve: bool) -> int:
    """Approve or ignore a proposal as the desk: audited as the command line ("cli")."""
    from store.proposals import ProposalError, decide

    now = _clock(config, args)()
    store = _stores(config).get()
    try:
        proposal = decide(store.db, config.seeds, args.number, approve, "cli", now)
    except ProposalError as exc:
        print(f"apec-bot: {exc}", file=sys.stderr)
        return 2 if exc.unknown else 1
    print(f"{'approved' if approve else 'ignored'} {proposal.line()}")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """`config --check`: exit 0 when `serve` would start, 1 when a variable set is invalid, 2 when
    Slack lacks a setting; each problem one line on stderr."""
    from bot.config import check

    found = check()
    print("\n".join(found.lines))
    for problem in found.problems:
        print(f"apec-bot: {problem}", file=sys.stderr)
    return found.status


COMMANDS = {
    "proposals": cmd_proposals,
    "approve": lambda c, a: cmd_decide(c, a, approve=True),
    "ignore": lambda c, a: cmd_decide(c, a, approve=False),
    "watch": cmd_watch,
    "backup": cmd_backup,
    "brief": cmd_brief,
    "timeline": cmd_timeline,
    "export": cmd_export,
    "schedule": cmd_schedule,
    "ics": cmd_ics,
    "serve": cmd_serve,
    "shell": cmd_shell,
    "build": cmd_build,
    "ingest": cmd_ingest,
    "command": lambda c, a: _ask(c, a, mention=False),
    "mention": lambda c, a: _ask(c, a, mention=True),
}
