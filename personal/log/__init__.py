"""The conversation log: chats are written to SQLite as they happen, to be searched,
exported, and distilled into a personal adapter later (see `store.Log`)."""

from personal.log.feedback import AnswerState
from personal.log.ids import new_id
from personal.log.records import Conversation, LoggedMessage, SearchHit
from personal.log.store import Log

__all__ = ["AnswerState", "Conversation", "Log", "LoggedMessage", "SearchHit", "new_id"]
