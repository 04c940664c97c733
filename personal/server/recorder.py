"""Logging API traffic to the chat's log, one conversation per client conversation.

A `Recorder` observes one request's events (`personal.api.handler`) and writes what the
chat would: the new user (or tool-result) messages, each stated preference extracted from
them, an assistant row that streams and ends "complete", "interrupted" or "error", tool
calls and server-side tool results, with the model, revision and timings of every answer.

Nothing is written before the generation has taken the engine, so a refused request leaves
no trace. Then the request's history is matched against the conversations the API logged
(`personal.log.resend`): the continuation of a logged conversation is appended to it; a
regeneration of its last answer marks that answer rejected (as the chat's regenerate does);
anything else — a new conversation, an edited earlier turn — starts a new one.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from personal.api.handler import Delta, Finished, Job, RoundEnded, Started, ToolRan
from personal.chat.session import FLUSH_SECONDS, answer_fields
from personal.engine.base import EngineInfo
from personal.log import Log
from personal.log import resend as resend_marks
from personal.prefs.preferences import extract_from_message

SOURCE = "api"
log = logging.getLogger("personal.server")


class Recorder:
    def __init__(self, chat_log: Log, info: EngineInfo, job: Job, system_prompt: str | None):
        self.log, self.info, self.job = chat_log, info, job
        self.system_prompt = system_prompt  # logged first when the client sends none
        self.conversation_id: str | None = None
        self.answer_id: str | None = None
        self._text: list[str] = []
        self._flushed = 0.0
        self.preferences: list = []

    def __call__(self, event: Any) -> None:
        if isinstance(event, Started):
            if self.conversation_id is None:
                self._open()
            self._start_answer(event.adapter)
        elif isinstance(event, Delta) and not event.joint:
            self._text.append(event.text)
            if time.monotonic() - self._flushed > FLUSH_SECONDS and self.answer_id:
                self.log.update(self.answer_id, content="".join(self._text))
                self._flushed = time.monotonic()
        elif isinstance(event, RoundEnded):
            fields = answer_fields(event.stream, event.status)
            if event.calls:
                fields["tool_calls"] = [c.openai() for c in event.calls]
            self.log.update(self.answer_id or "", **fields)
        elif isinstance(event, ToolRan):
            out = event.outcome
            self.log.append(self.conversation_id or "", {
                "role": "tool", "tool_call_id": event.call.id, "name": event.call.name,
                "content": out.content}, meta={"ok": out.ok, "error": out.error,
                                               "duration_ms": out.duration_ms})  # fmt: skip
        elif isinstance(event, Finished):
            self._remember(event.message)

    # --- the conversation -------------------------------------------------------------------
    def _open(self) -> None:
        """Find the conversation this request continues (or start one) and log the
        messages the log does not have yet."""
        client = self.job.client_messages
        prefixes = resend_marks.digests(client[:-1]) if len(client) > 1 else []
        with self.log.locked() as db:
            found = resend_marks.find(db, prefixes)
            last = resend_marks.last_seq(db, found[0]) if found else 0
        new = client
        if found:
            conversation_id, seq, matched = found
            new = client[matched:]
            if seq == last:
                self.conversation_id = conversation_id
            elif self._regenerates(conversation_id, seq, new):
                self.conversation_id, new = conversation_id, new[1:]
        if self.conversation_id is None:
            self._create(branched=found[0] if found else None)
        for message in new:
            self._append_client(message)
        if self.job.source is None:  # a regeneration, or only tool results: the last question
            users = [m for m in self.log.messages(self.conversation_id or "") if m.role == "user"]
            self.job.source = users[-1].id if users else None

    def _create(self, branched: str | None) -> None:
        meta = {"branched_from": branched} if branched else None
        conversation = self.log.create_conversation(source=SOURCE, meta=meta)
        self.conversation_id = conversation.id
        client = self.job.client_messages
        if self.system_prompt and not any(m["role"] == "system" for m in client):
            self.log.append(conversation.id, {"role": "system", "content": self.system_prompt})

    def _regenerates(self, conversation_id: str, seq: int, new: list[dict]) -> bool:
        """The client asks again for the last answer: it resends the same user message
        that follows the matched point, and the log has only that exchange after it."""
        after = [m for m in self.log.messages(conversation_id) if m.seq > seq]
        users = [m for m in after if m.role == "user"]
        if len(new) != 1 or new[0]["role"] != "user" or len(users) != 1 or after[0] != users[0]:
            return False
        if (users[0].content or "").strip() != (new[0].get("content") or "").strip():
            return False
        answer = next((m for m in after if m.role == "assistant"), None)
        if answer is not None:
            self.log.regenerate_from(answer.id)
        return True

    def _append_client(self, message: dict) -> None:
        meta = {"from_client": True} if message["role"] == "assistant" else None
        logged = self.log.append(self.conversation_id or "", message, meta=meta)
        if logged.role == "user":  # "call me Sam", as in the chat
            self.job.source = logged.id  # a note the server's tools keep comes from here
            self.preferences += extract_from_message(self.log, logged)

    def _start_answer(self, adapter: str | None) -> None:
        info, request = self.info, self.job.request
        meta: dict[str, Any] = {"api": {"model": request.model, "id": self.job.id}}
        if self.job.tools:
            meta["api"]["client_tools"] = [t["function"]["name"] for t in self.job.tools]
        message = self.log.append(
            self.conversation_id or "", {"role": "assistant", "content": ""},
            model=info.model, model_fingerprint=info.fingerprint, adapter=adapter,
            backend=info.backend, status="streaming", meta=meta,
        )  # fmt: skip
        self.answer_id, self._text, self._flushed = message.id, [], time.monotonic()

    def _remember(self, answer: dict) -> None:
        """The client will resend its history plus this answer: mark that point."""
        digest = resend_marks.digests([*self.job.client_messages, answer])[-1]
        with self.log.transaction():
            seq = resend_marks.last_seq(self.log.db, self.conversation_id or "")
            resend_marks.remember(self.log.db, self.conversation_id or "", digest, seq)
