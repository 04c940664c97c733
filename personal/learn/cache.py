"""Generations that do not change between nightly runs, kept for the next one.

The bare base's answers to the shipped prompts, its answers with an unchanged profile,
the current revision's answers (it was last night's candidate): the same engine, adapter
file, prompt and sampling give the same answer, so the learning loop asks for it once —
and the same for the log-probabilities an adapter (or none) gives a held-out answer (the
gate's cross-entropy, `score`).
Keyed by a hash of all of that (the adapter by its file's SHA-256; an answer cut short at
an accepted answer, by what counted as one: `mention.RULES`). Entries not used by a
run are dropped at its end (`prune`), so what a forgotten conversation or a changed
preference produced does not linger; `clear()` empties it (`personal log forget` does).

Lives in $PERSONAL_HOME/cache/generations.db (SQLite, WAL).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from personal import paths
from personal.engine import mention
from personal.engine.base import SLOT, AdapterRef, Completion, Engine, GenerationParams, Usage
from personal.engine.toolcall import ToolCall
from personal.fileio import sha256_file


def cache_path() -> Path:
    return paths.cache_dir() / "generations.db"


class GenerationCache:
    def __init__(self, path: Path | None = None):
        self.path = path or cache_path()
        self.db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS generations (key TEXT PRIMARY KEY, "
                        "value TEXT NOT NULL, used REAL NOT NULL)")  # fmt: skip
        self.started = time.time()
        self.hits = self.misses = 0
        self._adapters: dict[tuple[str, int, int], str] = {}

    def close(self) -> None:
        self.db.close()

    def clear(self) -> None:
        with self.db:
            self.db.execute("DELETE FROM generations")

    def prune(self) -> int:
        """Drop what this run did not use; returns how many entries went."""
        with self.db:
            return self.db.execute("DELETE FROM generations WHERE used < ?",
                                   [self.started]).rowcount  # fmt: skip

    # --- the cached call ---------------------------------------------------------------
    def chat_many(
        self, engine: Engine, conversations: list[list[dict[str, Any]]],
        params: GenerationParams, tools: list[dict[str, Any]] | None = None, *,
        adapter: AdapterRef | None = SLOT, seeds: list[int | None] | None = None,
        until: list[tuple[str, ...]] | None = None,
    ) -> list[Completion]:  # fmt: skip
        """`engine.chat_many`, answering what it can from the cache."""
        ref = engine.adapter if adapter is SLOT else adapter
        common = [engine.info.fingerprint, self._adapter_key(ref), _params(params), tools or []]
        keys = [_digest([*common, conv, (seeds or [params.seed] * len(conversations))[i],
                         *([[mention.RULES, *until[i]]] if until else [])])
                for i, conv in enumerate(conversations)]  # fmt: skip
        found = self._get(keys)
        missing = [i for i, k in enumerate(keys) if k not in found]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        if missing:
            fresh = engine.chat_many([conversations[i] for i in missing], params, tools,
                                     adapter=adapter,
                                     seeds=[(seeds or [params.seed] * len(keys))[i] for i in missing],
                                     until=[until[i] for i in missing] if until else None)  # fmt: skip
            encoded = {keys[i]: _encode(c) for i, c in zip(missing, fresh, strict=True)}
            self._put(encoded)
            found.update(encoded)
        out = [_decode(found[k]) for k in keys]
        for c in out:
            c.adapter = ref.id if ref else None
        return out

    def score(self, engine: Any, prompt: str, completion: str) -> list[float]:
        """`engine.score(prompt, completion)` under its attached adapter (teacher-forced
        log-probabilities: the gate's cross-entropy), answered from the cache when it can;
        what the engine raises (ContextOverflow) is raised, not kept."""
        key = _digest(["score", engine.info.fingerprint, self._adapter_key(engine.adapter),
                       prompt, completion])  # fmt: skip
        if (found := self._get([key]).get(key)) is not None:
            self.hits += 1
            return [float(x) for x in found]
        self.misses += 1
        logprobs = [float(x) for x in engine.score(prompt, completion)]
        self._put({key: logprobs})
        return logprobs

    def _adapter_key(self, ref: AdapterRef | None) -> str | None:
        if ref is None:
            return None
        st = Path(ref.path).stat()
        key = (str(ref.path), st.st_size, st.st_mtime_ns)
        if key not in self._adapters:
            self._adapters[key] = sha256_file(ref.path) if Path(ref.path).is_file() else str(key)
        return f"{self._adapters[key]}@{ref.scale}"

    def _get(self, keys: list[str]) -> dict[str, dict]:
        out = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT key, value FROM generations WHERE key IN ({marks})", chunk).fetchall()  # fmt: skip
            out.update({k: json.loads(v) for k, v in rows})
            with self.db:
                self.db.execute(f"UPDATE generations SET used = ? WHERE key IN ({marks})",
                                [time.time(), *chunk])  # fmt: skip
        return out

    def _put(self, values: dict[str, Any]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO generations (key, value, used) VALUES (?, ?, ?)",
                [(k, json.dumps(v), time.time()) for k, v in values.items()],
            )


def _params(p: GenerationParams) -> list[Any]:
    return [p.max_tokens, p.temperature, p.top_p, p.top_k, p.repeat_penalty, list(p.stop)]


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _encode(c: Completion) -> dict[str, Any]:
    return {"text": c.text, "raw": c.raw, "prompt_tokens": c.usage.prompt_tokens,
            "completion_tokens": c.usage.completion_tokens, "finish": c.usage.finish_reason,
            "calls": [[t.id, t.name, t.arguments] for t in c.tool_calls],
            "errors": list(c.tool_errors)}  # fmt: skip


def _decode(d: dict[str, Any]) -> Completion:
    return Completion(
        text=d["text"], usage=Usage(d["prompt_tokens"], d["completion_tokens"], d["finish"]),
        ttft_ms=None, duration_ms=0.0, adapter=None,
        tool_calls=[ToolCall(i, n, a) for i, n, a in d["calls"]], tool_errors=list(d["errors"]),
        raw=d["raw"],
    )  # fmt: skip


def generate(
    engine: Engine, cache: GenerationCache | None, conversations: list[list[dict[str, Any]]],
    params: GenerationParams, tools: list[dict[str, Any]] | None = None, *,
    adapter: AdapterRef | None = SLOT, seeds: list[int | None] | None = None,
    until: list[tuple[str, ...]] | None = None,
) -> list[Completion]:  # fmt: skip
    """`engine.chat_many`, through the cache when there is one."""
    if cache is None:
        return engine.chat_many(conversations, params, tools, adapter=adapter, seeds=seeds,
                                until=until)  # fmt: skip
    return cache.chat_many(engine, conversations, params, tools, adapter=adapter, seeds=seeds,
                           until=until)  # fmt: skip
