"""What one `personal serve` process holds: the engine with the current revision, the
watcher that follows the registry's pointer, the log, and the OpenAI handler."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from personal.adapters.registry import Registry
from personal.adapters.swap import AdapterWatcher, SwapEvent
from personal.api.handler import ChatHandler, Job
from personal.api.names import RegistryNames
from personal.api.queue import GenerationQueue
from personal.chat.session import DEFAULT_SYSTEM_PROMPT, MAX_TOOL_ROUNDS
from personal.engine.base import Engine
from personal.log import Log
from personal.server import DEFAULT_PORT

log = logging.getLogger("personal.server")


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    model: str | None = None  # catalog name or .gguf path (the default model if None)
    backend: str | None = None
    log: bool = True  # record API traffic in the chat log
    token: str | None = None  # bearer token; required off loopback
    queue: int = 16  # requests that may wait for the engine before 429
    isolate: bool = False  # forget the cached prompt prefix before every request
    tools: bool = True  # run personal's tools for clients that bring none
    threads: int | None = None
    watch_interval: float = 1.0  # seconds between looks at the registry's pointer
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT  # for clients that send none


class Runtime:
    def __init__(self, config: ServeConfig, *, engine: Engine | None = None,
                 registry: Registry | None = None, chat_log: Log | None = None):  # fmt: skip
        self.config = config
        self.registry = registry or Registry()
        self.engine = engine
        self.chat_log = chat_log
        self.warning: str | None = None
        self.swaps: list[SwapEvent] = []
        self.watcher: AdapterWatcher | None = None
        self.handler: ChatHandler | None = None

    def open(self) -> Runtime:
        """Load the engine (with the current revision) and start following the pointer."""
        from personal.adapters.serving import attach, open_served

        if self.engine is None:
            served = open_served(self.config.model, backend=self.config.backend,
                                 n_threads=self.config.threads, registry=self.registry)  # fmt: skip
            self.engine, self.warning = served.engine, served.warning
        else:
            current = self.registry.current(self.engine.info.fingerprint)
            attach(self.engine, current)
        if self.config.log and self.chat_log is None:
            self.chat_log = Log()
        self.watcher = AdapterWatcher(self.engine, self.registry, interval=self.config.watch_interval,
                                      on_swap=self._swapped).start()  # fmt: skip
        self.handler = ChatHandler(
            self.engine, RegistryNames(self.engine.info, self.registry),
            queue=GenerationQueue(self.config.queue), tools=self._tools(),
            default_system=self.config.system_prompt, isolate=self.config.isolate,
            max_rounds=MAX_TOOL_ROUNDS,
        )  # fmt: skip
        return self

    def _tools(self) -> Any:
        if not self.config.tools:
            return None
        from personal.server.tools import RegistryTools
        from personal.tools import load_registry

        registry = load_registry(self.chat_log, strict=False)
        for problem in registry.problems:
            log.warning("tools: %s", problem)
        return RegistryTools(registry)

    def _swapped(self, event: SwapEvent) -> None:
        self.swaps.append(event)
        if event.ok:
            log.info("now serving revision %s (%.0f ms)", event.new or "none", event.seconds * 1000)
        else:
            log.warning("could not switch to revision %s: %s", event.new, event.error)

    def observer(self, job: Job) -> Any:
        """The recorder of one request (None with --no-log)."""
        if not self.config.log or self.chat_log is None:
            return None
        from personal.server.recorder import Recorder

        return Recorder(self.chat_log, self.engine.info, job, self.config.system_prompt)

    def read_log(self) -> Log:
        """The log, for the page to read (opened on first use under --no-log, which stops
        recording, not reading)."""
        if self.chat_log is None:
            self.chat_log = Log()
        return self.chat_log

    @property
    def revision(self) -> str | None:
        adapter = self.engine.adapter if self.engine else None
        return adapter.id if adapter else None

    def close(self) -> None:
        if self.watcher:
            self.watcher.stop()
        if self.engine:
            self.engine.close()
        if self.chat_log:
            self.chat_log.close()
