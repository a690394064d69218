"""The command registry is a leaf every handler registers into; the router names the modules.

What the README's "Where to change what" promises is tried here with toy examples: a command added
in a test is answered by `/apec`, help and mentions without any other file changing."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from handlers import registry
from handlers.registry import Ask, command
from handlers.render import Card, esc
from handlers.router import COMMAND_MODULES, REGISTRY, mention, route

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _imports(path: Path) -> set[str]:
    """The modules of this tree that one file imports (at any depth of the file)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def _graph(package: str) -> dict[str, set[str]]:
    files = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts): p
        for p in (ROOT / package).rglob("*.py")
        if "templates" not in p.parts
    }
    files = {name.removesuffix(".__init__"): p for name, p in files.items()}
    return {name: _imports(p) & set(files) - {name} for name, p in files.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the list of modules round it, or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


@pytest.mark.parametrize("package", ["handlers", "store", "bot"])
def test_no_package_imports_itself_round_a_circle(package):
    assert _cycle(_graph(package)) is None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_registry_imports_no_handler():
    handlers = {m for m in _imports(ROOT / "handlers" / "registry.py") if m.startswith("handlers")}
    assert handlers == {"handlers.render", "handlers.render.Card"}


def test_every_module_that_registers_a_command_is_named_in_the_router():
    registering = {c.handler.__module__ for c in REGISTRY.values()}
    assert registering == {m.__name__ for m in COMMAND_MODULES}


@pytest.fixture
def toy() -> Iterator[None]:
    """A toy command, registered as a new module's would be, and taken out again after."""
    before = dict(registry.REGISTRY), dict(registry._ALIASES)

    @command("toy", usage="toy [WORD]", example="toy hello", aliases=("plaything",), mention=True)
    def toy_command(ask: Ask) -> Card:
        """Say a word back, for the test of adding a command."""
        return Card().section(f"Toy says {esc(ask.args) or 'nothing'}.")

    yield
    registry.REGISTRY.clear()
    registry.REGISTRY.update(before[0])
    registry._ALIASES.clear()
    registry._ALIASES.update(before[1])


def test_a_command_added_in_one_place_is_answered_helped_and_mentioned(toy, store):
    ask = Ask(store=store, now=NOW, text="toy hello")
    assert route(ask).plain().startswith("Toy says hello.")
    assert route(Ask(store=store, now=NOW, text="plaything <!channel>")).payload()["text"] == (
        "Toy says &lt;!channel&gt;."
    )
    assert "Say a word back" in route(Ask(store=store, now=NOW, text="help")).plain()
    assert (
        mention(Ask(store=store, now=NOW, text="toy hi", via="mention"))
        .plain()
        .startswith("Toy says hi.")
    )


def test_a_word_registered_twice_raises_and_leaves_the_first(toy):
    first = REGISTRY["toy"]
    with pytest.raises(ValueError, match="'toy' is registered twice"):
        command("toy")(lambda ask: Card())
    with pytest.raises(ValueError, match="'plaything' is registered twice"):
        command("other", aliases=("plaything",))(lambda ask: Card())
    with pytest.raises(ValueError, match="'next-meeting' is registered twice"):
        command("next-meeting")(lambda ask: Card())
    assert REGISTRY["toy"] is first and "other" not in REGISTRY


def test_a_mention_runs_only_commands_flagged_for_mentions(store):
    flagged = sorted(c.name for c in REGISTRY.values() if c.mention)
    assert flagged == [
        "cancel",
        "help",
        "history",
        "ics",
        "pause",
        "remind",
        "reminders",
        "resume",
        "sources",
        "subscribe",
        "subscriptions",
        "unsubscribe",
    ]
    # "meetings" is a command, but a mention that starts with it is a question
    said = mention(Ask(store=store, now=NOW, text="meetings in Peru?", via="mention")).plain()
    assert "Usage" not in said
