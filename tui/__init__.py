"""The terminal chat UI (`personal chat`): a Textual app on top of `personal.chat.session`.

The UI never calls the model itself: a worker thread iterates a `ChatSession` turn and
posts each piece back as a message (see `tui.messages`).
"""
