"""The OpenAI-compatible request/response layer, as a library: request and response shapes
(`schema`), errors in OpenAI's shape (`errors`), model names (`names`), the fair bounded
queue (`queue`), the engine-facing core (`handler`), SSE chunks (`shape`) and a FastAPI
router (`router`). The local server (`personal.server`) and a host build on it; logging,
conversation matching and server-side tools are theirs, passed in as hooks."""
