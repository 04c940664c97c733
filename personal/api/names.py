"""Model names: which adapter a request's `model` means, and how an answer names itself.

The API layer asks a `Names` object; the local server uses `RegistryNames` (this device's
registry), a host brings its own (a tenant's catalog). Three kinds of name:

    personal          the base with the current revision: the engine's attached adapter,
                      which an AdapterWatcher keeps following the registry's pointer
    personal@REV      a pinned revision (id or unique prefix), passed with the request
    <base name>       the base model's catalog name: no adapter

An answer names the revision that really answered (fixed when its generation took the
engine): `model` is "personal@<12 hex>" or the base's name, `system_fingerprint` joins the
base's fingerprint and the revision.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from personal.adapters.registry import Registry
from personal.adapters.serving import adapter_ref
from personal.api.errors import invalid, model_not_found
from personal.api.schema import ModelCard
from personal.engine.base import SLOT, AdapterRef, EngineInfo
from personal.errors import AmbiguousRevision, RevisionNotFound

PERSONAL = "personal"


@dataclass(frozen=True)
class Target:
    """What a request's `model` resolved to."""

    requested: str
    adapter: Any  # AdapterRef, None (bare base) or SLOT (the engine's attached adapter)


class Names(Protocol):
    def resolve(self, name: str) -> Target:
        """The target for a `model` name; an APIError (404) when there is none."""
        ...

    def ref(self, revision_id: str) -> AdapterRef:
        """The adapter of a revision that just answered (to keep a multi-round answer on it)."""
        ...

    def models(self) -> list[ModelCard]: ...


def answered_model(base: EngineInfo, revision: str | None) -> str:
    return f"{PERSONAL}@{revision[:12]}" if revision else base.model


def fingerprint(base: EngineInfo, revision: str | None) -> str:
    return f"fp_{base.fingerprint[:10]}_{revision[:12] if revision else 'base'}"


class RegistryNames:
    """Names for one engine, from this device's adapter registry."""

    def __init__(self, info: EngineInfo, registry: Registry | None = None):
        self.info = info
        self.registry = registry or Registry()

    def resolve(self, name: str) -> Target:
        if name == PERSONAL:
            return Target(name, SLOT)
        if name == self.info.model:
            return Target(name, None)
        if name.startswith(PERSONAL + "@"):
            ref = name.split("@", 1)[1]
            try:
                rev = self.registry.get(ref, self.info.fingerprint)
            except RevisionNotFound:
                raise model_not_found(name, self._known()) from None
            except AmbiguousRevision as e:
                raise invalid(f"{e.message}: give more characters of the revision id",
                              param="model") from None  # fmt: skip
            return Target(name, adapter_ref(rev, self.info.backend))
        raise model_not_found(name, self._known())

    def ref(self, revision_id: str) -> AdapterRef:
        return adapter_ref(self.registry.get(revision_id, self.info.fingerprint), self.info.backend)

    def models(self) -> list[ModelCard]:
        revisions = self.registry.list(self.info.fingerprint)
        now = int(time.time())
        cards = [ModelCard(id=PERSONAL, created=now), ModelCard(id=self.info.model, created=now)]
        for rev in revisions:
            cards.append(ModelCard(id=f"{PERSONAL}@{rev.short}", created=_epoch(rev.created_at)))
        return cards

    def _known(self) -> list[str]:
        return [card.id for card in self.models()]


def _epoch(iso: str) -> int:
    from datetime import datetime

    try:
        return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0
