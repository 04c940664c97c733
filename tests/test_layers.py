"""Data flows one way: a package imports only from its own layer or the ones below.

    0  errors, paths, fileio, isolation, printable   no project imports of note
    1  models, engine, log                      the bottom: base models, inference, the log
    2  adapters, api                            revisions, manifests, formats, serving;
                                                the OpenAI-compatible request/response layer
    3  prefs, tools, chat                       a conversation and its signals
    4  learn                                    distill → train → judge → register
    5  sync, host                               what leaves the device, and who receives it
    6  daemon, cli, server, tui                 thin layers on top

Adapters sit below learning because learning writes revisions into them and a host reads
them without any of the learning code. The sync client and the host may import adapters,
api, engine, models, errors, fileio and paths — never (even indirectly) log, prefs, chat,
learn, tools or tui: the log never leaves the device, and that is checked here on the
import graph (the sync tests check it again on the bytes sent).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {
    "personal": 0, "personal.errors": 0, "personal.paths": 0, "personal.fileio": 0,
    "personal.isolation": 0, "personal.printable": 0,
    "personal.models": 1, "personal.engine": 1, "personal.log": 1,
    "personal.adapters": 2, "personal.api": 2,
    "personal.prefs": 3, "personal.tools": 3, "personal.chat": 3,
    "personal.learn": 4,
    "personal.sync": 5, "personal.host": 5,
    "personal.daemon": 6, "personal.cli": 6, "personal.server": 6, "tui": 6,
}  # fmt: skip
OFF_DEVICE = ("personal.sync", "personal.host")
PRIVATE = ("personal.log", "personal.prefs", "personal.chat", "personal.learn",
           "personal.tools", "tui")  # fmt: skip


def package(module: str) -> str | None:
    """The LAYERS key a module belongs to: its package, or itself at the top."""
    parts = module.split(".")
    for n in range(min(len(parts), 2), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return ".".join(parts[:n])
    return None


def layer(module: str) -> int | None:
    key = package(module)
    return None if key is None else LAYERS[key]


@cache
def modules() -> dict[str, Path]:
    found = {}
    for path in [*ROOT.glob("personal/**/*.py"), *ROOT.glob("tui/**/*.py")]:
        rel = path.relative_to(ROOT).with_suffix("")
        found[".".join(p for p in rel.parts if p != "__init__")] = path
    return found


@cache
def imports(module: str) -> tuple[str, ...]:
    """Project modules `module` imports anywhere in its file (function-level too)."""
    path = modules()[module]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            # `from personal.log import preferences` imports a module too
            found += [f"{node.module}.{a.name}" for a in node.names
                      if f"{node.module}.{a.name}" in modules()]  # fmt: skip
    return tuple(m for m in found if m.split(".")[0] in ("personal", "tui"))


def reachable(module: str) -> set[str]:
    """Every project module `module` imports, directly or through others (packages'
    __init__ modules included, as Python runs them)."""
    seen, todo = set(), [module]
    while todo:
        current = todo.pop()
        for target in imports(current):
            parts = target.split(".")
            chain = [".".join(parts[:n]) for n in range(1, len(parts) + 1)]
            for m in chain:
                if m in modules() and m not in seen:
                    seen.add(m)
                    todo.append(m)
    return seen


def test_every_module_has_a_layer():
    assert [name for name in modules() if layer(name) is None] == []


def test_imports_point_down():
    upward = []
    for name in modules():
        own = layer(name)
        for target in imports(name):
            if (layer(target) or 0) > own:
                upward.append(f"{name} (layer {own}) imports {target} (layer {layer(target)})")
    assert upward == []


def test_what_leaves_the_device_never_reaches_the_log():
    """The sync client and the host cannot read the log, preferences, chats, the learning
    loop or tools, not even through another module."""
    leaks = []
    for name in modules():
        if package(name) in OFF_DEVICE:
            for target in sorted(reachable(name)):
                if package(target) in PRIVATE:
                    leaks.append(f"{name} reaches {target}")
    assert leaks == []


def test_the_reachability_check_can_fail():
    """The property above is not vacuous: the learning loop does reach the log."""
    assert any(package(m) == "personal.log" for m in reachable("personal.learn.pipeline"))
    assert "personal.log.store" in reachable("personal.chat.session")
