"""From a checked request to the engine and back: the OpenAI layer's core, HTTP-free.

    handler = ChatHandler(engine, names)                 # + queue, server tools, options
    job = handler.prepare(request)                       # APIError for what the engine refuses
    ticket = handler.admit()                             # APIError 429 when the line is full
    for event in handler.run(job, ticket, cancel): ...   # in a worker thread

`run` yields typed events (`Started`, `Delta`, `RoundEnded`, `ToolRan`, `Finished`): the
router turns them into a response or SSE chunks, and an observer the application passes in
may record them (the local server logs them; a host does not). Nothing here logs, matches
conversations or knows which tools exist: server-side tools come in through `ServerTools`.

Tools: a request with `tools` gets the model's calls back (`Finished.message["tool_calls"]`)
to run itself. A request without any, on a handler given `ServerTools`, is offered those;
the handler runs each call through them and lets the model continue, at most `max_rounds`
generations in all, on the adapter the first one ran on.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from personal.api.errors import APIError, invalid, queue_full, server_error
from personal.api.names import Names, Target
from personal.api.queue import GenerationQueue, QueueFull, Ticket
from personal.api.schema import AssistantMessage, ChatCompletionRequest, NamedToolChoice, text_of
from personal.engine.base import SLOT, Engine, GenerationParams, Message, Stream
from personal.engine.toolcall import ToolCall
from personal.errors import AdapterError, EngineError, PersonalError

DEFAULT_MAX_TOKENS = 1024
DEFAULT_TEMPERATURE = 0.7
ROUND_JOINT = "\n\n"  # between the visible text of two generations of one answer


@dataclass(frozen=True)
class ToolOutcome:
    content: str  # what the model reads back
    ok: bool = True
    error: str | None = None
    duration_ms: float = 0.0


class ServerTools(Protocol):
    """Tools the server runs itself for clients that bring none."""

    def schemas(self) -> list[dict[str, Any]]: ...

    def call(self, call: ToolCall, source: str | None = None) -> ToolOutcome:
        """Run `call`; `source`: the logged user message of the turn (what a tool that
        keeps something, like a note, records as its origin)."""
        ...


@dataclass
class Job:
    """A request made ready for the engine."""

    request: ChatCompletionRequest
    target: Target
    client_messages: list[Message]  # the request's messages as plain OpenAI dicts
    messages: list[Message]  # what the engine reads (a default system prompt may be added)
    params: GenerationParams
    tools: list[dict[str, Any]] | None  # the client's tools, offered to the model
    server_tools: bool  # offer the server's own tools instead
    source: str | None = None  # the logged user message this answers (set by a recorder)
    id: str = field(default_factory=lambda: "chatcmpl-" + secrets.token_hex(12))
    created: int = field(default_factory=lambda: int(time.time()))


# --- events -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Started:
    """A generation took the engine; `adapter` is the revision it runs on (None: base)."""

    round: int
    adapter: str | None
    ttft_ms: float | None = None  # the engine's time to this generation's first piece
    waited_ms: float = 0.0  # time in the queue before it


@dataclass(frozen=True)
class Delta:
    text: str
    joint: bool = False  # the separator between two generations' text, not model output


@dataclass(frozen=True)
class RoundEnded:
    round: int
    stream: Stream
    status: str  # "complete" | "interrupted" | "error"
    calls: list[ToolCall]  # the calls it made, with the ids the answer gives them


@dataclass(frozen=True)
class ToolRan:
    call: ToolCall
    outcome: ToolOutcome


@dataclass(frozen=True)
class Finished:
    message: dict[str, Any]  # the assistant message as the client receives it
    finish_reason: str  # "stop" | "length" | "tool_calls"
    prompt_tokens: int
    completion_tokens: int
    adapter: str | None
    interrupted: bool


Event = Started | Delta | RoundEnded | ToolRan | Finished


class Cancellation:
    """Set from any thread: stops the queue wait or the generation in flight."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.stream: Stream | None = None

    def set(self) -> None:
        self.event.set()
        if self.stream is not None:
            self.stream.cancel()

    def is_set(self) -> bool:
        return self.event.is_set()


class ChatHandler:
    def __init__(
        self,
        engine: Engine,
        names: Names,
        *,
        queue: GenerationQueue | None = None,
        tools: ServerTools | None = None,
        default_system: str | None = None,
        isolate: bool = False,
        max_rounds: int = 3,
        hold: Callable[[Job], AbstractContextManager[Any]] | None = None,
    ):
        self.engine = engine
        # what a generation holds from its turn to its end (a host: its adapter's residency)
        self.hold = hold
        self.names = names
        self.queue = queue or GenerationQueue()
        self.tools = tools
        self.default_system = default_system
        self.isolate = isolate  # forget the cached prompt prefix before every request
        self.max_rounds = max_rounds

    # --- before the queue ---------------------------------------------------------------------
    def prepare(self, request: ChatCompletionRequest) -> Job:
        target = self.names.resolve(request.model)
        n_ctx = self.engine.info.n_ctx
        max_tokens = request.max_completion_tokens or request.max_tokens or DEFAULT_MAX_TOKENS
        if max_tokens > n_ctx:
            param = "max_completion_tokens" if request.max_completion_tokens else "max_tokens"
            raise invalid(f"{param} is {max_tokens}, but the model's context holds {n_ctx} "
                          f"tokens, prompt included: ask for at most {n_ctx}.", param=param,
                          code="max_tokens_too_large")  # fmt: skip
        client = [_plain(m) for m in request.messages]
        prompt = sum(self.engine.count_tokens(str(m.get("content") or "")) for m in client)
        if prompt >= n_ctx:
            raise context_exceeded(prompt, n_ctx)
        tools, force = self._tools(request)
        messages = list(client)
        if self.default_system and not any(m["role"] == "system" for m in client):
            messages.insert(0, {"role": "system", "content": self.default_system})
        params = GenerationParams(
            max_tokens=max_tokens,
            temperature=DEFAULT_TEMPERATURE if request.temperature is None else request.temperature,
            top_p=1.0 if request.top_p is None else request.top_p,
            seed=None if request.seed is None else request.seed % 2**32,
            stop=request.stops(), force_tool=force,
        )  # fmt: skip
        server_tools = (
            self.tools is not None and not request.tools and request.tool_choice != "none"
        )
        return Job(request, target, client, messages, params, tools, server_tools)

    def _tools(self, request: ChatCompletionRequest) -> tuple[list[dict] | None, bool]:
        if not request.tools or request.tool_choice == "none":
            return None, False
        tools = [t.model_dump(exclude_none=True) for t in request.tools]
        choice = request.tool_choice
        if isinstance(choice, NamedToolChoice):
            tools = [t for t in tools if t["function"]["name"] == choice.function.name]
        force = choice == "required" or isinstance(choice, NamedToolChoice)
        if force and not self.engine.forces_tools:
            raise invalid(f"the {self.engine.info.backend} engine cannot force a tool call",
                          param="tool_choice")  # fmt: skip
        try:
            self.engine.check_tools(tools)
        except ValueError as e:
            raise invalid(str(e), param="tools", code="invalid_tool_schema") from None
        return tools, force

    def admit(self) -> Ticket:
        try:
            return self.queue.join()
        except QueueFull as e:
            raise queue_full(e.retry_after, e.waiting) from None

    # --- in a worker thread -------------------------------------------------------------------
    def run(self, job: Job, ticket: Ticket, cancel: Cancellation) -> Iterator[Event]:
        """Wait for the engine, then generate. Errors before the first event are raised
        as they are (nothing has happened yet); see `as_api_error`."""
        try:
            if not ticket.wait(cancel.event):
                return
            with self.hold(job) if self.hold else nullcontext():
                yield from self._rounds(job, cancel, ticket.waited_s * 1000)
        finally:
            ticket.leave()

    def _rounds(self, job: Job, cancel: Cancellation, waited_ms: float) -> Iterator[Event]:
        messages, adapter = list(job.messages), job.target.adapter
        texts: list[str] = []  # each generation's visible text
        prompt = completion = 0
        for n in range(self.max_rounds):
            offer = job.tools
            if job.server_tools and n < self.max_rounds - 1:
                offer = self.tools.schemas() if self.tools else None
            params = job.params if n == 0 else replace(job.params, force_tool=False)
            stream = self.engine.chat(messages, params, tools=offer, adapter=adapter,
                                      fresh=self.isolate and n == 0)  # fmt: skip
            cancel.stream = stream
            if cancel.is_set():
                stream.cancel()
            started = False
            try:
                for piece in stream:
                    if not started:
                        started = True
                        yield Started(n, stream.adapter, stream.ttft_ms, waited_ms)
                        if any(texts):
                            yield Delta(ROUND_JOINT, joint=True)
                    yield Delta(piece)
            except Exception:
                if started:
                    yield RoundEnded(n, stream, "error", [])
                raise
            result = stream.result
            assert result is not None
            if not started:
                yield Started(n, stream.adapter, stream.ttft_ms, waited_ms)
            texts.append(result.text)
            prompt += result.usage.prompt_tokens
            completion += result.usage.completion_tokens
            calls = [ToolCall(_call_id(), c.name, c.arguments) for c in result.tool_calls]
            yield RoundEnded(n, stream, "interrupted" if result.interrupted else "complete", calls)
            if n == 0 and adapter is SLOT:  # later rounds stay on the revision that answered
                adapter = self._pinned(stream.adapter)
            if result.interrupted or not calls or job.tools is not None or self.tools is None:
                break
            messages.append({"role": "assistant", "content": result.text,
                             "tool_calls": [c.openai() for c in calls]})  # fmt: skip
            for call in calls:
                outcome = self.tools.call(call, job.source)
                yield ToolRan(call, outcome)
                messages.append({"role": "tool", "tool_call_id": call.id, "name": call.name,
                                 "content": outcome.content})  # fmt: skip
        yield self._finished(
            job, stream, calls, ROUND_JOINT.join(t for t in texts if t), prompt, completion
        )

    def _pinned(self, revision: str | None) -> Any:
        if revision is None:
            return None
        try:
            return self.names.ref(revision)
        except PersonalError:
            return SLOT

    def _finished(self, job: Job, stream: Stream, calls: list[ToolCall], text: str,
                  prompt: int, completion: int) -> Finished:  # fmt: skip
        result = stream.result
        assert result is not None
        message: dict[str, Any] = {"role": "assistant", "content": text}
        finish = {"length": "length", "tool_calls": "tool_calls"}.get(
            result.usage.finish_reason, "stop"
        )
        if calls and job.tools is not None:  # the client runs its own tools
            message = {"role": "assistant", "content": text.strip() or None,
                       "tool_calls": [c.openai() for c in calls]}  # fmt: skip
            finish = "tool_calls"
        elif finish == "tool_calls":  # server tools ran out of rounds, or a call was unreadable
            finish = "stop"
        return Finished(message, finish, prompt, completion, stream.adapter, result.interrupted)


def context_exceeded(prompt: int, n_ctx: int) -> APIError:
    return invalid(f"The messages are {prompt} tokens; the model's context holds {n_ctx}. "
                   "Send fewer or shorter messages.", param="messages",
                   code="context_length_exceeded")  # fmt: skip


def as_api_error(error: BaseException) -> APIError:
    """What a failure inside `run` means for the client."""
    from personal.engine.llama import ContextOverflow

    if isinstance(error, APIError):
        return error
    if isinstance(error, ContextOverflow):
        return invalid(f"{error.message}. Send fewer or shorter messages.", param="messages",
                       code="context_length_exceeded")  # fmt: skip
    if isinstance(error, AdapterError):
        return invalid(f"the adapter cannot be used: {error.message}", param="model",
                       code="adapter_unusable")  # fmt: skip
    if isinstance(error, EngineError | PersonalError):
        return server_error(f"the model failed: {error.message}")
    return server_error(f"internal error ({type(error).__name__}); the server keeps serving")


def _plain(message: Any) -> Message:
    """A checked message as an OpenAI dict with text content ("developer" → "system")."""
    role = "system" if message.role == "developer" else message.role
    out: dict[str, Any] = {"role": role, "content": text_of(message.content)}
    if isinstance(message, AssistantMessage):
        if message.content is None:
            out["content"] = None
        if message.tool_calls:
            out["tool_calls"] = [c.model_dump() for c in message.tool_calls]
    if role == "tool":
        out["tool_call_id"] = message.tool_call_id
    return out


def _call_id() -> str:
    return "call_" + secrets.token_hex(8)
