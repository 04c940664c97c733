"""Command tools: a user tool from tools.toml runs a program, never a shell.

Each `{arg}` in the argv template is substituted inside its own argv element, so a value
with spaces, quotes or `; rm -rf ~` stays one harmless argument. A value cannot become an
option either: an element that would start with "-" because of a value is refused, unless
the template ends the options with "--" before it (`git log` was made to write a file
with `--output=...`).

The command runs in its own process group. Its output is read with a cap (a flooding
command is stopped, not buffered until memory runs out), and when it ends, times out or
floods, the whole group is killed: a grandchild that keeps the pipe open cannot hang the
call, and no process of a tool outlives its call.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import time
from collections.abc import Callable

from personal.errors import ToolArgumentError, ToolError, ToolTimeout

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_OUTPUT = 16_000  # characters of stdout kept
MAX_CAPTURE = 1 << 20  # bytes of stdout read before a flooding command is stopped
MAX_STDERR = 8_192  # bytes of stderr kept (the end: where the error is)
GRACE = 0.5  # seconds to wait for the pipes to close after the command exits


def placeholders(template: list[str]) -> set[str]:
    return {m.group(1) for part in template for m in PLACEHOLDER.finditer(part) if m.group(1)}


def build_argv(template: list[str], args: dict, tool: str = "command") -> list[str]:
    """The argv for these arguments. An element naming an argument that was not given
    (optional, no default) is left out: write `--days={days}` to drop flag and value.
    Raises ToolArgumentError when a value would become an option or holds a NUL."""
    argv, problems = [], []
    options_ended = False
    for part in template:
        names = [m.group(1) for m in PLACEHOLDER.finditer(part) if m.group(1)]
        if any(args.get(name) is None for name in names):
            continue
        text = PLACEHOLDER.sub(lambda m: _text(m, args), part)
        lead = PLACEHOLDER.match(part)
        if text.startswith("-") and not options_ended and lead and lead.group(1):
            problems.append(f"{lead.group(1)}: {args[lead.group(1)]!r} starts with '-' and "
                            f"would be read as an option of {template[0]}")  # fmt: skip
        problems += [f"{name}: contains a NUL character" for name in names if "\0" in text]
        options_ended = options_ended or (part == "--" and argv != [])
        argv.append(text)
    if problems:
        dash = any("starts with '-'" in p for p in problems)
        raise ToolArgumentError(tool, problems, hint="give a value that does not start with "
                                "'-' (if the command takes '--' to end its options, put it "
                                "before the argument in tools.toml)" if dash else None)  # fmt: skip
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
        argv = build_argv(template, args, name)
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
        out, err, ending = _collect(proc, timeout)
        if ending == "timeout":
            raise ToolTimeout(name, timeout)
        stdout = out.decode("utf-8", errors="replace").strip()
        if ending == "flood":
            return _cut(stdout, f"[... the command printed more than {MAX_CAPTURE:,} bytes "
                        "and was stopped]")  # fmt: skip
        if proc.returncode != 0:
            lines = (
                err.decode("utf-8", errors="replace").strip().splitlines() or stdout.splitlines()
            )
            last = lines[-1].strip() if lines else "no error message"
            raise ToolError(f"tool '{name}' failed (exit status {proc.returncode}): {last}")
        if len(stdout) > MAX_OUTPUT:
            return _cut(stdout, f"[... output cut at {MAX_OUTPUT:,} characters]")
        return stdout or "(the command printed nothing)"

    return run


def _cut(text: str, note: str) -> str:
    """`text` cut so that it and the note fit in MAX_OUTPUT characters."""
    return text[: MAX_OUTPUT - len(note) - 1] + "\n" + note


def _collect(proc: subprocess.Popen, timeout: float) -> tuple[bytes, bytes, str]:
    """(stdout, stderr, how it ended: "exit" | "timeout" | "flood"), reading both pipes
    with caps; the process group is killed before returning, however it ended."""
    assert proc.stdout is not None and proc.stderr is not None
    out, err = bytearray(), bytearray()
    deadline = time.monotonic() + timeout
    ending, exited = "exit", None
    with selectors.DefaultSelector() as sel:
        for pipe in (proc.stdout, proc.stderr):
            sel.register(pipe, selectors.EVENT_READ)
        while sel.get_map():
            now = time.monotonic()
            if exited is None and proc.poll() is not None:
                exited = now
            if exited is not None and now - exited > GRACE:
                break  # the command is done; something it started holds the pipe open
            if now >= deadline:
                ending = "timeout"
                break
            for key, _ in sel.select(min(0.1, deadline - now)):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                elif key.fileobj is proc.stdout:
                    out += chunk[: MAX_CAPTURE - len(out)]
                    if len(out) >= MAX_CAPTURE:
                        ending = "flood"
                else:
                    err += chunk
                    del err[:-MAX_STDERR]
            if ending == "flood":
                break
    if ending == "exit" and exited is None:  # both pipes closed: let it finish exiting
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            ending = "timeout"
    _kill(proc)
    for pipe in (proc.stdout, proc.stderr):
        pipe.close()
    proc.wait()
    return bytes(out), bytes(err), ending


def _kill(proc: subprocess.Popen) -> None:
    """End the command's whole process group (it has its own session)."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        elif proc.poll() is None:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass  # it already ended
