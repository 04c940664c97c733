"""The conversation itself: one widget per message, answers streaming as Markdown, tool
calls as one line each, and a selected answer that feedback keys act on."""

from __future__ import annotations

import inspect
import json

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from personal.engine.toolcall import ToolCall
from personal.log import AnswerState, LoggedMessage
from personal.printable import printable
from tui.widgets.answer import AssistantMessage, ToolLine

WELCOME = "Ask anything. Enter sends; the answer streams here and is logged. /help lists commands."


class UserMessage(Static):
    """What the person typed, shown as typed (no Markdown)."""

    def __init__(self, text: str) -> None:
        super().__init__(printable(text), markup=False)
        self.border_title = "you"


class SystemMessage(Static):
    """The system prompt of a logged conversation: kept visible but dimmed."""

    def __init__(self, text: str) -> None:
        super().__init__(printable(f"system: {text}"), markup=False)


class Notice(Static):
    """Something that happened in the conversation, such as an adapter switch."""

    def __init__(self, text: str) -> None:
        super().__init__(printable(text), markup=False)


class ChatView(VerticalScroll):
    """The messages of the open conversation, kept scrolled to the newest.

    Focused, its keys act on the selected answer (the last one unless moved)."""

    BINDINGS = [
        Binding("up,alt+up", "answer('select_answer', -1)", "Select", key_display="↑↓"),
        Binding("down,alt+down", "answer('select_answer', 1)", "Next answer", show=False),
        Binding("plus,equals_sign", "answer('rate', 'up')", "Good", key_display="+"),
        Binding("minus", "answer('rate', 'down')", "Bad", key_display="-"),
        Binding("e,ctrl+e", "answer('edit_answer')", "Edit"),
        Binding("c,ctrl+y", "answer('copy_answer')", "Copy"),
        Binding("o", "answer('toggle_original')", "Original"),
        Binding("r", "answer('regenerate')", "Regenerate", show=False),  # ctrl+r is shown
        Binding("escape,i", "answer('focus_prompt')", "Prompt"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.selected: AssistantMessage | None = None

    def on_mount(self) -> None:
        self.anchor()

    async def action_answer(self, action: str, *args: object) -> None:
        """Answer keys act through the screen, which owns the log (`tui.feedback`)."""
        result = getattr(self.screen, f"action_{action}")(*args)
        if inspect.isawaitable(result):
            await result

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "answer" and parameters:
            return self.screen.check_action(str(parameters[0]), parameters[1:])
        return True

    # --- content -----------------------------------------------------------------
    async def show(
        self, history: list[LoggedMessage], states: dict[str, AnswerState] | None = None
    ) -> None:
        """Replace the view with a logged conversation (or the welcome text if empty):
        feedback on answers and tool calls with their results included."""
        await self.stop_streams()
        await self.remove_children()
        widgets = history_widgets(history, states or {})
        await self.mount_all(widgets or [Static(WELCOME, id="welcome", markup=False)])
        self.select(None)
        self.scroll_end(animate=False)

    async def add_turn(self, text: str) -> None:
        """Show the user's message."""
        await self.query("#welcome").remove()
        await self.mount(UserMessage(text))
        self.scroll_end(animate=False)

    async def add_notice(self, text: str) -> None:
        await self.query("#welcome").remove()
        await self.mount(Notice(text))
        self.scroll_end(animate=False)

    async def add_answer(self, model: str | None, message_id: str | None) -> AssistantMessage:
        """An empty, streaming answer at the bottom (it becomes the selected one)."""
        answer = AssistantMessage(model=model, status="streaming", message_id=message_id)
        await self.mount(answer)
        self.select(answer)
        self.scroll_end(animate=False)
        return answer

    async def add_tool_call(self, call: ToolCall, owner_id: str | None) -> ToolLine:
        line = ToolLine(call, owner_id)
        await self.mount(line)
        self.scroll_end(animate=False)
        return line

    def tool_line(self, call_id: str) -> ToolLine | None:
        return next((t for t in self.query(ToolLine) if t.call.id == call_id), None)

    async def show_states(self, states: dict[str, AnswerState]) -> None:
        """Refresh the feedback shown on every answer (e.g. after a regeneration)."""
        for answer in self.answers:
            if answer.message_id is not None:
                await answer.show_state(states.get(answer.message_id, AnswerState()))
        rejected = {a.message_id for a in self.answers if a.state.rejected}
        rejected |= {i for i, s in states.items() if s.rejected}
        for line in self.query(ToolLine):
            line.set_class(line.owner_id in rejected, "-rejected")

    async def stop_streams(self) -> None:
        for answer in self.query(AssistantMessage):
            if answer.streaming:
                await answer.finish("interrupted")

    # --- selection ---------------------------------------------------------------
    @property
    def answers(self) -> list[AssistantMessage]:
        return list(self.query(AssistantMessage))

    def select(self, answer: AssistantMessage | None) -> None:
        """Select `answer` (None: the last answer) and bring it into view."""
        answers = self.answers
        if answer is None or answer not in answers:
            answer = answers[-1] if answers else None
        if self.selected is not None:
            self.selected.remove_class("-selected")
        self.selected = answer
        if answer is not None:
            answer.add_class("-selected")
        self.refresh_bindings()  # which feedback keys apply depends on the answer

    def move_selection(self, step: int) -> AssistantMessage | None:
        answers = self.answers
        if not answers:
            return None
        at = answers.index(self.selected) if self.selected in answers else len(answers)
        self.select(answers[max(0, min(len(answers) - 1, at + step))])
        if self.selected is not None:
            self.scroll_to_widget(self.selected, animate=False, top=step < 0)
        return self.selected


def history_widgets(history: list[LoggedMessage], states: dict[str, AnswerState]) -> list[Widget]:
    """The widgets showing a logged conversation. A tool-calling message with no text
    shows only its calls; each call's line carries the result logged for it."""
    widgets: list[Widget] = []
    lines: dict[str, ToolLine] = {}
    rejected = {i for i, s in states.items() if s.rejected}
    for m in history:
        text = m.content or ""
        if m.role == "system":
            widgets.append(SystemMessage(text))
        elif m.role == "user":
            widgets.append(UserMessage(text))
        elif m.role == "assistant":
            calls = [_call(c) for c in m.tool_calls or []]
            if text or not calls:
                widgets.append(AssistantMessage(
                    text, model=m.model, status=m.status, message_id=m.id, state=states.get(m.id)
                ))  # fmt: skip
            for call in calls:
                line = lines[call.id] = ToolLine(call, m.id)
                line.set_class(m.id in rejected, "-rejected")
                widgets.append(line)
        elif m.role == "tool" and (line := lines.get(m.tool_call_id or "")) is not None:
            ok = bool(m.meta.get("ok", True))
            line.show_result(ok, text if ok else m.meta.get("error") or text)
    return widgets


def _call(openai_call: dict) -> ToolCall:
    """A logged (OpenAI-shaped) tool call."""
    function = openai_call.get("function", {})
    arguments = function.get("arguments", {})
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            arguments = {"arguments": arguments}
    if not isinstance(arguments, dict):
        arguments = {"arguments": arguments}
    return ToolCall(str(openai_call.get("id", "")), str(function.get("name", "?")), arguments)
