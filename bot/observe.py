"""Logs and metrics: one line per request and per post, JSON for log shippers, Prometheus counters.

Secrets never reach a log line: a filter masks the configured tokens and anything shaped like a
Slack token, whatever logged it (our code, Bolt, slack-sdk or waitress).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_TOKEN_SHAPE = re.compile(r"\b(xox[abpres]|xapp)-[A-Za-z0-9-]+")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _may_hold_token(text: str) -> bool:
    return "xox" in text or "xapp" in text


class Redact(logging.Filter):
    """Mask the configured secrets and anything shaped like a Slack token."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        # Plain substring tests first: most lines hold nothing to mask, and cost no regex.
        clean = _TOKEN_SHAPE.sub(r"\1-[redacted]", message) if _may_hold_token(message) else message
        for secret in self.secrets:
            if secret in clean:
                clean = clean.replace(secret, "[redacted]")
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            for secret in self.secrets:
                text = text.replace(secret, "[redacted]")
            record.exc_text = _TOKEN_SHAPE.sub(r"\1-[redacted]", text)
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update(
            {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        )
        if record.exc_text:
            out["error"] = record.exc_text
        elif record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def setup_logging(level: int, fmt: str, secrets: Iterable[str]) -> None:
    """Configure the root logger once: text or JSON to stderr, secrets masked on every handler."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(Redact(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


# Where a listener says a request's outcome when the HTTP status cannot (a refusal is answered
# 200, as Slack asks): a key of Bolt's request context, copied into the WSGI environ after dispatch.
OUTCOME = "apec.outcome"
REFUSED = "refused"  # answered, but the asker may not do what they asked (a change by a non-admin)


def outcome_of(status: int, said: str | None = None) -> str:
    """A request's outcome label: ok, refused, rejected (a 4xx) or error (a 5xx)."""
    if status >= 500:
        return "error"
    if status >= 400:
        return "rejected"
    return said or "ok"


class Metrics:
    """The service's Prometheus metrics.

    With `shared_dir` (PROMETHEUS_MULTIPROC_DIR, which `serve --workers N` sets for its workers),
    each worker writes its values to files there and `render()` adds up every worker's: /metrics
    says the same whichever worker answers it.
    """

    def __init__(self, shared_dir: str = "") -> None:
        self.shared_dir = shared_dir
        if shared_dir:  # a forked worker: its values go to files there, whenever the library loaded
            from prometheus_client import values

            values.ValueClass = values.MultiProcessValue()
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "apec_requests_total",
            "Requests from Slack, by command and outcome",
            ["kind", "command", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "apec_request_seconds",
            "Time to answer a request from Slack",
            ["kind"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.posts = Counter(
            "apec_posts_total",
            "Scheduled posts, by kind and outcome",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.last_tick = Gauge(
            "apec_scheduler_last_tick_timestamp_seconds",
            "When a scheduler last ticked (Unix time): alert on time() minus this",
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self.leader = Gauge(
            "apec_scheduler_posting",
            "Processes holding the scheduler lease: 1 when all is well",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.workers = Gauge(
            "apec_workers",
            "Worker processes serving",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.workers.set(1)

    def render(self) -> bytes:
        """The text exposition format: this process's values, or every worker's added up."""
        if not self.shared_dir:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.shared_dir)
        return generate_latest(registry)
