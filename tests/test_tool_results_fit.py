"""Big reads stay readable: hidden files, bounded walks, and results cut to the context.

A large file read once broke every later turn of its conversation with a context
overflow; `.env` could be read though search never listed it; a search over a huge tree
with a glob that matched nothing walked all of it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from personal.chat.session import TOOL_SHARE, ChatSession
from personal.engine.fake import FakeEngine
from personal.tools import ToolRegistry
from personal.tools import files as files_module
from personal.tools.files import file_tools


def registry(folder: Path) -> ToolRegistry:
    return ToolRegistry(file_tools([folder], Path("/x/tools.toml")))


@pytest.fixture
def notes(tmp_path) -> Path:
    notes = tmp_path / "notes"
    (notes / ".ssh").mkdir(parents=True)
    (notes / ".env").write_text("API_KEY=hotel-secret\n")
    (notes / ".ssh" / "id_rsa").write_text("hotel private key\n")
    (notes / "plan.md").write_text("hotel at nine\n")
    (notes / "alias.md").symlink_to(notes / ".env")
    return notes


@pytest.mark.parametrize("name", [".env", ".ssh/id_rsa", "alias.md", "sub/../.env"])
def test_hidden_files_are_neither_listed_nor_read(notes, name):
    tools = registry(notes)
    found = tools.call("search_files", {"query": "hotel"}).content
    assert "plan.md" in found and "secret" not in found and "private" not in found
    result = tools.call("read_file", {"path": name})
    assert not result.ok and "hidden" in result.error


def test_an_allowed_folder_may_itself_be_hidden(tmp_path):
    folder = tmp_path / ".notes"
    folder.mkdir()
    (folder / "a.md").write_text("hello\n")
    assert registry(folder).call("read_file", {"path": "a.md"}).content == "hello\n"


def test_the_walk_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(files_module, "MAX_ENTRIES", 200)
    for i in range(100):
        (tmp_path / f"d{i:02}" / "e").mkdir(parents=True)
        (tmp_path / f"d{i:02}" / "e" / "x.txt").write_text("nothing here\n")
    result = registry(tmp_path).call("search_files", {"query": "zebra", "glob": "*.md"})
    assert result.ok and "too large to search whole" in result.content


def big_file(folder: Path, words: int = 40_000) -> Path:
    path = folder / "big.txt"
    path.write_text(" ".join(f"w{i}" for i in range(words)))
    return path


def test_a_tool_result_is_cut_to_a_share_of_the_context(log, tmp_path):
    engine = FakeEngine(n_ctx=2048)
    big_file(tmp_path)
    engine.enqueue("Read it.")
    session = ChatSession(engine, log, tools=registry(tmp_path))
    list(session.events(session.invoke("/read_file path=big.txt max_bytes=200000")))
    tool_message = next(m for m in log.messages(session.conversation_id) if m.role == "tool")
    assert "cut to fit the model's context" in tool_message.content
    assert engine.count_tokens(tool_message.content) <= 2048 // TOOL_SHARE


def test_after_a_huge_read_the_conversation_goes_on(log, tmp_path):
    """With the real llama.cpp engine (a tiny model, 2048 tokens of context): the read
    is cut, the answer after it and the next turn fit."""
    from personal.engine.base import GenerationParams
    from personal.engine.llama import LlamaEngine
    from personal.models import catalog
    from tests.tinymodel import write_tiny_llama_gguf

    base = catalog.resolve(str(write_tiny_llama_gguf(tmp_path / "tiny.gguf")))
    big_file(tmp_path)
    engine = LlamaEngine(base, n_ctx=2048, n_threads=1)
    try:
        session = ChatSession(engine, log, tools=registry(tmp_path),
                              params=GenerationParams(max_tokens=8, temperature=0))
        events = list(session.events(session.invoke("/read_file path=big.txt max_bytes=200000")))
        assert events[-1].__class__.__name__ == "TextDelta" or events  # it answered
        list(session.events(session.start("what is in it?")))
        statuses = [m.status for m in log.messages(session.conversation_id)]
        assert "error" not in statuses, statuses
        tokens = engine.prompt_tokens(log.history(session.conversation_id))
        assert len(tokens) < 2048
    finally:
        engine.close()
    assert os.path.getsize(tmp_path / "big.txt") > 100_000
