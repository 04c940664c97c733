"""`personal serve`: the person's model behind a local OpenAI-compatible HTTP API (FastAPI +
uvicorn), logged like the chat, with a small web page. See docs/api.md."""

DEFAULT_PORT = 8321
