"""A conversation with the model, logged as it happens.

`ChatSession` is what the CLI and the TUI use: they never call an engine themselves. Each
user turn is written to the log before generation starts; the assistant's answer is
written as a "streaming" row that is updated while tokens arrive and finalized as
"complete", "interrupted" (cancel, Ctrl-C) or "error", so a partial answer survives
anything short of a power cut.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from personal.engine.base import Completion, Engine, GenerationParams, Message, Stream
from personal.log import Log, LoggedMessage

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful, concise assistant. Answer the question directly."
)
FLUSH_SECONDS = 0.5  # how often a streaming answer's text is saved


@dataclass
class Turn:
    """One exchange: the logged user message and the assistant reply as it streams."""

    user: LoggedMessage
    assistant_id: str
    stream: Stream

    @property
    def result(self) -> Completion | None:
        return self.stream.result

    def cancel(self) -> None:
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
    ):
        self.engine = engine
        self.log = log
        self.system_prompt = system_prompt
        self.params = params or GenerationParams()
        self.conversation_id = log.conversation(conversation_id).id if conversation_id else None

    def _ensure_conversation(self) -> str:
        if self.conversation_id is None:
            conv = self.log.create_conversation(source="chat")
            self.conversation_id = conv.id
            if self.system_prompt:
                self.log.append(conv.id, {"role": "system", "content": self.system_prompt})
        return self.conversation_id

    def history(self) -> list[Message]:
        return self.log.history(self.conversation_id) if self.conversation_id else []

    def send(self, text: str, params: GenerationParams | None = None) -> Iterator[str]:
        """Log `text` as the user's turn and stream the reply; see `start` for control."""
        turn = self.start(text, params)
        return self.run(turn)

    def start(self, text: str, params: GenerationParams | None = None) -> Turn:
        conv = self._ensure_conversation()
        user = self.log.append(conv, {"role": "user", "content": text})
        messages = self.log.history(conv)
        info = self.engine.info
        assistant = self.log.append(
            conv,
            {"role": "assistant", "content": ""},
            model=info.model,
            model_fingerprint=info.fingerprint,
            adapter=self.engine.adapter.id if self.engine.adapter else None,
            backend=info.backend,
            status="streaming",
        )
        stream = self.engine.chat(messages, params or self.params)
        return Turn(user=user, assistant_id=assistant.id, stream=stream)

    def run(self, turn: Turn) -> Iterator[str]:
        """Iterate the turn's stream, saving the answer as it grows and when it ends."""
        last_flush = time.monotonic()
        status = "complete"
        pieces = iter(turn.stream)
        try:
            for piece in pieces:
                yield piece
                if time.monotonic() - last_flush > FLUSH_SECONDS:
                    self.log.update(turn.assistant_id, content=turn.stream.text)
                    last_flush = time.monotonic()
        except (KeyboardInterrupt, GeneratorExit):
            status = "interrupted"  # Ctrl-C or the reader stopped: keep the partial answer
            raise
        except BaseException:
            status = "error"
            raise
        finally:
            pieces.close()  # ends the engine's generation and fills stream.result
            result = turn.stream.result
            if status == "complete" and result is not None and result.interrupted:
                status = "interrupted"
            self._finalize(turn, status)

    def _finalize(self, turn: Turn, status: str) -> None:
        result = turn.stream.result
        fields: dict = {"content": turn.stream.text, "status": status}
        if result is not None:
            fields.update(
                prompt_tokens=result.usage.prompt_tokens or None,
                completion_tokens=result.usage.completion_tokens,
                ttft_ms=result.ttft_ms,
                duration_ms=result.duration_ms,
                meta={"finish_reason": result.usage.finish_reason},
            )
        self.log.update(turn.assistant_id, **fields)
