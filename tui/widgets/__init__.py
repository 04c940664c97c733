"""The chat UI's widgets: conversation list, message view, answers, status bar."""

from tui.widgets.answer import AssistantMessage, ToolLine
from tui.widgets.chat_view import ChatView, SystemMessage, UserMessage
from tui.widgets.conversations import NEW_CHAT, ConversationList
from tui.widgets.status_bar import StatusBar

__all__ = [
    "NEW_CHAT",
    "AssistantMessage",
    "ChatView",
    "ConversationList",
    "StatusBar",
    "SystemMessage",
    "ToolLine",
    "UserMessage",
]
