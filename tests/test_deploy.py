"""The deployment files in deploy/: the Dockerfile (replayed, since Docker cannot run here),
compose, the systemd unit, the environment example and .dockerignore.

Docker is not available on the machines that run this suite, so the Dockerfile is not built. It is
*replayed* instead: its COPY lines copy from the repository (minus .dockerignore) into a scratch
root, its RUN lines run there with a fresh virtual environment's pip, and its ENTRYPOINT + CMD and
HEALTHCHECK are started with its ENV. A Dockerfile that drifts from what installs and starts fails
here. The replay installs the package from the package registry into a new virtual environment:
it takes a while (tens of seconds), once per session of this module.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest
import yaml

from tests.conftest import BOT_TOKEN, SIGNING_SECRET

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
INTERFACE = ROOT.parent / "shared" / "INTERFACE.md"
ENV_VARS = [  # INTERFACE.md's environment table, for when the shared file is not next to the repo
    "APEC_DB",
    "APEC_NOW",
    "APEC_TZ",
    "APEC_ADMINS",
    "APEC_REMINDER_CHANNEL",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
]
REAL_LOOKING_TOKEN = re.compile(r"xox[baprs]-[0-9]|xapp-[0-9]")


# -- reading a Dockerfile --------------------------------------------------------------------------


@dataclass
class Dockerfile:
    """The instructions of a Dockerfile, in order, as (KEYWORD, arguments)."""

    steps: list[tuple[str, str]]
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> Dockerfile:
        steps: list[tuple[str, str]] = []
        pending = ""
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if line.startswith("#") or (not line and not pending):
                continue  # comments may also sit inside a continued instruction
            if line.endswith("\\"):
                pending += line[:-1].strip() + " "
                continue
            pending += line
            keyword, _, args = pending.partition(" ")
            steps.append((keyword.upper(), args.strip()))
            pending = ""
        assert not pending, "the Dockerfile ends inside a continued line"
        parsed = cls(steps)
        for args in parsed.all("ENV"):
            parsed.env.update(_env_pairs(args))
        return parsed

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.steps if kw == keyword]

    def one(self, keyword: str) -> str:
        found = self.all(keyword)
        assert found, f"no {keyword} in the Dockerfile"
        return found[-1]  # the last one counts

    def exec_form(self, keyword: str) -> list[str]:
        args = self.one(keyword)
        assert args.startswith("["), f"{keyword} must use the exec (JSON) form: {args}"
        return json.loads(args)

    def healthcheck(self) -> tuple[dict[str, str], list[str]]:
        """The HEALTHCHECK's options and its command (exec form)."""
        options, _, command = self.one("HEALTHCHECK").partition("CMD")
        opts = dict(o.lstrip("-").split("=", 1) for o in options.split())
        command = command.strip()
        assert command.startswith("["), f"HEALTHCHECK CMD must use the exec form: {command}"
        return opts, json.loads(command)

    def workdir(self) -> str:
        return self.one("WORKDIR")


def _env_pairs(args: str) -> dict[str, str]:
    words = shlex.split(args)
    if all("=" in w for w in words):
        return dict(w.split("=", 1) for w in words)
    return {words[0]: " ".join(words[1:])}  # the legacy `ENV KEY value` form


def _dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [s.strip() for s in lines if s.strip() and not s.strip().startswith("#")]


def ignored(relative: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps `relative` (a path in the build context) out (last match
    wins)."""
    verdict = False
    parts = PurePosixPath(relative).parts
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern.lstrip("!").strip("/")
        if pat.startswith("**/"):  # at any depth: any run of the path's parts
            runs = [
                "/".join(parts[i:j])
                for i in range(len(parts))
                for j in range(i + 1, len(parts) + 1)
            ]
            hit = any(fnmatch.fnmatchcase(run, pat[3:]) for run in runs)
        else:  # from the context's root: the path or one of its parents, `*` within one part
            prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
            hit = any(
                fnmatch.fnmatchcase(c, pat) and c.count("/") == pat.count("/") for c in prefixes
            )
        if hit:
            verdict = not negate
    return verdict


DOCKERFILE = Dockerfile.read(DEPLOY / "Dockerfile")


# -- the Dockerfile as written ---------------------------------------------------------------------


def test_dockerfile_is_a_slim_python_image_run_by_a_non_root_user():
    found = re.fullmatch(r"python:3\.(\d+)-slim(-\w+)?", DOCKERFILE.one("FROM"))
    assert found and int(found.group(1)) >= 11, DOCKERFILE.one("FROM")
    assert DOCKERFILE.env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert DOCKERFILE.env["PYTHONUNBUFFERED"] == "1"

    # Numeric, so Kubernetes' runAsNonRoot (and anyone reading `docker inspect`) can tell it is
    # not root without the image's /etc/passwd.
    user = DOCKERFILE.one("USER")
    assert re.fullmatch(r"\d+(:\d+)?", user), f"USER must be numeric (uid:gid): {user}"
    assert all(int(part) != 0 for part in user.split(":"))
    useradd = [cmd for cmd in _run_commands() if cmd[0] == "useradd"]
    assert useradd, "the image creates the user it runs as"
    uid = useradd[0][useradd[0].index("--uid") + 1]
    assert uid == "10001" and user.split(":")[0] == uid, "USER must be the user the image creates"
    # Every RUN comes before the switch to the non-root user: nothing after it needs root.
    kinds = [kw for kw, _ in DOCKERFILE.steps]
    assert kinds.index("USER") > max(i for i, kw in enumerate(kinds) if kw == "RUN")


def test_dockerfile_keeps_the_store_on_a_volume_owned_by_the_bot():
    (volume,) = json.loads(v) if (v := DOCKERFILE.one("VOLUME")).startswith("[") else v.split()
    assert PurePosixPath(DOCKERFILE.env["APEC_DB"]).parent == PurePosixPath(volume)
    commands = _run_commands()
    assert ["mkdir", "-p", volume] in commands
    (useradd,) = [cmd for cmd in commands if cmd[0] == "useradd"]
    owners = {useradd[-1], useradd[useradd.index("--uid") + 1]}  # the user by name or number
    assert any(
        c[0] == "chown" and c[-1] == volume and c[1].split(":")[0] in owners for c in commands
    )
    # The package does not carry seeds/: an installed copy reads them from the source tree.
    assert (
        PurePosixPath(DOCKERFILE.env["APEC_SEEDS"]) == PurePosixPath(DOCKERFILE.workdir()) / "seeds"
    )


def test_dockerfile_serves_on_port_3000_with_a_healthcheck_on_healthz():
    assert DOCKERFILE.one("EXPOSE").split() == ["3000"]
    entrypoint, cmd = DOCKERFILE.exec_form("ENTRYPOINT"), DOCKERFILE.exec_form("CMD")
    assert entrypoint == ["apec-bot"]  # exec form: the bot is PID 1 and gets docker stop's SIGTERM
    assert cmd[0] == "serve" and cmd[cmd.index("--port") + 1] == "3000"
    options, command = DOCKERFILE.healthcheck()
    assert {"interval", "timeout", "start-period", "retries"} <= set(options)
    assert command[0] == "python" and "'http://127.0.0.1:3000/healthz'" in command[-1]


# -- the Dockerfile replayed -----------------------------------------------------------------------


def _run_commands() -> list[list[str]]:
    """Every command of every RUN line (split at `&&`)."""
    return [command for args in DOCKERFILE.all("RUN") for command in _run_commands_of(args)]


@dataclass
class Image:
    """The Dockerfile replayed: a scratch root holding the COPYed files, and a venv for
    /usr/local."""

    root: Path
    venv: Path

    def host(self, path: str) -> Path:
        """Where a path inside the image lives in the replay."""
        return self.root / path.lstrip("/")

    @property
    def workdir(self) -> Path:
        return self.host(DOCKERFILE.workdir())

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def env(self, volume: Path, **extra: str) -> dict[str, str]:
        """The container's environment: the Dockerfile's ENV with paths mapped, the volume at
        `volume`."""
        (mount,) = DOCKERFILE.one("VOLUME").split()
        env = {
            "PATH": f"{self.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "HOME": "/nonexistent",  # the image's user has no home
            "LANG": "C.UTF-8",
        }
        for key, value in DOCKERFILE.env.items():
            if value.startswith(mount + "/"):
                value = str(volume / value[len(mount) + 1 :])
            elif value.startswith("/"):
                value = str(self.host(value))
            env[key] = value
        return {**env, **extra}

    def command(self, argv: list[str]) -> list[str]:
        """An exec-form command of the image, run from the replay's venv and root."""
        first, *rest = argv
        if (self.venv / "bin" / first).exists():  # python, apec-bot: on the image's PATH
            first = self.bin(first)
        return [
            first,
            *(str(self.host(a)) if a.startswith(DOCKERFILE.workdir() + "/") else a for a in rest),
        ]


def _copy(image: Image, sources: list[str], dest: str, patterns: list[str]) -> None:
    target = dest if dest.startswith("/") else f"{DOCKERFILE.workdir()}/{dest}"
    into = image.host(target)
    for source in sources:
        src = ROOT / source
        assert src.exists(), f"COPY {source}: not in the repository"
        assert not ignored(source.rstrip("/"), patterns), f".dockerignore keeps out {source}"
        if src.is_dir():
            for path in src.rglob("*"):
                rel = path.relative_to(ROOT).as_posix()
                if path.is_file() and not ignored(rel, patterns):
                    out = into / path.relative_to(src)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, out)
        else:
            out = into / src.name if dest.endswith("/") or len(sources) > 1 else into
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, out)


def _replay_run(image: Image, command: list[str], cwd: Path) -> None:
    name = command[0]
    if name in {"useradd", "groupadd", "chown"}:
        return  # users and owners: the replay runs as whoever runs the tests
    if name == "mkdir":
        for path in (a for a in command[1:] if not a.startswith("-")):
            image.host(path).mkdir(parents=True, exist_ok=True)
        return
    if name == "rm":
        for path in (a for a in command[1:] if not a.startswith("-")):
            target = (cwd / path).resolve()
            assert image.root in target.parents, f"rm outside the image: {path}"
            shutil.rmtree(target, ignore_errors=True)
        return
    if command[:2] == ["pip", "install"] or command[:4] == ["python", "-m", "pip", "install"]:
        args = command[command.index("install") + 1 :]
        env = {**os.environ, **DOCKERFILE.env}
        result = subprocess.run(
            [image.bin("python"), "-m", "pip", "install", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, (
            f"{shlex.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
        return
    pytest.fail(f"the replay cannot run `{shlex.join(command)}`: add it to tests/test_deploy.py")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory):
    """The image, replayed once for this module: COPY, then RUN in order, into a fresh venv."""
    base = tmp_path_factory.mktemp("image")
    image = Image(root=base / "root", venv=base / "venv")
    subprocess.run([sys.executable, "-m", "venv", str(image.venv)], check=True, timeout=300)
    patterns = _dockerignore()
    cwd = image.root
    for keyword, args in DOCKERFILE.steps:
        if keyword == "WORKDIR":
            cwd = image.host(args)
            cwd.mkdir(parents=True, exist_ok=True)
        elif keyword == "COPY":
            words = [w for w in shlex.split(args) if not w.startswith("--")]
            _copy(image, words[:-1], words[-1], patterns)
        elif keyword == "RUN":
            for command in _run_commands_of(args):
                _replay_run(image, command, cwd)
    # The code is root's in the image: the bot must not need to write next to it.
    for path in [image.root, *image.root.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & ~0o222)
    yield image
    for path in [image.root, *image.root.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)


def _run_commands_of(args: str) -> list[list[str]]:
    """The commands of one RUN line, split at `&&` (the replay runs plain commands only)."""
    assert not args.startswith("["), "keep RUN lines in the shell form"
    commands: list[list[str]] = [[]]
    for word in shlex.split(args):
        if word == "&&":
            commands.append([])
        else:
            commands[-1].append(word)
    assert all(commands), f"an empty command in RUN {args}"
    return commands


def _healthcheck(image: Image, env: dict[str, str], port: int) -> subprocess.CompletedProcess:
    """Run the image's HEALTHCHECK command as Docker would, against `port`."""
    _, command = DOCKERFILE.healthcheck()
    command = [c.replace(":3000/", f":{port}/") for c in image.command(command)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)


MODES = {
    "http": {"SLACK_SIGNING_SECRET": SIGNING_SECRET},
    "socket": {
        "SLACK_APP_TOKEN": "xapp-1-test"
    },  # the stand-in's websocket URL refuses: it retries
}


@pytest.mark.parametrize("mode", MODES)
def test_the_dockerfile_installs_starts_answers_its_healthcheck_and_stops(
    image, web_api, tmp_path, mode
):
    volume = tmp_path / "volume"
    volume.mkdir()
    env = image.env(volume, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=web_api.url, **MODES[mode])
    argv = image.command(DOCKERFILE.exec_form("ENTRYPOINT") + DOCKERFILE.exec_form("CMD"))
    argv[argv.index("--port") + 1] = "0"  # a free port, on loopback only
    proc = subprocess.Popen(
        [*argv, "--host", "127.0.0.1"],
        cwd=image.workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    said: list[str] = []
    started = threading.Event()

    def read() -> None:  # drain stderr all along: a full pipe would stall the bot
        for line in proc.stderr:
            said.append(line)
            if re.search(r"serving HTTP on http://127\.0\.0\.1:\d+", line):
                started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert started.wait(60), f"the image's CMD did not start:\n{''.join(said)}"
        port = int(re.search(r"serving HTTP on http://127\.0\.0\.1:(\d+)", "".join(said))[1])
        # Docker runs the HEALTHCHECK until it passes within the start period; so does this.
        deadline = time.monotonic() + 30
        while (check := _healthcheck(image, env, port)).returncode and time.monotonic() < deadline:
            time.sleep(0.5)
        assert check.returncode == 0, check.stdout + check.stderr
        status, body = check.stdout.split(" ", 1)
        assert status == "200" and json.loads(body)["mode"] == mode
        if mode == "socket":
            (call, *_) = web_api.wait_for("apps.connections.open", timeout=30)
            assert call.token == "xapp-1-test"
    finally:
        proc.send_signal(signal.SIGTERM)
        exit_status = proc.wait(timeout=30)
        reader.join(timeout=10)
    assert exit_status == 0, "".join(said)
    assert (volume / "apec.db").exists(), "the store belongs on the volume"
    assert not [secret for secret in (BOT_TOKEN, SIGNING_SECRET) if secret in "".join(said)]
    assert _healthcheck(image, env, port).returncode == 1  # stopped: unhealthy


def test_the_installed_image_answers_on_the_command_line(image, web_api, tmp_path):
    env = image.env(tmp_path, SLACK_API_URL=web_api.url)
    result = subprocess.run(
        [image.bin("apec-bot"), "command", "next-meeting", "--now", "2026-01-20T09:00+09:00"],
        cwd=image.workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "SOM1" in result.stdout


# -- compose, systemd, the environment, .dockerignore ----------------------------------------------


def test_compose_builds_the_dockerfile_with_the_volume_env_file_and_healthcheck():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    service = compose["services"]["apec-bot"]
    build = service["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    (volume,) = DOCKERFILE.one("VOLUME").split()
    assert f"apec-data:{volume}" in service["volumes"] and "apec-data" in compose["volumes"]
    assert (
        service.get("environment", {}).get("APEC_DB", DOCKERFILE.env["APEC_DB"]).startswith(volume)
    )
    env_files = (
        service["env_file"] if isinstance(service["env_file"], list) else [service["env_file"]]
    )
    assert env_files
    patterns = _dockerignore()
    gitignore = (DEPLOY / ".gitignore").read_text().split()
    for name in env_files:
        name = name["path"] if isinstance(name, dict) else name
        # The filled-in file holds tokens: neither committed nor sent to the Docker daemon.
        assert ignored(f"deploy/{name}", patterns)
        assert any(fnmatch.fnmatchcase(name, p) for p in gitignore if not p.startswith("!"))
    # Published on the host's loopback only: nginx (or another proxy on the host) faces the world.
    assert [str(p) for p in service["ports"]] == ["127.0.0.1:3000:3000"]
    assert service["restart"] == "unless-stopped"
    health = service["healthcheck"]
    assert health["test"][0] == "CMD" and health["test"][1:] == DOCKERFILE.healthcheck()[1]


def _unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file: section -> key -> every value given (keys like Environment= repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        assert current is not None, f"a setting before any section: {line}"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_systemd_unit_runs_the_venv_as_a_dedicated_user_with_a_state_directory():
    unit = _unit(DEPLOY / "apec-bot.service")
    assert {"Unit", "Service", "Install"} <= set(unit)
    service = {k: v[-1] for k, v in unit["Service"].items()}
    assert service["User"] not in {"root", "0"}
    assert service["EnvironmentFile"].lstrip("-") == "/etc/apec-bot/apec-bot.env"
    assert service["ExecStart"] == "/opt/apec-bot/.venv/bin/apec-bot serve --port 3000"
    assert service["WorkingDirectory"] == "/opt/apec-bot"
    assert service["StateDirectory"] == "apec-bot"
    environment = dict(e.split("=", 1) for e in unit["Service"]["Environment"])
    assert environment["APEC_DB"] == "/var/lib/apec-bot/apec.db"
    assert environment["APEC_SEEDS"] == "/opt/apec-bot/seeds"
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM" and service["TimeoutStopSec"] == "30"
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert "/var/lib/apec-bot" in service["ReadWritePaths"].split()
    assert service["PrivateTmp"] == "yes" and service["ProtectHome"] in {"yes", "read-only"}
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def _interface_variables() -> list[str]:
    if not INTERFACE.exists():
        return ENV_VARS
    text = INTERFACE.read_text().split("## Environment", 1)[1].split("\n## ", 1)[0]
    names = re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", text, re.M)
    assert set(ENV_VARS) <= set(names), "INTERFACE.md's environment table lost a variable"
    return names


def _example() -> tuple[str, dict[str, str]]:
    text = (DEPLOY / ".env.example").read_text()
    values = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", key), f"not VAR=value: {line}"
            assert not value.startswith(("'", '"')), (
                f"no quotes (systemd and docker differ): {line}"
            )
            values[key] = value
    return text, values


def test_env_example_names_every_variable_with_a_comment_and_no_real_token():
    text, values = _example()
    lines = text.splitlines()
    for name in [*_interface_variables(), "APEC_SEEDS"]:
        at = [i for i, line in enumerate(lines) if re.match(rf"#?{name}=", line)]
        assert at, f"{name} is not in deploy/.env.example"
        assert lines[at[0] - 1].startswith("#"), f"{name} has no comment above it"
    assert "APEC_NOW" not in values, "APEC_NOW is for demos and tests: leave it commented out"
    assert not REAL_LOOKING_TOKEN.search(text)


def test_env_example_copied_unfilled_refuses_to_serve_and_names_the_tokens(image, tmp_path):
    _, values = _example()
    result = subprocess.run(
        image.command(DOCKERFILE.exec_form("ENTRYPOINT") + DOCKERFILE.exec_form("CMD")),
        cwd=image.workdir,
        env=image.env(tmp_path, **values),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "missing SLACK_BOT_TOKEN" in result.stderr and result.stderr.count("\n") == 1


def test_dockerignore_keeps_out_local_state_but_not_what_the_image_copies():
    patterns = _dockerignore()
    for path in [
        ".venv/bin/python",
        "apec.db",
        "apec.db-wal",
        ".git/HEAD",
        "bench/corpus/a.txt",
        "store/__pycache__/db.cpython-311.pyc",
        ".pytest_cache/x",
        ".hypothesis/x",
        "deploy/apec-bot.env",
    ]:
        assert ignored(path, patterns), path
    for args in DOCKERFILE.all("COPY"):
        for source in [w for w in shlex.split(args) if not w.startswith("--")][:-1]:
            assert not ignored(source.rstrip("/"), patterns), source
    for path in ["bot/cli.py", "seeds/desk.toml", "store/db.py", "README.md", "pyproject.toml"]:
        assert not ignored(path, patterns), path


HARDENING = {  # systemd.exec(5): each key the unit must set, and to what
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",  # no capability at all: it binds 3000, not a port below 1024
    "AmbientCapabilities": "",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "PrivateUsers": "yes",
    "ProtectClock": "yes",
    "ProtectHostname": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "ProtectProc": "invisible",
    "ProcSubset": "pid",
    "RestrictSUIDSGID": "yes",
    "RestrictNamespaces": "yes",
    "RestrictRealtime": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallArchitectures": "native",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "UMask": "0077",
}


def test_systemd_unit_is_hardened_key_by_key():
    service = {k: v[-1] for k, v in _unit(DEPLOY / "apec-bot.service")["Service"].items()}
    for key, value in HARDENING.items():
        assert service.get(key) == value, f"{key}={service.get(key)!r}, want {value!r}"
    filters = _unit(DEPLOY / "apec-bot.service")["Service"]["SystemCallFilter"]
    assert "@system-service" in filters
    assert any(f.startswith("~") and "@privileged" in f for f in filters)
    assert "/var/lib/apec-bot" in service["ReadWritePaths"].split()


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_analyze_rates_the_unit_2_5_or_better(tmp_path):
    # --offline reads the file alone; a copy under its own name keeps it from the system's units.
    unit = tmp_path / "apec-bot.service"
    unit.write_text((DEPLOY / "apec-bot.service").read_text())
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for apec-bot\.service: ([\d.]+)", result.stdout)
    assert found, result.stdout[-500:] + result.stderr
    assert float(found.group(1)) <= 2.5, result.stdout


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_unit_s_keys(tmp_path):
    unit = tmp_path / "apec-bot.service"
    unit.write_text((DEPLOY / "apec-bot.service").read_text())
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # The unit names paths of the target host (/opt/apec-bot): only unknown keys count here.
    assert "Unknown key" not in result.stderr and "Unknown section" not in result.stderr, (
        result.stderr
    )


def test_deploy_readme_has_a_section_per_target_with_how_to_check_it_is_up():
    text = (DEPLOY / "README.md").read_text()
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    titles = [s.splitlines()[0].lower() for s in sections]
    for target in ("docker", "systemd", "nginx", "slack"):
        (section,) = [s for s, t in zip(sections, titles, strict=True) if target in t]
        if target != "slack":
            assert "healthz" in section, f"the {target} section does not say how to check it is up"
    for name in (
        "compose.yaml",
        "Dockerfile",
        "apec-bot.service",
        "nginx-apec-bot.conf",
        "manifest.yml",
        "manifest-http.yml",
    ):
        assert name in text and (DEPLOY / name).exists(), name
