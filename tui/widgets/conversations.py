"""The sidebar: the log's conversations, newest first, with a "new chat" entry on top."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from personal.log import Conversation
from personal.printable import printable
from tui import messages

NEW_CHAT = "+new"  # option id of the "new chat" entry (log ids never contain "+")
UNTITLED = "(untitled)"


class ConversationList(OptionList):
    """Shows conversations; enter (or a click) picks one."""

    def show(self, conversations: list[Conversation], current: str | None) -> None:
        """Replace the entries and highlight `current` (None: the new-chat entry)."""
        options = [Option(Content.styled("+ New chat", "italic"), id=NEW_CHAT)]
        for conv in conversations:
            label = Content(printable(conv.title or UNTITLED))
            if conv.id == current:
                label = label.stylize("bold")
            options.append(Option(label, id=conv.id))
        self.set_options(options)
        ids = [option.id for option in options]
        self.highlighted = ids.index(current) if current in ids else 0

    @property
    def highlighted_id(self) -> str | None:
        option = self.highlighted_option
        return option.id if option is not None else None

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_id is not None:
            self.post_message(messages.ConversationChosen(event.option_id))
