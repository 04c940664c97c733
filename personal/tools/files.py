"""Read-only file tools: `search_files` and `read_file`, confined to the folders the
person allowed in tools.toml (`[files] allowed_folders = [...]`).

Every path is resolved (symlinks and `..` included) before it is checked, so a link inside
an allowed folder cannot lead outside it. One policy for hidden files, in both tools: a
file or folder whose name starts with "." below an allowed folder (.git, .env, .ssh) is
neither listed nor read, whether it is named or reached through a link. The walk and the
reads are bounded: a small model cannot use more, and a huge tree cannot stall a search.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from personal.errors import ToolError
from personal.tools.base import Tool, params

MAX_RESULTS = 20  # files listed by one search
MAX_LINES_PER_FILE = 3
MAX_FILES_SCANNED = 5_000
MAX_BYTES_PER_FILE = 256 * 1024
MAX_BYTES_TOTAL = 16 * 1024 * 1024
MAX_ENTRIES = 50_000  # files and folders looked at by one search, matching or not
MAX_SEARCH_SECONDS = 5.0  # under the tool's timeout: a search says where it stopped
READ_DEFAULT, READ_MAX = 20_000, 200_000


def hidden_below(path: Path, root: Path) -> bool:
    """Whether `path` is, or lies inside, a hidden file or folder below `root`."""
    return path.is_relative_to(root) and any(
        part.startswith(".") for part in path.relative_to(root).parts
    )


def shown(path: Path) -> str:
    """A path as the person would type it (~ for their home)."""
    home = Path.home()
    return "~/" + path.relative_to(home).as_posix() if path.is_relative_to(home) else str(path)


class Folders:
    """The allowed roots, resolved at each use (a folder may appear later, or move)."""

    def __init__(self, folders: list[Path], config_path: Path):
        self.folders = folders
        self.config_path = config_path

    def roots(self) -> list[Path]:
        if not self.folders:
            raise ToolError(
                "no folders are open to the file tools yet",
                hint=f'add them to {shown(self.config_path)}:  [files]  allowed_folders = ["~/notes"]',
            )
        return [Path(os.path.expanduser(f)).resolve() for f in self.folders]

    def locate(self, text: str) -> Path:
        """The real path of a file the person named, refused if it is outside the roots."""
        roots = self.roots()
        path = Path(os.path.expanduser(text.strip()))
        if not path.is_absolute():  # relative to whichever allowed folder has it
            path = next((r / path for r in roots if (r / path).exists()), roots[0] / path)
        real = path.resolve()
        if not any(real.is_relative_to(root) for root in roots):
            raise ToolError(
                f"{text!r} is outside the folders open to the file tools",
                hint="allowed: "
                + ", ".join(shown(r) for r in roots)
                + f" (change allowed_folders in {shown(self.config_path)})",
            )
        named = Path(os.path.normpath(path))
        if any(hidden_below(p, r) for r in roots for p in (real, named)):
            raise ToolError(
                f"{text!r} is hidden (a name starting with '.'): the file tools do not "
                "read hidden files or folders",
                hint="move what should be readable out of the hidden file or folder",
            )
        return real


def _is_binary(chunk: bytes) -> bool:
    return b"\0" in chunk[:8192]


def read_file(folders: Folders, path_text: str, max_bytes: int | None) -> str:
    limit = min(max(max_bytes or READ_DEFAULT, 1), READ_MAX)
    path = folders.locate(path_text)
    if path.is_dir():
        raise ToolError(f"{shown(path)} is a folder", hint="use search_files to find files in it")
    if path.exists() and not path.is_file():  # a pipe or a device would block or never end
        raise ToolError(f"{shown(path)} is not a regular file")
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            data = f.read(limit)
    except FileNotFoundError:
        raise ToolError(f"there is no file {shown(path)}", hint="use search_files") from None
    except OSError as e:
        raise ToolError(f"cannot read {shown(path)}: {e.strerror or e}") from None
    if _is_binary(data):
        raise ToolError(f"{shown(path)} is a binary file, not text")
    text = data.decode("utf-8", errors="replace")
    if size > len(data):
        text += f"\n[... cut at {len(data):,} of {size:,} bytes; ask with a larger max_bytes]"
    return text


class _Budget:
    """How much of a tree one search may look at."""

    def __init__(self) -> None:
        self.entries = 0
        self.deadline = time.monotonic() + MAX_SEARCH_SECONDS

    def spent(self) -> bool:
        return self.entries >= MAX_ENTRIES or time.monotonic() > self.deadline


def _walk(root: Path, budget: _Budget) -> Iterator[Path]:
    """Files under root, in a stable order, hidden files and folders skipped, links not
    followed into folders; stops when the budget is spent."""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = []
                for entry in it:
                    budget.entries += 1
                    if budget.spent():
                        return
                    if not entry.name.startswith("."):
                        entries.append(entry)
        except OSError:
            continue  # unreadable folder: skip it
        entries.sort(key=lambda e: e.name)
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                continue
            yield Path(entry.path)
        stack += [Path(e.path) for e in reversed(entries) if e.is_dir(follow_symlinks=False)]


def search_files(folders: Folders, query: str, glob: str | None) -> str:
    needle = query.strip().lower()
    if not needle:
        raise ToolError("the query is empty", hint="give a word from a file name or its text")
    roots = folders.roots()
    results: list[str] = []
    scanned = read_total = 0
    stopped = ""
    budget = _Budget()
    for root in roots:
        for path in _walk(root, budget):
            if glob and not PurePosixPath(path.relative_to(root).as_posix()).match(glob):
                continue
            if len(results) >= MAX_RESULTS:
                stopped = f"showing the first {MAX_RESULTS} matches; there may be more"
            elif scanned >= MAX_FILES_SCANNED or read_total >= MAX_BYTES_TOTAL:
                stopped = "stopped: too many files to search"
            if stopped:
                break
            real = path.resolve()
            # a symlink pointing out of the allowed folders or into a hidden one, or a
            # pipe that would block
            inside = [r for r in roots if real.is_relative_to(r)]
            if not inside or any(hidden_below(real, r) for r in inside) or not real.is_file():
                continue
            scanned += 1
            lines, read = _matching_lines(real, needle)
            read_total += read
            if lines or needle in path.name.lower():
                results.append("\n".join([shown(real), *lines]))
        if stopped:
            break
        if budget.spent():
            stopped = "stopped: the folders are too large to search whole"
            break
    where = ", ".join(shown(r) for r in roots)
    tail = f"\n[{stopped}; narrow the query or the glob]" if stopped else ""
    if not results:
        return (f"No files match {query!r} in {where}" + (f" (glob {glob!r})." if glob else ".")
                + tail)  # fmt: skip
    return "\n".join(results) + tail


def _matching_lines(path: Path, needle: str) -> tuple[list[str], int]:
    """Up to MAX_LINES_PER_FILE "  12: text" lines, and the bytes read."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_BYTES_PER_FILE)
    except OSError:
        return [], 0
    if _is_binary(data):
        return [], len(data)
    found = []
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        if needle in line.lower():
            line = line.strip()
            found.append(f"  {number}: {line[:200]}{'...' if len(line) > 200 else ''}")
            if len(found) >= MAX_LINES_PER_FILE:
                break
    return found, len(data)


def file_tools(folders: list[Path], config_path: Path) -> list[Tool]:
    allowed = Folders(folders, config_path)
    return [
        Tool(
            name="search_files",
            description="Find files in the person's allowed folders whose name or text "
            "contains the query (case-insensitive); shows matching lines.",
            parameters=params(
                ["query"],
                query={"type": "string", "description": "a word or phrase"},
                glob={"type": "string", "description": "optional filter, e.g. *.md"},
            ),
            run=lambda args: search_files(allowed, args["query"], args.get("glob")),
        ),
        Tool(
            name="read_file",
            description="Read a text file from the person's allowed folders.",
            parameters=params(
                ["path"],
                path={"type": "string", "description": "as search_files shows it"},
                max_bytes={"type": "integer", "description": f"at most {READ_MAX}"},
            ),
            run=lambda args: read_file(allowed, args["path"], args.get("max_bytes")),
        ),
    ]
