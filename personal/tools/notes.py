"""Notes tools: `remember`, `recall`, `list_notes`, kept in the log's `notes` table.

`remember` writes only the person's own local database, so it runs without asking. A note
records the message that asked for it (its `CallContext`), so forgetting that
conversation forgets the note too.
"""

from __future__ import annotations

from typing import Any

from personal.errors import ToolError
from personal.log import Log
from personal.log.notes import Notes
from personal.tools.base import CallContext, Tool, params

MAX_LIST = 100
NOTES_TOOLS = ("remember", "recall", "list_notes")


def format_note(note: Any) -> str:
    tags = f" [{', '.join(note.tags)}]" if getattr(note, "tags", None) else ""
    day = f" {str(note.created_at)[:10]}" if note.created_at else ""
    return f"- ({note.id}){day} {note.text}{tags}"


def _tags(value: Any) -> list[str] | None:
    if not value:
        return None
    if isinstance(value, str):  # "a, b" is what people type after tags=
        value = value.split(",")
    tags = [str(t).strip().lstrip("#") for t in value]
    return [t for t in tags if t] or None


def notes_tools(log: Log) -> list[Tool]:
    notes = Notes(log)  # the notes table lives in the log's database

    def remember(args: dict, context: CallContext) -> str:
        text = args["text"].strip()
        if not text:
            raise ToolError("there is nothing to remember: the text is empty")
        note = notes.add(text, tags=_tags(args.get("tags")),
                         source_message_id=context.source_message_id)  # fmt: skip
        return f"Remembered (note {note.id})."

    def recall(args: dict) -> str:
        query = args["query"].strip()
        if not query:
            raise ToolError("the query is empty", hint="say which words to look for")
        found = notes.search(query, limit=10)
        if not found:
            return f"No notes match {query!r}."
        return "\n".join(format_note(n) for n in found)

    def list_notes(args: dict) -> str:
        limit = args.get("limit", 20)
        if not 1 <= limit <= MAX_LIST:
            raise ToolError(f"limit must be between 1 and {MAX_LIST}")
        found = notes.list(limit=limit)
        if not found:
            return "There are no notes yet."
        return "\n".join(format_note(n) for n in found)

    return [
        Tool(
            name="remember",
            description="Save a note for later (a fact, a preference, a to-do) in the "
            "person's private notes.",
            parameters=params(
                ["text"],
                text={"type": "string", "description": "the note, in a full sentence"},
                tags={"type": "array", "items": {"type": "string"}, "description": "optional"},
            ),
            run=remember,
            contextual=True,
        ),
        Tool(
            name="recall",
            description="Search the person's saved notes (full-text), best matches first.",
            parameters=params(["query"], query={"type": "string", "description": "words"}),
            run=recall,
        ),
        Tool(
            name="list_notes",
            description="The most recent saved notes, newest first.",
            parameters=params(
                limit={"type": "integer", "description": f"1 to {MAX_LIST}", "default": 20}
            ),
            run=list_notes,
        ),
    ]
