"""What one node of a ChatGPT conversation is: a turn of the person, text the assistant
showed, a call to one of ChatGPT's tools, that tool's output, custom instructions, or
something left out (reasoning, images) with the reason why.

Shapes are those of real exports from 2023 to 2026 (see tests/data/exports/README.md):
`content_type` text, multimodal_text, code, execution_output, tether_browsing_display,
thoughts, reasoning_recap, user_editable_context, model_editable_context; an assistant
message with a `recipient` other than "all" is addressed to a tool.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from personal.log.imports.parsed import items, obj
from personal.log.imports.safejson import loads

REASONING = "reasoning (thoughts, reasoning summaries)"
IMAGES = "images, audio and files (only the text of a message is kept)"
_CITATION = re.compile("[ \t]*\ue200[^\ue201]*\ue201")  # \ue200cite\ue202turn0search3\ue201
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")  # ChatGPT's other span markers (E203, E204, E206)
_IMAGE_FETCH = re.compile(r"【\{[^【】]*\}】\n?")  # 【{"image_fetch": "..."}】 carousel placeholders
_BROWSING = re.compile(r"【\d+(?::\d+)?†[^【】]*】")  # 2024 browsing citations 【3†title†site】
_FENCED = re.compile(r"```(.*?)```", re.DOTALL)
_MEMORY_ITEM = re.compile(r"^\s*(?:\d+[.)]\s*)?(?:\[[^\]]*\]\.?\s*)?")  # "1. [2024-05-01]. "
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
MAX_INSTRUCTION = 500  # characters of one custom-instruction line kept as a candidate


@dataclass(frozen=True)
class Item:
    """What a node contributes. kind: skip, system, user, text, call, result, drop,
    instructions."""

    kind: str
    text: str = ""
    name: str | None = None  # the tool of a call or a result
    model: str | None = None
    call_id: str | None = None  # a result's call (set when calls and results are paired)
    interrupted: bool = False
    dropped: tuple[str, ...] = ()  # reasons for parts left out of this node
    about: tuple[tuple[str, str], ...] = ()  # instructions: (source, text) pairs


def node_id(node: dict) -> str:
    msg = node.get("message")
    return str(node.get("id") or (msg.get("id") if isinstance(msg, dict) else None))


def item(node: dict) -> Item:
    """Classify one mapping node (ValueError when its message is malformed)."""
    msg = node.get("message")
    if msg is None:
        return Item("skip")
    msg = obj(msg, "message")
    author = msg.get("author")
    if not isinstance(author, dict) or not author:
        raise ValueError(f"message node {node.get('id')!r} has no author")
    role = author.get("role")
    content = obj(msg.get("content"), "content")
    kind = content.get("content_type")
    metadata = obj(msg.get("metadata"), "metadata")
    recipient = msg.get("recipient") or "all"
    if not isinstance(recipient, str):
        raise ValueError(f'"recipient" must be a string, not {type(recipient).__name__}')
    hidden = bool(metadata.get("is_visually_hidden_from_conversation"))
    context = metadata.get("user_context_message_data")
    if kind in ("user_editable_context", "model_editable_context") or context:
        return Item("instructions", about=_instructions(kind, content, obj(context, "context")))
    if role == "system":
        text = _text(content)
        return Item("system", text) if text.strip() and not hidden else Item("skip")
    if role == "user":
        if hidden:
            return Item("skip")
        text, dropped = _parts(content)
        return Item("user", text, dropped=dropped)
    if role == "assistant":
        if kind in ("thoughts", "reasoning_recap"):
            return Item("drop", dropped=(REASONING,))
        if recipient != "all":
            return Item("call", _arguments(content), name=recipient)
        if hidden:
            return Item("skip")
        text, dropped = _parts(content)
        slug = metadata.get("model_slug")
        finish = obj(metadata.get("finish_details"), "finish_details").get("type")
        return Item("text", clean(text), model=slug if isinstance(slug, str) else None,
                    interrupted=finish == "interrupted" or msg.get("status") == "in_progress",
                    dropped=dropped)  # fmt: skip
    if role == "tool":
        name = author.get("name")
        text, dropped = _parts(content)
        return Item("result", clean(text), name=name if isinstance(name, str) else "tool",
                    dropped=dropped)  # fmt: skip
    return Item("drop", dropped=(f"messages from a {role!r} author",))


def clean(text: str) -> str:
    """ChatGPT's citation and layout markers out of a text (private-use characters)."""
    if not text:
        return text
    text = _CITATION.sub("", text)
    text = _IMAGE_FETCH.sub("", _BROWSING.sub("", text))
    return _PRIVATE_USE.sub("", text)


def _text(content: dict) -> str:
    return _parts(content)[0]


def _parts(content: dict) -> tuple[str, tuple[str, ...]]:
    """The text of a message's content and the reasons for the parts left out."""
    kind = content.get("content_type")
    if kind in ("code", "execution_output", "tether_quote", "system_error"):
        return _string(content.get("text")), ()
    if kind == "tether_browsing_display":
        return _string(content.get("result")), ()
    texts, dropped = [], []
    for part in items(content.get("parts"), "parts"):
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and part.get("content_type") == "audio_transcription":
            texts.append(_string(part.get("text")))  # what the person said aloud
        elif part is not None:
            dropped.append(IMAGES)
    if kind not in (None, "text", "multimodal_text") and not texts:
        dropped.append(f"content of type {kind!r}")
    return "\n".join(t for t in texts if t), tuple(dropped)


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _arguments(content: dict) -> str:
    """A tool call's arguments as a JSON object string (OpenAI's shape): JSON the model
    wrote stays as it was, code becomes {"code": ...}."""
    text = _text(content)
    try:
        if isinstance(loads(text)[0], dict):  # capped: training parses it again
            return text
    except ValueError:
        pass
    if not text:
        return "{}"
    return json.dumps({"code": text} if content.get("content_type") == "code" else {"input": text},
                      ensure_ascii=False)  # fmt: skip


def _instructions(kind: Any, content: dict, context: dict) -> tuple[tuple[str, str], ...]:
    """(source, line) pairs from custom instructions or memory."""
    found = []
    if kind == "model_editable_context":
        for line in _string(content.get("model_set_context")).splitlines():
            found.append(("ChatGPT memory", _MEMORY_ITEM.sub("", line)))
    else:
        boxes = (("about you", "about_user_message", "user_profile"),
                 ("how to answer", "about_model_message", "user_instructions"))  # fmt: skip
        for label, raw, wrapped in boxes:
            text = _string(context.get(raw)) or _unwrap(_string(content.get(wrapped)))
            for line in text.splitlines():
                found.append((f"ChatGPT custom instructions ({label})", _BULLET.sub("", line)))
    return tuple((source, " ".join(line.split())[:MAX_INSTRUCTION]) for source, line in found
                 if line.strip())  # fmt: skip


def _unwrap(text: str) -> str:
    """The person's words inside ChatGPT's boilerplate ("The user provided the following
    information about themselves... ```<their text>```")."""
    fenced = _FENCED.findall(text)
    return fenced[-1] if fenced else text
