"""The one small interface every inference engine implements.

An engine holds one loaded base model and, optionally, one attached LoRA adapter. It turns
a list of OpenAI-shaped chat messages into a stream of text pieces. Everything above this
layer (chat, CLI, TUI) talks only to `Engine` and `Stream`; llama.cpp, MLX and the fake
engine live behind it.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from personal.engine.stops import StopFilter
from personal.engine.toolcall import OPEN, ToolCall, parse, to_text_messages

Message = dict[str, Any]  # OpenAI chat-message shape: {"role": ..., "content": ..., ...}


@dataclass(frozen=True)
class GenerationParams:
    """How to sample. Defaults suit a small chat model."""

    max_tokens: int = 512
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    repeat_penalty: float = 1.1
    seed: int | None = None
    stop: tuple[str, ...] = ()
    # OpenAI-shaped tool schemas the model may call; set through `Engine.chat(tools=...)`.
    tools: tuple[dict[str, Any], ...] = ()
    # Start the answer with a call to one of `tools` (OpenAI's tool_choice "required"; pass
    # one tool to force that one). Engines that cannot do this say so: `forces_tools`.
    force_tool: bool = False


@dataclass(frozen=True)
class Usage:
    """What a finished (or cancelled) generation cost. Returned by `_generate`."""

    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" | "length" | "cancelled" | "tool_calls"


@dataclass
class Completion:
    """The outcome of a stream, available as `Stream.result` once it has ended."""

    text: str  # what the user sees: the model's text before any tool call
    usage: Usage
    ttft_ms: float | None  # time to first piece
    duration_ms: float
    adapter: str | None  # the adapter id the stream started with (None: base only)
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_errors: list[str] = field(default_factory=list)  # calls that could not be read
    raw: str = ""  # everything the model produced, tool-call text included

    @property
    def interrupted(self) -> bool:
        return self.usage.finish_reason == "cancelled"


@dataclass(frozen=True)
class AdapterRef:
    """A LoRA adapter attached to a live engine."""

    id: str  # a revision id or other stable name, recorded with every message
    path: Path
    scale: float = 1.0


@dataclass(frozen=True)
class EngineInfo:
    backend: str  # "llama.cpp" | "mlx" | "fake"
    model: str  # catalog name or file name
    fingerprint: str  # content hash of the base model file
    n_ctx: int
    extra: dict[str, Any] = field(default_factory=dict)


class Stream:
    """An in-flight generation: iterate for text pieces, `cancel()` from any thread.

    Exhausting (or abandoning, or cancelling) the iterator fills `result`. The adapter a
    stream starts with is the one it finishes with: engines take the adapter under a lock
    at start, and swaps wait for in-flight generations. With tools, text from the start
    of a tool call on is not yielded; it is parsed into `result.tool_calls`.
    """

    def __init__(
        self, pieces: Generator[str, None, Usage], adapter: str | None, tools: bool = False
    ):
        self._pieces = pieces
        self._cancel = threading.Event()
        self.adapter = adapter  # set again when the generation takes the engine's lock
        self._raw: list[str] = []
        self._shown: list[str] = []
        self._gate = StopFilter((OPEN,)) if tools else None
        self._in_call = False
        self._start = time.perf_counter()
        self._ttft: float | None = None
        self.result: Completion | None = None

    @property
    def cancel_event(self) -> threading.Event:
        return self._cancel

    @property
    def ttft_ms(self) -> float | None:
        """Milliseconds from the start to the first piece (None before it)."""
        return self._ttft

    @property
    def text(self) -> str:
        """The visible text generated so far."""
        return "".join(self._shown)

    def cancel(self) -> None:
        self._cancel.set()

    def _visible(self, piece: str) -> str:
        if self._gate is None:
            return piece
        if self._in_call:
            return ""
        out, stop = self._gate.feed(piece)
        self._in_call = stop is not None
        return out

    def __iter__(self) -> Iterator[str]:
        usage: Usage | None = None
        try:
            while True:
                try:
                    piece = next(self._pieces)
                except StopIteration as stop:
                    usage = stop.value
                    break
                if self._ttft is None:
                    self._ttft = (time.perf_counter() - self._start) * 1000
                self._raw.append(piece)
                shown = self._visible(piece)
                if shown:
                    self._shown.append(shown)
                    yield shown
            if self._gate is not None and not self._in_call and self._gate.pending:
                tail = self._gate.flush()
                self._shown.append(tail)
                yield tail
        finally:
            if usage is None:  # cancelled, abandoned or raised: close the engine side
                self._pieces.close()
                usage = Usage(0, len(self._raw), "cancelled")
            self.result = self._finish(usage)

    def _finish(self, usage: Usage) -> Completion:
        raw = "".join(self._raw)
        parsed = parse(raw) if self._in_call else None
        if parsed and parsed.calls and usage.finish_reason != "cancelled":
            usage = Usage(usage.prompt_tokens, usage.completion_tokens, "tool_calls")
        return Completion(
            text=self.text,
            usage=usage,
            ttft_ms=self._ttft,
            duration_ms=(time.perf_counter() - self._start) * 1000,
            adapter=self.adapter,
            tool_calls=parsed.calls if parsed else [],
            tool_errors=parsed.errors if parsed else [],
            raw=raw,
        )

    def complete(self) -> Completion:
        """Run to the end and return the result."""
        for _ in self:
            pass
        assert self.result is not None
        return self.result


class _Slot:
    def __repr__(self) -> str:
        return "SLOT"


SLOT: Any = _Slot()  # `Engine.chat(adapter=SLOT)`: the adapter attached to the engine


class Engine(ABC):
    """A loaded base model that can chat, with a slot for one LoRA adapter (the default
    for every request) and an optional adapter per request."""

    info: EngineInfo
    forces_tools = False  # whether GenerationParams.force_tool is honoured
    batch_slots = 1  # how many conversations `chat_many` advances together

    def __init__(self) -> None:
        self._adapter: AdapterRef | None = None  # the slot
        self._live: AdapterRef | None = None  # what the backend has active right now
        # Held for the whole of a generation; adapter swaps take it too, so a generation
        # in flight finishes on the adapter it started with.
        self._lock = threading.RLock()

    # --- chat -----------------------------------------------------------------------
    def chat(
        self,
        messages: list[Message],
        params: GenerationParams | None = None,
        tools: list[dict[str, Any]] | None = None,
        *,
        adapter: AdapterRef | None = SLOT,
        fresh: bool = False,
    ) -> Stream:
        """Start generating the assistant's reply to `messages`, optionally with tools.

        `adapter` picks the LoRA adapter for this request only (None: the bare base); by
        default the engine's attached adapter is used. Either way it is made active when
        the generation takes the engine's lock and recorded in `Stream.result.adapter`.
        `fresh` forgets any cached prompt prefix first (a prefix computed for an earlier
        request is otherwise reused when its tokens and adapter are the same).

        Engines receive messages in text form (tool calls rendered, tools described in
        the system prompt; see `toolcall`), so every engine and the training data share
        one prompt format.
        """
        params = replace(params or GenerationParams(), tools=tuple(tools or ()))
        if not params.tools:  # call markup is never shown: without tools, it ends the answer
            params = replace(params, stop=(*params.stop, OPEN))
        text_messages = to_text_messages(messages, list(params.tools))
        stream: Stream

        def locked() -> Generator[str, None, Usage]:
            with self._lock:
                # the adapter is fixed from here to the end of this generation
                ref = self._adapter if adapter is SLOT else adapter
                self._use(ref)
                if fresh:
                    self._forget_prefix()
                stream.adapter = ref.id if ref else None
                return (yield from self._generate(text_messages, params, stream.cancel_event))

        wanted = self._adapter if adapter is SLOT else adapter
        stream = Stream(locked(), wanted.id if wanted else None, tools=bool(params.tools))
        return stream

    def chat_many(
        self,
        conversations: list[list[Message]],
        params: GenerationParams | None = None,
        tools: list[dict[str, Any]] | None = None,
        *,
        adapter: AdapterRef | None = SLOT,
        seeds: list[int | None] | None = None,
        until: list[tuple[str, ...]] | None = None,
    ) -> list[Completion]:
        """Complete many conversations (no streaming, no cancel), in their order: what the
        learning loop's teacher and gate need. `seeds[i]` seeds conversation i's sampling.
        `until[i]`: strings that, once answer i's text names one (engine/mention.py),
        decide what the caller wants of it: an engine may end the answer there (finish
        reason "stop"), so its text is a prefix of the full answer that names it; this default
        generates the whole answer.
        This default runs them one by one; an engine may batch them (llama.cpp does), in
        which case a greedy answer may part from `chat`'s at a near-tie (the arithmetic
        of a batch differs slightly), and a started tool call is generated freely rather
        than under a grammar."""
        params = params or GenerationParams()
        out = []
        for i, messages in enumerate(conversations):
            seed = seeds[i] if seeds else params.seed
            stream = self.chat(messages, replace(params, seed=seed), tools, adapter=adapter)
            out.append(stream.complete())
        return out

    def _use(self, ref: AdapterRef | None) -> None:
        """Make `ref` the backend's active adapter (None: none), unless it already is.
        Called with the lock held; raises AdapterError if `ref` cannot be loaded."""
        if ref == self._live:
            return
        if ref is None:
            self._detach()
        else:
            self._attach(ref)
        self._live = ref

    @abstractmethod
    def _generate(
        self, messages: list[Message], params: GenerationParams, cancel: threading.Event
    ) -> Generator[str, None, Usage]:
        """Yield text pieces until done, `cancel` is set or `max_tokens`; return Usage."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens in `text` under this model's tokenizer (special tokens parsed)."""

    def check_tools(self, tools: list[dict[str, Any]]) -> None:  # noqa: B027 - optional hook
        """Raise ValueError if this engine cannot generate calls to `tools` (a schema its
        call grammar cannot express). Nothing to check by default."""

    def _forget_prefix(self) -> None:  # noqa: B027 - optional hook: nothing cached
        """Drop any cached prompt prefix (called with the lock held)."""

    # --- measurements (probes and audits; optional) ---------------------------------
    def next_logprobs(
        self, messages: list[Message], *, prefix: str = "", adapter: AdapterRef | None = SLOT
    ) -> tuple[list[int], Any]:
        """(prompt token ids, log-probabilities of every vocabulary token next) after
        `messages` rendered with the generation prompt and `prefix` (the start of an
        answer), under `adapter`. Engines that cannot say raise EngineError."""
        from personal.errors import EngineError

        raise EngineError(f"the {self.info.backend} engine cannot report next-token "
                          "distributions")  # fmt: skip

    # --- adapter residency (a host keeps many adapters loaded; optional) ------------
    def preload(self, ref: AdapterRef) -> None:  # noqa: B027 - optional hook
        """Load `ref` into memory without making it active, so a later request on it
        only activates it. Raises AdapterError if it cannot be loaded."""

    def evict(self, ref: AdapterRef) -> None:  # noqa: B027 - optional hook
        """Free `ref`'s memory (deactivating it first if it is active). Unknown: no-op."""

    # --- adapters -------------------------------------------------------------------
    @property
    def adapter(self) -> AdapterRef | None:
        return self._adapter

    def attach_adapter(self, ref: AdapterRef) -> None:
        """Make `ref` the active adapter (replacing any other) without reloading the base.

        Raises AdapterError and keeps the previous adapter if `ref` cannot be loaded.
        """
        with self._lock:
            self._use(ref)
            self._adapter = ref

    def detach_adapter(self) -> None:
        with self._lock:
            self._use(None)
            self._adapter = None

    def _attach(self, ref: AdapterRef) -> None:
        from personal.errors import AdapterError

        raise AdapterError(f"the {self.info.backend} engine cannot attach adapters yet")

    def _detach(self) -> None:  # noqa: B027 - optional hook: nothing attached, nothing to do
        pass

    def close(self) -> None:  # noqa: B027 - optional hook
        """Free the model. The engine is unusable afterwards."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
