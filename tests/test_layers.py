"""Data flows one way: a module imports only from its own layer or the ones below.

    0  errors, paths, gguf_meta                     (no project imports of note)
    1  catalog, engine, log                         the bottom: models, inference, the log
    2  chat, chat_events, tools, prefs*             a conversation and its signals
    3  learn, registry                              distill → train → evaluate → register
    4  serving, swap                                the current revision on a live engine
    5  daemon, cli, tui                             thin layers on top
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {
    "personal.errors": 0, "personal.paths": 0, "personal.gguf_meta": 0, "personal": 0,
    "personal.files": 0,
    "personal.catalog": 1, "personal.engine": 1, "personal.log": 1,
    "personal.chat": 2, "personal.chat_events": 2, "personal.tools": 2,
    "personal.prefs": 2, "personal.prefs_check": 2, "personal.prefs_extract": 2,
    "personal.prefs_wording": 2,
    "personal.learn": 3, "personal.registry": 3,
    "personal.serving": 4, "personal.swap": 4,
    "personal.daemon": 5, "personal.cli": 5, "tui": 5,
}  # fmt: skip


def layer(module: str) -> int | None:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return LAYERS[".".join(parts[:n])]
    return None


def modules():
    for path in [*ROOT.glob("personal/**/*.py"), *ROOT.glob("tui/**/*.py")]:
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(p for p in rel.parts if p != "__init__")
        yield name, path


def imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return [m for m in found if m.split(".")[0] in ("personal", "tui")]


def test_every_module_has_a_layer():
    assert [name for name, _ in modules() if layer(name) is None] == []


def test_imports_point_down():
    upward = []
    for name, path in modules():
        own = layer(name)
        for target in imports(path):
            if (layer(target) or 0) > own:
                upward.append(f"{name} (layer {own}) imports {target} (layer {layer(target)})")
    assert upward == []
