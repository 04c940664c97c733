"""Model names for one tenant (the `Names` of personal/api), from the host's catalog.

    personal          the tenant's current revision
    personal@REV      one of the tenant's revisions (id or unique prefix, ≥ 4 hex digits)
    <base name>       the bare base (no adapter)

Anything else — including another tenant's revision id, which this tenant's catalog scope
cannot see — is the same 404, listing only this tenant's own names: an absent revision and
someone else's are indistinguishable.
"""

from __future__ import annotations

from datetime import datetime

from personal.api.errors import APIError, invalid, model_not_found
from personal.api.names import PERSONAL, Target
from personal.api.schema import ModelCard
from personal.engine.base import AdapterRef
from personal.host.catalog import AmbiguousRef, Catalog, RevisionRecord, Tenant
from personal.host.engines import HostEngine
from personal.host.store import Store


class TenantNames:
    def __init__(self, tenant: Tenant, catalog: Catalog, store: Store, served: HostEngine):
        self.tenant, self.catalog, self.store, self.served = tenant, catalog, store, served
        self.base_name = served.engine.info.model

    def resolve(self, name: str) -> Target:
        if name == self.base_name:
            return Target(name, None)
        if name == PERSONAL:
            current = self.catalog.pointer(self.tenant.id).revision
            record = self.catalog.revision(self.tenant.id, current) if current else None
            if record is None:
                raise APIError(f"'{PERSONAL}' has no revision on this host yet: push one "
                               f"(personal sync push), or ask for {self.base_name!r}.",
                               status=404, param="model", code="model_not_found")  # fmt: skip
            return Target(name, self.adapter(record))
        if name.startswith(PERSONAL + "@") and len(name) <= len(PERSONAL) + 1 + 64:
            try:
                record = self.catalog.revision(self.tenant.id, name.split("@", 1)[1])
            except AmbiguousRef as e:
                raise invalid(f"{e.message}: give more characters of the revision id",
                              param="model") from None  # fmt: skip
            if record is not None:
                return Target(name, self.adapter(record))
        raise model_not_found(name[:80], self._known())

    def adapter(self, record: RevisionRecord) -> AdapterRef:
        return self.served.ref(record, self.store)

    def ref(self, revision_id: str) -> AdapterRef:
        record = self.catalog.revision(self.tenant.id, revision_id)
        if record is None:
            raise model_not_found(f"{PERSONAL}@{revision_id[:12]}", self._known())
        return self.adapter(record)

    def models(self) -> list[ModelCard]:
        records = self.catalog.revisions(self.tenant.id)
        now = int(datetime.now().timestamp())
        cards = [ModelCard(id=PERSONAL, created=now, owned_by=self.tenant.name),
                 ModelCard(id=self.base_name, created=now)]  # fmt: skip
        for r in records:
            cards.append(ModelCard(id=f"{PERSONAL}@{r.short}", created=_epoch(r.registered_at),
                                   owned_by=self.tenant.name))  # fmt: skip
        return cards

    def _known(self) -> list[str]:
        return [c.id for c in self.models()]


def _epoch(iso: str) -> int:
    try:
        return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0
