"""The chat screen: conversations on the left, the open one on the right, a prompt.

Data flows one way: the prompt logs the user's turn (`ChatSession.start`), a worker thread
iterates the answer (`ChatSession.run`, which keeps the log up to date) and posts each
piece back as a message; the screen only renders. At most one generation runs at a time:
a prompt submitted while an answer streams is refused (it stays in the input), and
switching, starting or deleting the open conversation first stops the answer.
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import closing

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label

from personal.chat import ChatSession, Turn
from personal.engine.base import Engine
from personal.errors import PersonalError
from personal.log import Log
from tui import commands, messages
from tui.confirm import ConfirmScreen
from tui.widgets import NEW_CHAT, AssistantMessage, ChatView, ConversationList, StatusBar
from tui.widgets.status_bar import tokens_per_second

LIST_LIMIT = 200  # conversations shown in the sidebar
STOP_TIMEOUT = 10.0  # seconds to wait for a cancelled generation to wind down
PROMPT = "Message (enter sends)"
PROMPT_BUSY = "Answering… esc stops it"


class Busy(PersonalError):
    pass


class ChatScreen(Screen[None]):
    """Chat with `engine`, logging to `log`; opens `conversation_id` if given."""

    CSS_PATH = "chat_screen.tcss"
    AUTO_FOCUS = "#prompt"
    BINDINGS = [
        Binding("ctrl+n", "new_chat", "New chat", priority=True),
        Binding("ctrl+l", "toggle_list", "Chats", priority=True),
        Binding("ctrl+d", "delete", "Delete chat", priority=True),
        Binding("delete", "delete", "Delete chat", show=False),
        Binding("escape", "stop", "Stop answer"),
    ]

    def __init__(self, engine: Engine, log: Log, conversation_id: str | None = None) -> None:
        super().__init__()
        self.engine, self.chat_log = engine, log  # (`log` is Textual's logger)
        self.session = ChatSession(engine, log)  # replaced on mount if one is to be opened
        self._initial = conversation_id
        self._turn: Turn | None = None
        self._answer: AssistantMessage | None = None
        self._idle = threading.Event()  # clear while a worker thread is generating
        self._idle.set()

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            with Vertical(id="sidebar"):
                yield Label("Conversations", id="sidebar-title")
                yield ConversationList(id="conversations")
            with Vertical(id="main"):
                yield ChatView(id="chat")
                yield Input(placeholder=PROMPT, id="prompt")
        yield StatusBar(self.engine, id="status")
        yield Footer()

    async def on_mount(self) -> None:
        await self.open_conversation(self._initial)
        self.prompt.focus()

    # --- state ---------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """Whether an answer is being generated."""
        return self._turn is not None

    @property
    def prompt(self) -> Input:
        return self.query_one("#prompt", Input)

    @property
    def conversation_list(self) -> ConversationList:
        return self.query_one(ConversationList)

    def _set_busy(self, turn: Turn | None, answer: AssistantMessage | None = None) -> None:
        self._turn, self._answer = turn, answer
        self.prompt.placeholder = PROMPT_BUSY if turn else PROMPT
        self.prompt.set_class(turn is not None, "-busy")
        self.query_one(StatusBar).show_busy(turn is not None)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.busy  # shown in the footer only while an answer streams
        return True

    def show_error(self, error: BaseException) -> None:
        """Report an error without crashing: the message, and what to do about it."""
        if isinstance(error, PersonalError):
            text = error.message + (f"\n{error.hint}" if error.hint else "")
        else:
            text = f"{type(error).__name__}: {error}"
        self.notify(text, title="Error", severity="error", timeout=10, markup=False)

    # --- conversations -------------------------------------------------------------
    def refresh_conversations(self) -> None:
        """Re-read the sidebar from the log (other processes may have changed it)."""
        try:
            conversations = self.chat_log.conversations(limit=LIST_LIMIT)
        except PersonalError as e:
            self.show_error(e)
            return
        self.conversation_list.show(conversations, self.session.conversation_id)

    async def open_conversation(self, conversation_id: str | None) -> None:
        """Show a logged conversation (None: a new, empty one) and chat in it."""
        await self.stop_generation()
        try:
            session = ChatSession(self.engine, self.chat_log, conversation_id)
            cid = session.conversation_id
            history = self.chat_log.messages(cid) if cid else []
        except PersonalError as e:
            self.show_error(e)
            self.refresh_conversations()
            return
        self.session = session
        await self.query_one(ChatView).show(history)
        self.refresh_conversations()

    async def delete_conversation(self, conversation_id: str) -> None:
        current = conversation_id == self.session.conversation_id
        if current:
            await self.stop_generation()
        try:
            removed = self.chat_log.forget(conversation_id)
        except PersonalError as e:
            self.show_error(e)
            self.refresh_conversations()
            return
        self.notify(f"Deleted the conversation ({removed} messages).")
        if current:
            await self.open_conversation(None)
        else:
            self.refresh_conversations()

    async def on_conversation_chosen(self, message: messages.ConversationChosen) -> None:
        chosen = None if message.conversation_id == NEW_CHAT else message.conversation_id
        if not (self.busy and chosen == self.session.conversation_id):
            await self.open_conversation(chosen)
        self.prompt.focus()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if event.widget is self.conversation_list:
            self.refresh_conversations()

    def refresh_from_log(self) -> None:
        """Re-read what other processes may have changed: the list, the adapter."""
        self.refresh_conversations()
        self.query_one(StatusBar).show_engine(self.engine)

    # --- actions -------------------------------------------------------------------
    async def action_new_chat(self) -> None:
        await self.open_conversation(None)
        self.prompt.focus()

    def action_toggle_list(self) -> None:
        if self.conversation_list.has_focus:
            self.prompt.focus()
        else:
            self.conversation_list.focus()

    def action_delete(self) -> None:
        """Delete the highlighted conversation (list focused) or the open one."""
        target = self.session.conversation_id
        if self.conversation_list.has_focus:
            target = self.conversation_list.highlighted_id
        if target in (None, NEW_CHAT):
            self.notify("Nothing to delete: this chat has not been saved yet.")
            return
        try:
            conv = self.chat_log.conversation(target)
        except PersonalError as e:
            self.show_error(e)
            return

        async def answered(yes: bool | None) -> None:
            if yes:
                await self.delete_conversation(conv.id)

        question = f"Delete “{conv.title or 'this conversation'}”?"
        detail = f"Its {conv.message_count} messages will be removed from the log for good."
        self.app.push_screen(ConfirmScreen(question, detail), answered)

    def action_stop(self) -> None:
        if self._turn is not None:
            self._turn.cancel()  # the worker ends the turn; the partial answer stays

    # --- chat ----------------------------------------------------------------------
    @on(Input.Submitted, "#prompt")
    async def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        if self.busy:
            self.notify("Still answering: wait for it, or press esc to stop it.")
            return
        event.input.clear()
        name, arg = commands.parse(text)
        try:
            if name is None:
                await self.send(arg)
            else:
                await commands.dispatch(self, name, arg)
        except PersonalError as e:
            self.show_error(e)
            event.input.value = text  # nothing was done: give the text back

    async def send(self, text: str) -> None:
        """Log `text` as the user's turn and stream the answer into the view."""
        if self.busy:
            raise Busy("an answer is still streaming", hint="wait for it, or press esc to stop it")
        turn = self.session.start(text)  # raises PersonalError if it cannot be logged
        answer = await self.query_one(ChatView).add_turn(text, self.engine.info.model)
        self._set_busy(turn, answer)
        self._idle.clear()
        self._generate(self.session, turn)
        self.refresh_conversations()  # a new conversation, or a new title

    @work(thread=True, exclusive=True, group="generate", exit_on_error=False)
    def _generate(self, session: ChatSession, turn: Turn) -> None:
        """Iterate the answer in this thread (engines lock per thread) and post it back."""
        status, error = "complete", None
        try:
            with closing(session.run(turn)) as pieces:
                for piece in pieces:
                    self.post_message(messages.AnswerPiece(turn.assistant_id, piece))
            if turn.result is not None and turn.result.interrupted:
                status = "interrupted"
        except Exception as e:  # an engine or log failure must not take the UI down
            status, error = "error", e
        finally:
            self._idle.set()
        self.post_message(messages.AnswerEnded(turn.assistant_id, status, turn.result, error))

    def _current(self, assistant_id: str) -> AssistantMessage | None:
        """The widget streaming this answer, or None for a stopped turn whose view is gone
        (or an app shutting down)."""
        if self._turn is None or self._turn.assistant_id != assistant_id:
            return None
        return self._answer if self._answer is not None and self._answer.is_attached else None

    async def on_answer_piece(self, message: messages.AnswerPiece) -> None:
        if (answer := self._current(message.assistant_id)) is not None:
            await answer.write(message.text)

    async def on_answer_ended(self, message: messages.AnswerEnded) -> None:
        if (answer := self._current(message.assistant_id)) is None:
            return
        await answer.finish(message.status)
        self._set_busy(None)
        status_bar = self.query_one(StatusBar)
        status_bar.show_engine(self.engine)
        if message.status != "error":
            status_bar.show_speed(tokens_per_second(message.result))
        if message.error is not None:
            self.show_error(message.error)
        self.refresh_conversations()

    async def stop_generation(self) -> None:
        """Cancel the answer in flight (if any) and wait until it is logged as such."""
        if self._turn is None:
            return
        self._turn.cancel()
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
