"""The chat screen: conversations on the left, the open one on the right, a prompt.

Data flows one way: the prompt logs the user's turn, a worker thread iterates the answer
(`tui.turns`), and the screen only renders what it reports. Feedback keys on the answers
(`tui.feedback`) write to the log at once. Switching, starting or deleting the open
conversation first stops the answer in flight.
"""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label

from personal.adapters.swap import AdapterWatcher
from personal.chat.session import ChatSession
from personal.engine.base import Engine
from personal.errors import PersonalError
from personal.log import Log
from personal.printable import printable
from personal.tools import ToolRegistry
from tui import commands, messages
from tui.confirm import ConfirmScreen
from tui.feedback import FeedbackActions
from tui.remote import RemoteActions
from tui.swapping import SwapActions
from tui.turns import PROMPT, STOP_TIMEOUT, Busy, TurnRunner
from tui.widgets import NEW_CHAT, ChatView, ConversationList, StatusBar

__all__ = ["STOP_TIMEOUT", "Busy", "ChatScreen"]

LIST_LIMIT = 200  # conversations shown in the sidebar
WHILE_BUSY = {"stop"}  # actions offered only while an answer streams
WHILE_IDLE = {"focus_answers", "focus_prompt", "regenerate"}  # ... and only when none does


class ChatScreen(TurnRunner, FeedbackActions, SwapActions, RemoteActions, Screen[None]):
    """Chat with `engine`, logging to `log`, with `tools`; opens `conversation_id`."""

    CSS_PATH = "chat_screen.tcss"
    AUTO_FOCUS = "#prompt"
    BINDINGS = [
        Binding("ctrl+n", "new_chat", "New chat", priority=True),
        Binding("ctrl+l", "toggle_list", "Chats", priority=True),
        Binding("ctrl+d", "delete", "Delete chat", priority=True),
        Binding("delete", "delete", "Delete chat", show=False),
        Binding("escape", "stop", "Stop answer"),
        Binding("escape", "focus_answers", "Answers"),
        Binding("ctrl+r", "regenerate", "Regenerate"),
        Binding("alt+up", "select_answer(-1)", "Previous answer", show=False),
        Binding("alt+down", "select_answer(1)", "Next answer", show=False),
        Binding("ctrl+y", "copy_answer", "Copy answer", show=False),
        Binding("f1", "help", "Help"),
    ]

    def __init__(
        self, engine: Engine, log: Log, conversation_id: str | None = None,
        tools: ToolRegistry | None = None, watcher: AdapterWatcher | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.engine, self.chat_log = engine, log  # (`log` is Textual's logger)
        self.tools = tools
        self.watcher = watcher  # follows the registry's current revision (hot-swap)
        self.session = self._session(None)  # replaced on mount if one is to be opened
        self._initial = conversation_id
        self._init_turns()

    def _session(self, conversation_id: str | None) -> ChatSession:
        return ChatSession(self.engine, self.chat_log, conversation_id, tools=self.tools,
                           confirm=self.confirm_tool)  # fmt: skip

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            with Vertical(id="sidebar"):
                yield Label("Conversations", id="sidebar-title")
                yield ConversationList(id="conversations")
            with Vertical(id="main"):
                yield ChatView(id="chat")
                yield Input(placeholder=PROMPT, id="prompt")
        yield StatusBar(self.engine, id="status")
        yield Footer(compact=True)

    async def on_mount(self) -> None:
        await self.open_conversation(self._initial)
        self.prompt.focus()
        self.start_watching()

    # --- state ---------------------------------------------------------------------
    @property
    def prompt(self) -> Input:
        return self.query_one("#prompt", Input)

    @property
    def chat_view(self) -> ChatView:
        return self.query_one(ChatView)

    @property
    def conversation_list(self) -> ConversationList:
        return self.query_one(ConversationList)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in WHILE_BUSY:
            return self.busy  # shown in the footer only while an answer streams
        if action in WHILE_IDLE:
            return not self.busy
        if action == "toggle_original":
            selected = self.chat_view.selected if self.is_mounted else None
            return selected is not None and selected.state.edited_text is not None
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
            session = self._session(conversation_id)
            cid = session.conversation_id
            history = self.chat_log.messages(cid) if cid else []
            states = self.chat_log.answer_states(cid) if cid else {}
        except PersonalError as e:
            self.show_error(e)
            self.refresh_conversations()
            return
        self.session = session
        await self.chat_view.show(history, states)
        self.refresh_conversations()

    async def delete_conversation(self, conversation_id: str) -> None:
        current = conversation_id == self.session.conversation_id
        if current:
            await self.stop_generation()
        from personal.learn.forget import forget

        try:  # everywhere it went: notes, datasets; revisions trained on it are marked
            report = forget(self.chat_log, conversation_id)
        except PersonalError as e:
            self.show_error(e)
            self.refresh_conversations()
            return
        self.notify(f"Deleted the conversation ({report.erased.messages} messages).")
        if report.current:
            self.notify("Your current adapter was trained on it: run `personal train "
                        "--from-scratch` to replace it.", severity="warning", timeout=12)
        if not report.erased.purged:
            self.notify("Its old text is still on disk: another program is reading the log. "
                        "Close it, then run `personal log purge`.", severity="warning",
                        timeout=12)  # fmt: skip
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

        question = f"Delete “{printable(conv.title or 'this conversation')}”?"
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
        name, arg = commands.parse(text)
        if self.busy and name not in commands.COMMANDS:  # /help and /prefs may open
            self.notify("Still answering: wait for it, or press esc to stop it.")
            return
        event.input.clear()
        try:
            if name is None:
                await self.send(arg)
            else:
                await commands.dispatch(self, name, arg)
        except PersonalError as e:
            self.show_error(e)
            event.input.value = text  # nothing was done: give the text back

    def action_help(self) -> None:
        commands.show_help(self)
