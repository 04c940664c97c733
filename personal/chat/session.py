"""A conversation with the model, logged as it happens, with tools.

`ChatSession` is what the CLI and the TUI use: they never call an engine themselves. Each
user turn is written to the log before generation starts; each assistant answer is a
"streaming" row updated while tokens arrive and finalized as "complete", "interrupted"
(cancel, Ctrl-C) or "error", so a partial answer survives anything short of a power cut.

Tools run two ways, logged identically (an assistant message with `tool_calls`, then one
"tool" message per result): the model starts a call, or the user invokes one explicitly
(`invoke("/calc 17*23")`). Either way the model then continues the answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from personal.adapters.registry import Registry
from personal.chat.events import (
    AnswerStarted,
    Event,
    TextDelta,
    ToolCalled,
    ToolProblem,
    ToolReturned,
)
from personal.engine.base import Engine, GenerationParams, Message, Stream
from personal.engine.toolcall import ToolCall
from personal.errors import PersonalError
from personal.log import Log, LoggedMessage, new_id
from personal.prefs.preferences import Preferences, extract_from_message
from personal.prefs.prompting import kept_in_prompt, with_preferences

if TYPE_CHECKING:
    from personal.tools import Tool, ToolRegistry

DEFAULT_SYSTEM_PROMPT = "You are a helpful, concise assistant. Answer the question directly."
FLUSH_SECONDS = 0.5  # how often a streaming answer's text is saved
MAX_TOOL_ROUNDS = 3  # tool calls in a row before the model must answer
TOOL_SHARE = 4  # one tool result may use at most 1/TOOL_SHARE of the context window
MESSAGE_OVERHEAD = 8  # tokens a chat template adds around each message (role, markers)


@dataclass
class Turn:
    """One exchange: the user's message, then one or more assistant answers/tool rounds."""

    user: LoggedMessage
    assistant_id: str | None  # the answer being written now
    stream: Stream | None
    pending_calls: list[ToolCall] = field(default_factory=list)
    explicit: bool = False  # the user invoked the tool: the answer that follows offers none
    cancelled: bool = False

    @property
    def result(self):
        return self.stream.result if self.stream else None

    def cancel(self) -> None:
        self.cancelled = True
        if self.stream:
            self.stream.cancel()


class ChatSession:
    """Chat in one conversation of the log (a new one unless `conversation_id` is given)."""

    def __init__(
        self,
        engine: Engine,
        log: Log,
        conversation_id: str | None = None,
        *,
        system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
        params: GenerationParams | None = None,
        tools: ToolRegistry | None = None,
        confirm: Callable[[Tool, dict], bool] | None = None,
    ):
        self.engine = engine
        self.log = log
        self.system_prompt = system_prompt
        self.params = params or GenerationParams()
        self.tools = tools
        self.confirm = confirm  # asked before a tool with side effects runs; None: decline
        self.conversation_id = log.conversation(conversation_id).id if conversation_id else None
        self.preferences_found: list = []  # stated in the last user message
        self._plans: dict[str, dict[str, str]] = {}  # revision → which preferences it learned

    def _ensure_conversation(self) -> str:
        if self.conversation_id is None:
            conv = self.log.create_conversation(source="chat")
            self.conversation_id = conv.id
            if self.system_prompt:
                self.log.append(conv.id, {"role": "system", "content": self.system_prompt})
        return self.conversation_id

    def history(self) -> list[Message]:
        return self.log.history(self.conversation_id) if self.conversation_id else []

    # --- starting a turn ------------------------------------------------------------
    def send(self, text: str, params: GenerationParams | None = None) -> Iterator[str]:
        """Log `text` as the user's turn and stream the reply's text."""
        return self.run(self.start(text, params))

    def start(self, text: str, params: GenerationParams | None = None) -> Turn:
        """Log the user's message and start the model's answer (iterate with `events`)."""
        conv = self._ensure_conversation()
        user = self.log.append(conv, {"role": "user", "content": text})
        self.preferences_found = extract_from_message(self.log, user)  # "call me Sam", ...
        if params is not None:
            self.params = params
        answer_id, stream = self._answer()
        return Turn(user=user, assistant_id=answer_id, stream=stream)

    def regenerate(self, params: GenerationParams | None = None) -> Turn:
        """Answer the last user message again; the previous answer is kept in the log as
        rejected (a negative example) and leaves the history the model sees."""
        messages = self.log.messages(self.conversation_id) if self.conversation_id else []
        users = [m for m in messages if m.role == "user"]
        answers = [m for m in messages if m.role == "assistant" and users and m.seq > users[-1].seq]
        if not answers:
            from personal.errors import InvalidSignal

            raise InvalidSignal("there is no answer to regenerate yet")
        self.log.regenerate_from(answers[0].id)
        if params is not None:
            self.params = params
        answer_id, stream = self._answer()
        return Turn(user=users[-1], assistant_id=answer_id, stream=stream)

    def invoke(self, command: str) -> Turn:
        """Run a tool the user asked for explicitly ("/calc 17*23"), then let the model
        answer. Raises ToolError subclasses for an unknown tool or bad arguments."""
        if self.tools is None:
            from personal.errors import PersonalError

            raise PersonalError("no tools are available in this session")
        name, arguments = self.tools.parse_command(command.lstrip("/"))
        conv = self._ensure_conversation()
        user = self.log.append(conv, {"role": "user", "content": command}, meta={"command": True})
        call = ToolCall(_call_id(), name, arguments)
        msg = self._log_assistant({"content": "", "tool_calls": [call.openai()]}, "complete",
                                  meta={"invoked_by": "user"})  # fmt: skip
        return Turn(user=user, assistant_id=msg.id, stream=None, pending_calls=[call],
                    explicit=True)  # fmt: skip

    # --- running a turn -------------------------------------------------------------
    def run(self, turn: Turn) -> Iterator[str]:
        """The turn's answer text as it streams (tool activity is logged, not shown)."""
        for event in self.events(turn):
            if isinstance(event, TextDelta):
                yield event.text

    def events(self, turn: Turn) -> Iterator[Event]:
        """Stream the turn: text, tool calls and their results, follow-up answers."""
        calls, rounds = turn.pending_calls, 0
        while True:
            if turn.stream is not None:
                yield from self._stream(turn)
                result = turn.stream.result
                if result is None or result.interrupted:
                    return
                if result.tool_errors:
                    yield ToolProblem(turn.assistant_id or "", list(result.tool_errors))
                calls = self._accept_calls(turn.assistant_id or "", result.tool_calls)
            if not calls or turn.cancelled:
                return
            for call in calls:
                yield ToolCalled(turn.assistant_id or "", call)
                yield self._run_tool(call, turn.user.id, cancelled=turn.cancelled)
            if turn.cancelled:
                return
            rounds += 1
            offer = rounds < MAX_TOOL_ROUNDS and not turn.explicit
            turn.assistant_id, turn.stream = self._answer(tools=offer)
            calls = []
            yield AnswerStarted(turn.assistant_id)

    # --- pieces ---------------------------------------------------------------------
    def _answer(self, tools: bool = True) -> tuple[str, Stream]:
        schemas = self.tools.schemas() if (self.tools and tools) else None
        messages, prompted = self._with_preferences(self.log.history(self._ensure_conversation()))
        msg = self._log_assistant({"content": ""}, "streaming",
                                  meta={"prompted": prompted} if prompted else None)  # fmt: skip
        return msg.id, self.engine.chat(messages, self.params, tools=schemas)

    def _with_preferences(self, messages: list[Message]) -> tuple[list[Message], list[str]]:
        """The history with the preferences the current revision has not learned added to
        its system prompt (personal/prefs/prompting.py); the ids of those preferences.
        The log keeps the default prompt: what the person's adapter must learn to do
        without."""
        if not self.system_prompt or not messages or messages[0].get("role") != "system":
            return messages, []
        adapter = self.engine.adapter
        kept = kept_in_prompt(Preferences(self.log).list(active_only=True),
                              self.plan_for(adapter.id if adapter else None))  # fmt: skip
        if not kept:
            return messages, []
        system = with_preferences(str(messages[0].get("content") or ""), [p.text for p in kept])
        return [{**messages[0], "content": system}, *messages[1:]], [p.id for p in kept]

    def plan_for(self, revision: str | None) -> dict[str, str]:
        """Which preferences a revision learned (its manifest's plan; {} for none)."""
        if revision is None:
            return {}
        if revision not in self._plans:
            try:
                self._plans[revision] = Registry().get(revision).manifest.plan
            except PersonalError:  # not a registry revision (a test's adapter, an import)
                self._plans[revision] = {}
        return self._plans[revision]

    def _log_assistant(self, message: dict[str, Any], status: str, meta: dict | None = None):
        info = self.engine.info
        if info.extra.get("provenance"):  # an answer from elsewhere (a host) says where from
            meta = {**(meta or {}), "provenance": info.extra["provenance"]}
        return self.log.append(
            self._ensure_conversation(),
            {"role": "assistant", **message},
            model=info.model,
            model_fingerprint=info.fingerprint,
            adapter=self.engine.adapter.id if self.engine.adapter else None,
            backend=info.backend,
            status=status,
            meta=meta,
        )

    def _stream(self, turn: Turn) -> Iterator[Event]:
        """Iterate the current stream, saving the answer as it grows and when it ends."""
        assert turn.stream is not None and turn.assistant_id is not None
        stream, answer_id = turn.stream, turn.assistant_id
        last_flush = time.monotonic()
        status = "complete"
        pieces = iter(stream)
        try:
            for piece in pieces:
                yield TextDelta(answer_id, piece)
                if time.monotonic() - last_flush > FLUSH_SECONDS:
                    self.log.update(answer_id, content=stream.text)
                    last_flush = time.monotonic()
        except (KeyboardInterrupt, GeneratorExit):
            status = "interrupted"  # Ctrl-C or the reader stopped: keep the partial answer
            raise
        except BaseException:
            status = "error"
            raise
        finally:
            pieces.close()  # ends the engine's generation and fills stream.result
            self._finalize(answer_id, stream, status)

    def _finalize(self, answer_id: str, stream: Stream, status: str) -> None:
        self.log.update(answer_id, **answer_fields(stream, status))

    def _accept_calls(self, answer_id: str, calls: list[ToolCall]) -> list[ToolCall]:
        """Give the model's calls log-unique ids and record them on its message."""
        calls = [ToolCall(_call_id(), c.name, c.arguments) for c in calls]
        if calls:
            self.log.update(answer_id, tool_calls=[c.openai() for c in calls])
        return calls

    def _run_tool(self, call: ToolCall, source: str, cancelled: bool = False) -> ToolReturned:
        # Every call gets a result message, so the history stays well-formed; `source`,
        # the turn's user message, is what a tool that keeps something records.
        from personal.tools import CallContext, ToolResult

        if cancelled:
            outcome = ToolResult(False, "", "cancelled by the user", 0.0)
        elif self.tools is None:
            outcome = ToolResult(False, "", "no tools are available", 0.0)
        else:
            outcome = self.tools.call(call.name, call.arguments, confirm=self.confirm,
                                      context=CallContext(source))  # fmt: skip
        content = self._fit(outcome.content) if outcome.ok else f"error: {outcome.error}"
        msg = self.log.append(
            self._ensure_conversation(),
            {"role": "tool", "tool_call_id": call.id, "name": call.name, "content": content},
            meta={"ok": outcome.ok, "error": outcome.error, "duration_ms": outcome.duration_ms},
        )
        return ToolReturned(msg.id, call, outcome)


    def _fit(self, text: str) -> str:
        """A tool result cut to what the context window can still hold (a quarter of it
        at most), so one large file read cannot make every later turn overflow."""
        engine = self.engine
        used = sum(engine.count_tokens(str(m.get("content") or "") + json.dumps(
            m.get("tool_calls") or "")) + MESSAGE_OVERHEAD for m in self.history())  # fmt: skip
        if self.tools is not None:
            used += engine.count_tokens(json.dumps(self.tools.schemas()))
        room = engine.info.n_ctx - used - self.params.max_tokens - 2 * MESSAGE_OVERHEAD
        budget = min(engine.info.n_ctx // TOOL_SHARE, room)
        tokens = engine.count_tokens(text)
        if tokens <= budget:
            return text
        note = (f"[... cut to fit the model's context: {{kept:,}} of {len(text):,} "
                "characters; ask for less, e.g. a smaller max_bytes]")  # fmt: skip
        keep = int(len(text) * max(budget, 0) / tokens)
        while keep > 0 and engine.count_tokens(text[:keep]) + 40 > budget:
            keep = int(keep * 0.8)
        if keep <= 0:
            return ("[the result does not fit in what is left of the model's context; "
                    "start a new conversation or ask for less]")  # fmt: skip
        return text[:keep] + "\n" + note.format(kept=keep)
def answer_fields(stream: Stream, status: str) -> dict[str, Any]:
    """`Log.update` fields that finalize an answer's row from its ended stream: text,
    status ("interrupted" if the stream was cancelled), counts, timings, and the adapter it
    really ran on (a swap may come between logging the row and the generation taking the
    engine's lock). Shared with the API server's recorder."""
    result = stream.result
    fields: dict[str, Any] = {"content": stream.text, "status": status,
                              "adapter": stream.adapter}  # fmt: skip
    if result is not None:
        if status == "complete" and result.interrupted:
            fields["status"] = "interrupted"
        fields.update(
            prompt_tokens=result.usage.prompt_tokens or None,
            completion_tokens=result.usage.completion_tokens,
            ttft_ms=result.ttft_ms,
            duration_ms=result.duration_ms,
            meta={"finish_reason": result.usage.finish_reason,
                  **({"tool_errors": result.tool_errors} if result.tool_errors else {})},
        )  # fmt: skip
    return fields


def _call_id() -> str:
    return "call_" + new_id()[-12:]
