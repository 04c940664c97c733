"""Running a turn for the chat screen: a worker thread iterates `ChatSession.events`
(which keeps the log up to date) and posts each event back; the screen only renders.

At most one generation runs at a time. A tool with side effects asks first: the worker
posts `ConfirmTool` and waits; the screen shows the yes/no dialog and answers (no, if
the turn is stopped meanwhile).
"""

from __future__ import annotations

import asyncio
import json
import threading
from contextlib import closing
from typing import TYPE_CHECKING

from textual import work

from personal.chat.events import AnswerStarted, TextDelta, ToolCalled, ToolProblem, ToolReturned
from personal.chat.session import ChatSession, Turn
from personal.errors import InvalidSignal, PersonalError
from personal.printable import printable
from tui import messages
from tui.confirm import ConfirmScreen
from tui.widgets import AssistantMessage, StatusBar
from tui.widgets.status_bar import tokens_per_second

if TYPE_CHECKING:
    from personal.tools import Tool
    from tui.chat_screen import ChatScreen

STOP_TIMEOUT = 10.0  # seconds to wait for a cancelled generation to wind down
PROMPT = "Message, or /help (enter sends; esc: the answers)"
PROMPT_BUSY = "Answering… esc stops it"
PREFERENCE_NOTICE = "Noted preference: {text} (/prefs to review)"


class Busy(PersonalError):
    pass


class TurnRunner:
    """The chat screen's half that starts turns and renders what they report."""

    _turn: Turn | None = None
    _answer: AssistantMessage | None = None  # the answer being streamed now
    _generation = 0  # bumped per turn: messages of an older one are ignored
    _confirming: ConfirmScreen | None = None
    _starting = False  # a turn is being logged (and read for preferences) off the UI thread

    def _init_turns(self: ChatScreen) -> None:
        self._idle = threading.Event()  # clear while a worker thread is generating
        self._idle.set()

    @property
    def busy(self) -> bool:
        """Whether an answer is being generated (or its turn being started)."""
        return self._turn is not None or self._starting

    def _set_busy(self: ChatScreen, turn: Turn | None) -> None:
        self._turn = turn
        if turn is None:
            self._answer = None
        self.prompt.placeholder = PROMPT_BUSY if turn else PROMPT
        self.prompt.set_class(turn is not None, "-busy")
        self.query_one(StatusBar).show_busy(turn is not None)
        self.refresh_bindings()

    def _check_idle(self) -> None:
        if self.busy:
            raise Busy("an answer is still streaming", hint="wait for it, or press esc to stop it")

    # --- starting ------------------------------------------------------------------
    async def send(self: ChatScreen, text: str) -> None:
        """Log `text` as the user's turn and stream the answer into the view."""
        self._check_idle()
        self._starting = True
        try:  # logging and reading the message for preferences stay off the event loop
            turn = await asyncio.to_thread(self.session.start, text)  # PersonalError: not logged
        finally:
            self._starting = False
        for pref in self.session.preferences_found:
            self.notify(PREFERENCE_NOTICE.format(text=printable(pref.text)), timeout=8, markup=False)
        await self.chat_view.add_turn(text)
        await self._begin(turn, turn.assistant_id)
        self.refresh_conversations()  # a new conversation, or a new title

    async def invoke_tool(self: ChatScreen, command: str) -> None:
        """Run a tool the person typed ("/calc 17*23"), then stream the model's answer.
        Unknown tools and bad arguments raise before anything is logged."""
        self._check_idle()
        turn = self.session.invoke(command)
        await self.chat_view.add_turn(command)
        await self._begin(turn, None)  # the tool line comes first, the answer after it
        self.refresh_conversations()

    async def regenerate(self: ChatScreen) -> None:
        """Answer the last question again; the old answer stays, marked rejected."""
        self._check_idle()
        if self.session.conversation_id is None:  # (regenerate() would start one)
            raise InvalidSignal("there is no answer to regenerate yet")
        turn = self.session.regenerate()  # InvalidSignal if there is nothing to redo
        await self.chat_view.show_states(self.chat_log.answer_states(turn.user.conversation_id))
        await self._begin(turn, turn.assistant_id)

    async def _begin(self: ChatScreen, turn: Turn, answer_id: str | None) -> None:
        self._generation += 1
        self._set_busy(turn)
        if answer_id is not None:
            self._answer = await self.chat_view.add_answer(self.engine.info.model, answer_id)
        self._idle.clear()
        self._generate(self.session, turn, self._generation)

    @work(thread=True, exclusive=True, group="generate", exit_on_error=False)
    def _generate(self: ChatScreen, session: ChatSession, turn: Turn, generation: int) -> None:
        """Iterate the turn in this thread (engines lock per thread) and post it back."""
        status, error = "complete", None
        try:
            with closing(session.events(turn)) as events:
                for event in events:
                    self.post_message(messages.TurnEvent(generation, event))
            if turn.result is not None and turn.result.interrupted:
                status = "interrupted"
        except Exception as e:  # an engine or log failure must not take the UI down
            status, error = "error", e
        finally:
            self._idle.set()
        self.post_message(messages.AnswerEnded(generation, status, turn.result, error))

    # --- rendering what the worker reports -------------------------------------------
    def _mine(self, generation: int) -> bool:
        """Whether a message is about the turn in flight (not one stopped before)."""
        return self._turn is not None and generation == self._generation

    async def on_turn_event(self: ChatScreen, message: messages.TurnEvent) -> None:
        if not self._mine(message.generation):
            return
        event, view = message.event, self.chat_view
        if isinstance(event, TextDelta):
            if self._answer is not None and self._answer.is_attached:
                await self._answer.write(event.text)
        elif isinstance(event, ToolCalled):
            if self._answer is not None and self._answer.message_id == event.message_id:
                self._answer.called_tools = True
            await view.add_tool_call(event.call, event.message_id)
        elif isinstance(event, ToolReturned):
            if (line := view.tool_line(event.call.id)) is not None:
                line.show_tool_result(event.result)
        elif isinstance(event, AnswerStarted):
            await self._close_answer("complete")
            self._answer = await view.add_answer(self.engine.info.model, event.message_id)
        elif isinstance(event, ToolProblem):
            problems = "; ".join(event.errors)
            self.notify(f"The model wrote a tool call that could not be read: {problems}",
                        severity="warning", timeout=8, markup=False)  # fmt: skip

    async def _close_answer(self: ChatScreen, status: str) -> None:
        """Finish the streamed answer; one that only called tools (no text) goes away."""
        answer, self._answer = self._answer, None
        if answer is None or not answer.is_attached:
            return
        await answer.finish(status)
        if answer.called_tools and not answer.source.strip():
            await answer.remove()
            self.chat_view.select(None)

    async def on_answer_ended(self: ChatScreen, message: messages.AnswerEnded) -> None:
        if not self._mine(message.generation):
            return
        await self._close_answer(message.status)
        self._set_busy(None)
        status_bar = self.query_one(StatusBar)
        status_bar.show_engine(self.engine)
        if message.status != "error":
            status_bar.show_speed(tokens_per_second(message.result))
        if message.error is not None:
            self.show_error(message.error)
        self.refresh_conversations()

    # --- confirming tools with side effects -------------------------------------------
    def confirm_tool(self: ChatScreen, tool: Tool, arguments: dict) -> bool:
        """ChatSession's `confirm`, called in the worker thread: ask on the UI thread
        and wait for the answer (no, if the turn is stopped or the app goes away)."""
        turn, request = self._turn, messages.ConfirmTool(self._generation, tool, arguments)
        if turn is None or not self.post_message(request):
            return False
        while not request.answered.wait(0.05):
            if turn.cancelled or self._turn is not turn:
                return False
        return request.reply[0]

    def on_confirm_tool(self: ChatScreen, request: messages.ConfirmTool) -> None:
        if not self._mine(request.generation):
            request.answer(False)
            return
        tool, args = request.tool, json.dumps(request.arguments, ensure_ascii=False)
        detail = f"{tool.description}\n\nArguments: {args}\nThis tool can change things."

        def answered(yes: bool | None) -> None:
            self._confirming = None
            request.answer(bool(yes))

        self._confirming = ConfirmScreen(f"Run the tool {tool.name}?", detail, yes="Run")
        self.app.push_screen(self._confirming, answered)

    # --- stopping --------------------------------------------------------------------
    async def stop_generation(self: ChatScreen) -> None:
        """Cancel the answer in flight (if any) and wait until it is logged as such."""
        if self._turn is None:
            return
        self._turn.cancel()
        if self._confirming is not None and self._confirming.is_current:
            self._confirming.dismiss(False)  # the worker stops waiting for it anyway
        await asyncio.to_thread(self._idle.wait, STOP_TIMEOUT)  # the worker logs it
        if self._answer is not None:
            await self._answer.finish("interrupted")
        self._set_busy(None)

    def cancel_generation(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Cancel any answer in flight and wait (from any thread) for its worker to end,
        so that the engine can be closed; False if it did not end in time."""
        if (turn := self._turn) is not None:
            turn.cancel()
        return self._idle.wait(timeout)
