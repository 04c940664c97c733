"""The local web page at `/` and the small JSON API it reads.

    GET  /                               the page (static/index.html, app.js, style.css)
    GET  /api/revisions                  adapter revisions: what each learned, gate
                                         metrics, verdict, loss curve (loss.json)
    GET  /api/preferences                stated preferences, candidates first
    POST /api/preferences/{id}/confirm   confirm a candidate from an import
    POST /api/preferences/{id}/reject    turn a candidate down, or delete a preference
    GET  /api/daemon                     the nightly run: last, next, running

The chat box on the page talks to /v1/chat/completions like any other client.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from personal.adapters.registry import Revision
from personal.api.errors import APIError
from personal.errors import DatabaseLocked, InvalidSignal, LogError, NotFound
from personal.log import Log
from personal.prefs.preferences import Preferences
from personal.server.runtime import Runtime

STATIC = Path(__file__).parent / "static"


def router(runtime: Runtime) -> APIRouter:
    r = APIRouter(tags=["page"])

    def chat_log() -> Log:
        return runtime.read_log()

    @r.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @r.get("/api/revisions")
    def revisions() -> dict[str, Any]:
        """The base's adapter revisions, newest first."""
        fp = runtime.engine.info.fingerprint
        pointer = runtime.registry.pointer(fp)
        return {
            "base": runtime.engine.info.model, "current": pointer["revision"],
            "serving": runtime.revision, "pinned": bool(pointer.get("pinned")),
            "revisions": [_revision(rev, pointer["revision"]) for rev in runtime.registry.list(fp)],
        }  # fmt: skip

    @r.get("/api/preferences")
    def preferences() -> dict[str, Any]:
        """Candidates waiting for the person first (rejected ones left out), then the
        others, oldest first."""
        prefs = [p for p in Preferences(chat_log()).list() if not p.rejected]
        rows = [{"id": p.id, "text": p.text, "kind": p.kind, "origin": p.origin,
                 "active": p.active, "confirmed": p.confirmed, "stated_at": p.stated_at}
                for p in sorted(prefs, key=lambda p: p.confirmed)]  # fmt: skip
        return {"preferences": rows}

    @r.post("/api/preferences/{preference_id}/confirm")
    def confirm(preference_id: str) -> dict[str, Any]:
        """Confirm a candidate from an import: from now on it is a preference like any
        other (400 when it is not a candidate, or its check cannot run)."""
        return {"confirmed": _pref(Preferences(chat_log()).confirm, preference_id).id}

    @r.post("/api/preferences/{preference_id}/reject")
    def reject(preference_id: str) -> dict[str, Any]:
        """Turn a candidate down (it is not proposed again), or delete a preference (it is
        not extracted again)."""
        prefs = Preferences(chat_log())
        if _pref(prefs.get, preference_id).confirmed:
            _pref(prefs.remove, preference_id)
            return {"removed": preference_id}
        return {"rejected": _pref(prefs.reject, preference_id).id}

    @r.get("/api/daemon")
    def daemon() -> dict[str, Any]:
        """The nightly run: last outcome, next time, whether one runs now."""
        from personal.cli.daemon_cmd import load_config
        from personal.daemon.cycle import read_state
        from personal.daemon.service import next_run

        config, state = load_config(), read_state()
        upcoming = state.get("next_run") or next_run(config.schedule).isoformat(timespec="seconds")
        return {"schedule": config.schedule, "next_run": upcoming, "last": state.get("last"),
                "running": state.get("running"), "history": (state.get("history") or [])[:5]}  # fmt: skip

    return r


def _pref(action: Any, preference_id: str) -> Any:
    try:
        return action(preference_id)
    except NotFound as e:
        raise APIError(e.message, status=404, type="not_found_error") from None
    except InvalidSignal as e:  # not a candidate; a check that cannot run
        raise APIError(f"{e.message} ({e.hint})" if e.hint else e.message,
                       code="not_a_candidate") from None
    except LogError as e:  # an ambiguous id, a busy log
        raise APIError(e.message, status=409 if isinstance(e, DatabaseLocked) else 400) from None


def _revision(rev: Revision, current: str | None) -> dict[str, Any]:
    m = rev.manifest
    return {
        "id": rev.id, "short": rev.short, "created_at": m.created_at, "parent": m.parent,
        "current": rev.id == current, "promoted": m.promoted, "reasons": list(m.verdict.reasons),
        "imported": m.imported is not None,
        "dataset": {"counts": m.dataset.counts, "messages": m.dataset.messages,
                    "since": m.dataset.since, "until": m.dataset.until},
        "training": asdict(m.training),
        "metrics": {label: asdict(metrics) for label, metrics in m.metrics.items()},
        "loss": _loss(rev.path / "loss.json"),
    }  # fmt: skip


def _loss(path: Path) -> dict[str, list] | None:
    """The training curve the trainer wrote ({"train": [[step, loss]], "val": [...]})."""
    try:
        data = json.loads(path.read_text())
        return {k: [[float(s), float(v)] for s, v in data.get(k, [])] for k in ("train", "val")}
    except (OSError, ValueError, TypeError, AttributeError):
        return None
