"""Feedback on answers, for the chat screen: the keys of the answers view (rate, edit,
copy, regenerate) act on the selected answer and are written to the log at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from personal.errors import PersonalError
from tui.edit_answer import EditAnswerScreen
from tui.widgets import AssistantMessage

if TYPE_CHECKING:
    from tui.chat_screen import ChatScreen


class FeedbackActions:
    """The chat screen's answer actions (bound on the ChatView as `screen.<action>`)."""

    def _target(self: ChatScreen) -> AssistantMessage | None:
        """The selected answer, if feedback can be given on it now (else a notice)."""
        answer = self.chat_view.selected
        if answer is None:
            self.notify("There is no answer yet.")
            return None
        if answer.streaming or answer.message_id is None or answer.status == "streaming":
            self.notify("Wait for the answer to finish (or press esc to stop it).")
            return None
        return answer

    async def _refresh(self: ChatScreen, answer: AssistantMessage) -> None:
        if answer.message_id is not None:
            await answer.show_state(self.chat_log.answer_state(answer.message_id))
        self.refresh_bindings()

    # --- selection and focus -------------------------------------------------------
    def action_select_answer(self: ChatScreen, step: int) -> None:
        """From the prompt: go to the answers (the selected one); there: move."""
        view = self.chat_view
        if view.has_focus:
            view.move_selection(step)
        else:
            view.focus()
            view.move_selection(0)

    def action_focus_answers(self: ChatScreen) -> None:
        self.action_select_answer(0)

    def action_focus_prompt(self: ChatScreen) -> None:
        self.prompt.focus()

    # --- feedback ------------------------------------------------------------------
    async def action_rate(self: ChatScreen, rating: str) -> None:
        """Rate the selected answer; the same rating again takes it back."""
        if (answer := self._target()) is None or answer.message_id is None:
            return
        new = None if answer.state.rating == rating else rating
        try:
            self.chat_log.rate(answer.message_id, new)
            await self._refresh(answer)
        except PersonalError as e:
            self.show_error(e)

    def action_edit_answer(self: ChatScreen) -> None:
        """Rewrite the selected answer; the edit is kept beside the original."""
        if (answer := self._target()) is None or (message_id := answer.message_id) is None:
            return

        async def saved(text: str | None) -> None:
            if text is None or text == answer.text:
                return
            try:
                self.chat_log.edit_answer(message_id, text)
                await self._refresh(answer)
            except PersonalError as e:
                self.show_error(e)
                return
            self.notify("Saved your version of the answer.")

        self.app.push_screen(EditAnswerScreen(answer.text), saved)

    def action_copy_answer(self: ChatScreen) -> None:
        if (answer := self._target()) is None or answer.message_id is None:
            return
        self.app.copy_to_clipboard(answer.text)
        try:
            self.chat_log.mark_copied(answer.message_id)
        except PersonalError as e:
            self.show_error(e)
            return
        self.notify("Copied the answer.")

    async def action_toggle_original(self: ChatScreen) -> None:
        """Show what the model wrote instead of the edit (and back)."""
        answer = self.chat_view.selected
        if answer is None or answer.state.edited_text is None:
            self.notify("This answer has not been edited.")
            return
        await answer.toggle_original()

    async def action_regenerate(self: ChatScreen) -> None:
        """Answer the last question again (the old answer stays, marked rejected)."""
        try:
            await self.regenerate()
        except PersonalError as e:
            self.show_error(e)
