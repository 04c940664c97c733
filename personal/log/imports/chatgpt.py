"""Reading ChatGPT's data export (conversations.json, or one conversation object as the
backend API and browser exporters save it) into conversations to import.

A conversation is a tree of message nodes: editing a prompt or regenerating an answer
starts a branch, and `current_node` is the leaf the person last saw. That branch is
imported, root first, as turns: the person's message, then the assistant's turn. Within
a turn ChatGPT may call its tools (code interpreter, search, image generation: messages
with `end_turn: false` and a `recipient`); those calls and their output are kept in the
log's OpenAI shape (an assistant message with `tool_calls`, then `tool` messages) and the
turn's visible text is its one answer. Answers on other branches of the same turn were
regenerated: they are kept, marked rejected (as `Log.regenerate_from` marks them), before
the answer that replaced them. Earlier versions of edited prompts, reasoning and images
are left out and counted. Custom instructions and memory become preference candidates.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

from personal.errors import ImportFormatError
from personal.log import records
from personal.log.ids import id_at, now, to_epoch_ms
from personal.log.imports.chatgpt_nodes import Item, item, node_id
from personal.log.imports.parsed import Instruction, Parsed, epoch_ms, iso, message, rejected
from personal.log.records import ParsedConversation

NO_CALL = "tool output that no call in the export asked for (reasoning, images)"
NO_RESULT = "tool calls whose output is not in the export"
EDITED = "earlier versions of edited messages and their answers"
REGENERATED_TOOLS = "tool activity of regenerated answers"


def parse(path: str, data: Any) -> Parsed:
    if isinstance(data, dict):
        data = data["conversations"] if isinstance(data.get("conversations"), list) else [data]
    if not data:
        raise ImportFormatError(path, None, "the file holds no conversations")
    parsed = Parsed("chatgpt", path)
    # the "line" of an error is the conversation's position in the file, from 1
    for index, conversation in enumerate(data, start=1):
        try:
            _conversation(conversation, parsed)
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            title = conversation.get("title") if isinstance(conversation, dict) else None
            name = f"conversation {index}" + (f" ({title!r})" if isinstance(title, str) else "")
            raise ImportFormatError(path, index, f"{name}: {e}") from None
    return parsed


def _conversation(conv: Any, parsed: Parsed) -> None:
    if not isinstance(conv, dict):
        raise ValueError("not a ChatGPT conversation (not an object)")
    if conv.get("mapping") is None and conv.get("current_node") is None:
        parsed.dropped['conversations the export holds no messages of (no "mapping")'] += 1
        return
    mapping = conv.get("mapping")
    if not isinstance(mapping, dict):
        raise ValueError('not a ChatGPT conversation (no "mapping" of messages)')
    created = epoch_ms(conv.get("create_time"), "create_time")
    updated = epoch_ms(conv.get("update_time"), "update_time")
    key = conv.get("conversation_id") or conv.get("id")
    key = str(key) if isinstance(key, (str, int)) else f"{conv.get('title')}@{created}"
    path = _branch(mapping, conv.get("current_node"))
    at = created if created is not None else _first_time(path)
    builder = _Builder(f"chatgpt:{key}", at if at is not None else to_epoch_ms(now()), parsed)
    for node in path:
        builder.add(node)
    builder.alternatives(mapping, path)
    messages = builder.finish()
    first_user = next((m["content"] for m in messages if m["role"] == "user"), None)
    start = builder.start
    parsed.conversations.append(ParsedConversation(
        id=id_at(start, key=f"chatgpt:{key}"),  # the same on every import
        title=records.typed(conv, "title", str) or records.title_from(first_user),
        source="import:chatgpt", created_at=iso(start),
        updated_at=iso(max(updated or start, builder.latest)), meta={"chatgpt_id": key},
        messages=messages,
    ))  # fmt: skip


def _first_time(path: list[dict]) -> int | None:
    for node in path:
        msg = node.get("message")
        if isinstance(msg, dict) and msg.get("create_time") is not None:
            return epoch_ms(msg["create_time"], "create_time")
    return None


def _branch(mapping: dict, current: Any) -> list[dict]:
    """The nodes from the root down to `current`: the branch the person last saw."""
    if current is None:  # older exports: take the last leaf
        leaves = [k for k, n in mapping.items() if isinstance(n, dict) and not n.get("children")]
        current = leaves[-1] if leaves else None
    chain: list[dict] = []
    seen: set[str] = set()
    while current is not None:
        if not isinstance(current, str) or current in seen:
            raise ValueError("its message tree is malformed (a bad or looping parent link)")
        node = mapping.get(current)
        if not isinstance(node, dict):
            raise ValueError(f"message node {current!r} is missing from its mapping")
        seen.add(current)
        chain.append(node)
        current = node.get("parent")
    return chain[::-1]


class _Builder:
    """Turns the nodes of the current branch into log messages, turn by turn."""

    def __init__(self, key: str, start: int, parsed: Parsed):
        self.key, self.start, self.parsed = key, start, parsed
        self.at = self.latest = start  # the time of messages that have none, and the last
        self.out: list[dict] = []
        self.side: list[tuple[dict, Item]] = []  # the assistant side of the open turn
        self.starts = [0]  # per turn: where its assistant side starts in `out`
        self.turn_of: dict[str, int] = {}  # node id -> its turn
        self.rejected: dict[int, list[dict]] = {}  # turn -> its regenerated answers

    def time(self, node: dict) -> int:
        msg = node.get("message")
        ms = epoch_ms(msg.get("create_time") if isinstance(msg, dict) else None, "create_time")
        if ms is not None:  # not monotonic along the tree: keep the order, not the clock
            self.at, self.latest = ms, max(self.latest, ms)
        return self.at

    def id(self, node: dict) -> str:
        return id_at(self.time(node), key=f"{self.key}:{node_id(node)}")

    def row(self, node: dict, role: str, content: str | None, **fields: Any) -> dict:
        return message(role, content, id=self.id(node), created_at=iso(self.at), **fields)

    def add(self, node: dict) -> None:
        it = item(node)
        self.parsed.dropped.update(it.dropped)
        if it.kind in ("user", "system") and it.text.strip():
            self.close()
            self.out.append(self.row(node, it.kind, it.text))
            if it.kind == "user":
                self.starts.append(len(self.out))
        elif it.kind == "instructions":
            at = iso(self.time(node))
            self.parsed.instructions += [
                Instruction(text, source, "other" if "how to answer" in source else "fact", at)
                for source, text in it.about
            ]
        elif it.kind in ("text", "call", "result", "drop"):
            self.side.append((node, it))
        self.turn_of[node_id(node)] = len(self.starts) - 1

    def close(self) -> None:
        if self.side:
            self.out += self.assemble(self.side)
            self.side = []

    def assemble(self, events: list[tuple[dict, Item]], answer_only: bool = False) -> list[dict]:
        """The messages of one assistant turn: calls with their results, then the answer
        (or only the answer, for a regenerated branch)."""
        out: list[dict] = []
        texts: list[str] = []
        calls: dict | None = None  # the assistant message collecting calls
        last: tuple[dict, Item] | None = None
        for node, it in _paired(events, self.parsed.dropped, answer_only):
            if it.kind == "text":
                if it.text.strip():
                    texts.append(it.text)
                    last = (node, it)
                calls = None
            elif it.kind == "call":
                if calls is None:
                    calls = self.row(node, "assistant", "\n\n".join(texts) or None)
                    calls["calls"], texts = [], []
                    out.append(calls)
                calls["calls"].append({"id": _call_id(node), "type": "function",
                                       "function": {"name": it.name, "arguments": it.text}})  # fmt: skip
            elif it.kind == "result":
                out.append(self.row(node, "tool", it.text, name=it.name, tool_call_id=it.call_id))
                calls = None
        for m in out:
            if "calls" in m:
                m["tool_calls"] = records.tool_calls_json(m.pop("calls"))
        if texts and last is not None:
            node, it = last
            out.append(self.row(node, "assistant", "\n\n".join(texts), model=it.model,
                                status="interrupted" if it.interrupted else "complete"))  # fmt: skip
        return out

    def alternatives(self, mapping: dict, path: list[dict]) -> None:
        """Answers on branches the person left: regenerations (kept, rejected); earlier
        versions of edited prompts are counted as left out."""
        self.close()
        on_path = {node_id(n) for n in path}
        for node in path:
            turn = self.turn_of.get(node_id(node), 0)
            for child in records.typed(node, "children", list) or []:
                if not isinstance(child, str) or child in on_path:
                    continue
                branch = [(n, item(n)) for n in _follow(mapping, child)]
                if branch and branch[0][1].kind == "user":
                    self.parsed.dropped[EDITED] += sum(
                        it.kind in ("user", "text") and bool(it.text) for _, it in branch)
                    continue
                answers = self.assemble(branch, answer_only=True)
                self.rejected.setdefault(turn, []).extend(answers[-1:])

    def finish(self) -> list[dict]:
        """The branch's messages, each turn's regenerated answers before its answer."""
        self.close()
        out = list(self.out)
        ends = [*self.starts[1:], len(self.out)]
        for turn, answers in sorted(self.rejected.items(), reverse=True):
            start, end = self.starts[turn], ends[turn]
            kept = next((m["id"] for m in reversed(self.out[start:end])
                         if m["role"] == "assistant" and not m["tool_calls"]), None)  # fmt: skip
            for answer in answers:
                answer["feedback"] = [rejected(kept, answer["created_at"])]
            out[start:start] = sorted(answers, key=lambda m: m["created_at"])
        return out


def _follow(mapping: dict, start: str) -> list[dict]:
    """A branch from `start` down its newest children, up to the person's next turn."""
    branch, current, seen = [], start, set()
    while isinstance(current, str) and current not in seen:
        node = mapping.get(current)
        if not isinstance(node, dict):
            break
        seen.add(current)
        branch.append(node)
        children = records.typed(node, "children", list) or []
        current = children[-1] if children else None
        following = mapping.get(current) if isinstance(current, str) else None
        if isinstance(following, dict) and item(following).kind == "user":
            break
    return branch


def _call_id(node: dict) -> str:
    return f"call_{node_id(node)}"[:64]


def _paired(events: list[tuple[dict, Item]], dropped: Counter, answer_only: bool) -> list:
    """The events whose calls and results match (by tool name, in order), each result
    carrying its call's id; the unmatched ones are counted as left out."""
    if answer_only:
        dropped[REGENERATED_TOOLS] += sum(it.kind in ("call", "result") for _, it in events)
        return [(n, it) for n, it in events if it.kind == "text"]
    open_calls: list[tuple[str, str | None]] = []
    matched: dict[str, str] = {}  # result node id -> call id
    for node, it in events:
        if it.kind == "call":
            open_calls.append((_call_id(node), it.name))
        elif it.kind == "result" and open_calls:
            call = next((c for c in open_calls if c[1] == it.name), open_calls[0])
            open_calls.remove(call)
            matched[node_id(node)] = call[0]
    answered = set(matched.values())
    out = []
    for node, it in events:
        if it.kind == "call" and _call_id(node) not in answered:
            dropped[NO_RESULT] += 1
        elif it.kind == "result" and node_id(node) not in matched:
            dropped[NO_CALL] += 1
        elif it.kind == "result":
            out.append((node, replace(it, call_id=matched[node_id(node)])))
        elif it.kind != "drop":
            out.append((node, it))
    return out
