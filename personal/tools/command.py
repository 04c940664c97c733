"""Command tools: a user tool from tools.toml runs a program, never a shell.

Each `{arg}` in the argv template is substituted inside its own argv element, so a value
with spaces, quotes or `; rm -rf ~` stays one harmless argument.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Callable

from personal.errors import ToolError, ToolTimeout

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_OUTPUT = 16_000  # characters of stdout kept


def placeholders(template: list[str]) -> set[str]:
    return {m.group(1) for part in template for m in PLACEHOLDER.finditer(part) if m.group(1)}


def build_argv(template: list[str], args: dict) -> list[str]:
    """The argv for these arguments. An element naming an argument that was not given
    (optional, no default) is left out: write `--days={days}` to drop flag and value."""
    argv = []
    for part in template:
        names = {m.group(1) for m in PLACEHOLDER.finditer(part) if m.group(1)}
        if any(args.get(name) is None for name in names):
            continue
        argv.append(PLACEHOLDER.sub(lambda m: _text(m, args), part))
    return argv


def _text(match: re.Match, args: dict) -> str:
    token = match.group(0)
    if token in ("{{", "}}"):
        return token[0]
    value = args[match.group(1)]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def command_runner(
    name: str, template: list[str], timeout: float, config: str
) -> Callable[[dict], str]:
    """The `run` of a command tool."""

    def run(args: dict) -> str:
        argv = build_argv(template, args)
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=os.name == "posix",  # its own group: killed with children
            )
        except FileNotFoundError:
            raise ToolError(
                f"tool '{name}': command not found: {argv[0]}",
                hint=f"install it, or fix the tool's `command` in {config}",
            ) from None
        except OSError as e:
            raise ToolError(f"tool '{name}': cannot run {argv[0]}: {e.strerror or e}") from None
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            proc.communicate()
            raise ToolTimeout(name, timeout) from None
        stdout = out.decode("utf-8", errors="replace").strip()
        if proc.returncode != 0:
            lines = (
                err.decode("utf-8", errors="replace").strip().splitlines() or stdout.splitlines()
            )
            last = lines[-1].strip() if lines else "no error message"
            raise ToolError(f"tool '{name}' failed (exit status {proc.returncode}): {last}")
        if len(stdout) > MAX_OUTPUT:
            stdout = stdout[:MAX_OUTPUT] + f"\n[... output cut at {MAX_OUTPUT} characters]"
        return stdout or "(the command printed nothing)"

    return run


def _kill(proc: subprocess.Popen) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass  # it already ended
