"""search_files and read_file: read-only, and only inside the allowed folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from personal.tools import ToolRegistry
from personal.tools import files as files_module
from personal.tools.files import file_tools


@pytest.fixture
def tree(tmp_path) -> dict[str, Path]:
    notes = tmp_path / "notes"
    (notes / "trips").mkdir(parents=True)
    (notes / ".git").mkdir()
    (notes / "shopping.md").write_text("milk\nEggs\nbread\n")
    (notes / "trips" / "lisbon.md").write_text("Flight at 9:40\nhotel: Alfama\n")
    (notes / "trips" / "todo.txt").write_text("book the HOTEL\n")
    (notes / "photo.jpg").write_bytes(b"\xff\xd8\x00\x00hotel")
    (notes / ".git" / "config").write_text("hotel\n")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "passwords.txt").write_text("hotel wifi: hunter2\n")
    return {"root": tmp_path, "notes": notes, "secret": secret}


def registry(folders: list[Path], config: Path | None = None) -> ToolRegistry:
    return ToolRegistry(file_tools(folders, config or Path("/x/tools.toml")))


def test_search_names_and_contents_case_insensitively(tree):
    tools = registry([tree["notes"]])
    found = tools.call("search_files", {"query": "hotel"}).content
    assert "lisbon.md\n  2: hotel: Alfama" in found
    assert "todo.txt\n  1: book the HOTEL" in found
    assert "photo.jpg" not in found  # binary
    assert ".git" not in found  # hidden folders are skipped
    assert "passwords" not in found
    assert "shopping.md" in tools.call("search_files", {"query": "SHOP"}).content  # by name


def test_search_glob_and_nothing_found(tree):
    tools = registry([tree["notes"]])
    found = tools.call("search_files", {"query": "hotel", "glob": "*.md"}).content
    assert "lisbon.md" in found and "todo.txt" not in found
    none = tools.call("search_files", {"query": "zebra", "glob": "*.md"}).content
    assert none.startswith("No files match 'zebra' in ") and "(glob '*.md')" in none


def test_search_results_are_bounded(tree, monkeypatch):
    for i in range(5):
        (tree["notes"] / f"n{i}.txt").write_text("same word\n" * 10)
    monkeypatch.setattr(files_module, "MAX_RESULTS", 2)
    found = registry([tree["notes"]]).call("search_files", {"query": "same"}).content
    assert found.count(".txt") == 2 and "there may be more" in found
    assert found.count("same word") == 2 * files_module.MAX_LINES_PER_FILE


def test_read_file(tree):
    tools = registry([tree["notes"]])
    assert tools.call("read_file", {"path": str(tree["notes"] / "shopping.md")}).content == (
        "milk\nEggs\nbread\n"
    )
    relative = tools.call("read_file", {"path": "trips/lisbon.md"})
    assert relative.content.startswith("Flight at 9:40")
    cut = tools.call("read_file", {"path": "shopping.md", "max_bytes": 4}).content
    assert cut.startswith("milk\n[... cut at 4 of 16 bytes")
    for path, message in [
        ("photo.jpg", "binary file"),
        ("trips", "is a folder"),
        ("missing.md", "there is no file"),
    ]:
        result = tools.call("read_file", {"path": path})
        assert not result.ok and message in result.error


def test_refuses_paths_outside_the_allowed_folders(tree):
    tools = registry([tree["notes"]])
    outside = tree["secret"] / "passwords.txt"
    for path in [str(outside), "../secret/passwords.txt", "trips/../../secret/passwords.txt"]:
        result = tools.call("read_file", {"path": path})
        assert not result.ok and "outside the folders open to the file tools" in result.error
        assert "hunter2" not in result.error


def test_symlinks_cannot_escape(tree):
    notes = tree["notes"]
    os.symlink(tree["secret"] / "passwords.txt", notes / "innocent.txt")
    os.symlink(tree["secret"], notes / "linked-folder")
    tools = registry([notes])
    for path in ["innocent.txt", "linked-folder/passwords.txt"]:
        result = tools.call("read_file", {"path": path})
        assert not result.ok and "outside" in result.error
    found = tools.call("search_files", {"query": "wifi"}).content
    assert found.startswith("No files match")  # the file linked to is not searched either
    assert tools.call("search_files", {"query": "innocent"}).content.startswith("No files")
    # a link that stays inside is fine
    os.symlink(notes / "shopping.md", notes / "list.md")
    assert tools.call("read_file", {"path": "list.md"}).content.startswith("milk")


def test_the_allowed_folder_may_itself_be_a_symlink(tree):
    link = tree["root"] / "notes-link"
    os.symlink(tree["notes"], link)
    tools = registry([link])
    assert tools.call("read_file", {"path": str(link / "shopping.md")}).ok
    assert "lisbon.md" in tools.call("search_files", {"query": "alfama"}).content


def test_with_no_folders_the_tools_say_how_to_allow_one(tree):
    tools = registry([], tree["root"] / "tools.toml")
    for name, args in [("search_files", {"query": "x"}), ("read_file", {"path": "a.txt"})]:
        result = tools.call(name, args)
        assert not result.ok and "no folders are open to the file tools" in result.error
        assert "allowed_folders" in result.error and "tools.toml" in result.error
