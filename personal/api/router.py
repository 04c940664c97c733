"""The OpenAI endpoints as a FastAPI router, for any app that has a `ChatHandler`.

    app.include_router(openai_router(get_handler, get_observer))
    install_error_handlers(app)

`get_handler` and `get_observer` are FastAPI dependencies (they may depend on auth): the
local server returns its one handler and its log recorder; a host returns the handler of
the token's tenant and no recorder. The generation runs in a worker thread (the engine
blocks); its events reach the event loop through an asyncio queue. A client that goes away
— while queued, mid-answer, streaming or not — cancels the generation between tokens.

The response is held back until the generation has taken the engine: then the revision
that answers is known (the `X-Personal-Revision` header), and a prompt the engine refuses
is still a clean 4xx rather than a broken stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from personal.api import shape
from personal.api.errors import APIError, error_body, from_validation
from personal.api.handler import (
    Cancellation,
    ChatHandler,
    Delta,
    Event,
    Finished,
    Job,
    Started,
    as_api_error,
)
from personal.api.names import answered_model, fingerprint
from personal.api.schema import ChatCompletion, ChatCompletionRequest, ErrorResponse, ModelList
from personal.errors import PersonalError

log = logging.getLogger("personal.api")
Observer = Callable[[Event], None]
REVISION_HEADER = "X-Personal-Revision"
POLL_S = 0.25  # how often a waiting request checks that its client is still there
INLINE = 32_000  # characters of messages below which a request is prepared in the loop

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": what} for code, what in (
        (400, "Invalid request"), (401, "Missing or wrong token"), (404, "Unknown model"),
        (429, "Too many requests waiting (see Retry-After)"), (500, "The model failed"))
}  # fmt: skip


class _End:
    pass


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


class Live:
    """One request's generation in a worker thread, its events handed to the event loop."""

    def __init__(self, handler: ChatHandler, job: Job, observe: Observer | None):
        self.handler, self.job, self.observe = handler, job, observe
        self.cancel = Cancellation()
        self.ticket = handler.admit()
        self._loop = asyncio.get_running_loop()
        self._events: deque[Any] = deque()  # filled in the loop's thread only
        self._ready = asyncio.Event()
        self._look = time.monotonic() + POLL_S  # when to next ask if the client is there
        threading.Thread(target=self._work, name=f"generate-{job.id[-6:]}", daemon=True).start()

    def _arrive(self, item: Any) -> None:
        self._events.append(item)
        self._ready.set()

    def _put(self, item: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(self._arrive, item)
        except RuntimeError:  # the event loop is gone (shutdown): stop generating
            self.cancel.set()

    def _work(self) -> None:
        try:
            held: list[Event] = []  # recorded after the client has the first piece of text
            for event in self.handler.run(self.job, self.ticket, self.cancel):
                if isinstance(event, Started):  # the client first: time to first token
                    self._put(event)
                    held.append(event)
                    continue
                if isinstance(event, Delta):
                    self._put(event)
                for waiting in [*held, event]:
                    self._record(waiting)
                held.clear()
                if not isinstance(event, Delta):  # recorded before the client hears of it,
                    self._put(event)  # so a client's next turn finds this one logged
        except Exception as e:  # reaches the client as an error; the server goes on
            if not isinstance(e, PersonalError):
                log.exception("generation %s failed", self.job.id)
            self._put(_Failed(e))
        finally:
            self._put(_End())

    def _record(self, event: Event) -> None:
        if self.observe is None:
            return
        try:
            self.observe(event)
        except Exception:  # the answer still reaches the client; the server log says why
            log.exception("recording %s failed; the rest of it is not recorded", self.job.id)
            self.observe = None

    def peek(self) -> Any:
        """The next event if one is waiting (None otherwise), without taking it."""
        return self._events[0] if self._events else None

    def pop(self) -> Any:
        return self._events.popleft()

    async def next(self, request: Request | None) -> Any:
        """The next event; cancels the generation if the client disconnects meanwhile
        (looked at every POLL_S, whether events arrive or not)."""
        while True:
            if request is not None and not self.cancel.is_set() and time.monotonic() > self._look:
                self._look = time.monotonic() + POLL_S
                if await request.is_disconnected():
                    self.cancel.set()  # then keep draining until the worker ends
            if self._events:
                return self._events.popleft()
            self._ready.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._ready.wait(), POLL_S)


def openai_router(
    get_handler: Callable[..., ChatHandler],
    get_observer: Callable[..., Callable[[Job], Observer] | None] = lambda: None,
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])
    handler_dep, observer_dep = Depends(get_handler), Depends(get_observer)

    @router.get("/models", response_model=ModelList, responses=ERRORS)
    def models(handler: ChatHandler = handler_dep) -> ModelList:
        """The model names this server answers to."""
        return ModelList(data=handler.names.models())

    @router.post(
        "/chat/completions", response_model=ChatCompletion, responses={
            **ERRORS, 200: {"description": "A completion, or with `stream` an SSE stream of "
                            "chat.completion.chunk objects ending in `data: [DONE]`",
                            "content": {"text/event-stream": {}}}},
    )  # fmt: skip
    async def chat_completions(
        body: ChatCompletionRequest,
        request: Request,
        handler: ChatHandler = handler_dep,
        observer: Callable[[Job], Observer] | None = observer_dep,
    ) -> Any:
        """Chat completions, streaming (SSE) or not, with tools."""
        # A small request is prepared in the event loop (a tokenizer count, a name): a thread
        # hop costs milliseconds of time to first token on a busy machine. A large one, or
        # one naming a revision (disk reads), goes to a thread so the loop keeps serving.
        if "@" not in body.model and sum(len(str(m.content)) for m in body.messages) < INLINE:
            job = handler.prepare(body)
        else:
            job = await run_in_threadpool(handler.prepare, body)
        live = Live(handler, job, observer(job) if observer else None)
        first = await live.next(request)
        if isinstance(first, _Failed):
            raise as_api_error(first.error)
        if isinstance(first, _End):  # the client left while waiting
            return JSONResponse(error_body("client closed the request", "cancelled"), 499)
        assert isinstance(first, Started)
        info = handler.engine.info
        model, fp = answered_model(info, first.adapter), fingerprint(info, first.adapter)
        headers = {REVISION_HEADER: first.adapter or "none", "Server-Timing": _timing(first)}
        if body.stream:
            return StreamingResponse(_sse(live, model, fp), media_type="text/event-stream",
                                     headers={**headers, "Cache-Control": "no-cache"})  # fmt: skip
        done = await _collect(live, request)
        return JSONResponse(shape.completion(job, done, model, fp), headers=headers)

    return router


def _timing(started: Started) -> str:
    """How long the request queued and how long the engine took to its first piece."""
    ttft = f", engine-ttft;dur={started.ttft_ms:.1f}" if started.ttft_ms is not None else ""
    return f"queue;dur={started.waited_ms:.1f}{ttft}"


async def _collect(live: Live, request: Request) -> Finished:
    done: Finished | None = None
    while True:
        event = await live.next(request)
        if isinstance(event, Finished):
            done = event
        elif isinstance(event, _Failed):
            raise as_api_error(event.error)
        elif isinstance(event, _End):
            if done is None:
                raise as_api_error(RuntimeError("the generation ended without an answer"))
            return done


async def _sse(live: Live, model: str, fp: str) -> AsyncIterator[str]:
    chunks = shape.Chunks(live.job, model, fp)
    role = chunks.role()  # sent with the first piece of text: one write, not two
    try:
        while True:
            event = await live.next(None)
            if isinstance(event, Delta):
                lines = [role, chunks.text(event.text)]
                while isinstance(live.peek(), Delta):  # pieces that queued up: one write
                    lines.append(chunks.text(live.pop().text))
                yield "".join(lines)
                role = ""
                continue
            if role:
                yield role
                role = ""
            if isinstance(event, Finished):
                yield chunks.end(event)
            elif isinstance(event, _Failed):
                yield shape.sse(as_api_error(event.error).body()) + shape.DONE
            elif isinstance(event, _End):
                return
    finally:  # the client went away (or the stream ended): stop between tokens
        live.cancel.set()


def install_error_handlers(app: FastAPI) -> None:
    """Every error the app returns has the OpenAI shape."""

    @app.exception_handler(APIError)
    async def _api(request: Request, error: APIError) -> JSONResponse:
        return JSONResponse(error.body(), error.status, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        api = from_validation(list(error.errors()))
        return JSONResponse(api.body(), api.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        kind = "not_found_error" if error.status_code == 404 else "invalid_request_error"
        return JSONResponse(error_body(str(error.detail), kind), error.status_code,
                            headers=getattr(error, "headers", None))  # fmt: skip

    @app.exception_handler(Exception)
    async def _bug(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return JSONResponse(as_api_error(error).body(), 500)
