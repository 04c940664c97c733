"""The host's catalog: tenants, their revisions and their current pointers, behind one small
interface.

    catalog = open_catalog(root)                       # SQLite under the host's root
    tenant = catalog.add_tenant("sam", token_hash)
    record, created = catalog.register(record, move=True, expect=None)
    catalog.pointer(tenant.id).revision

One host keeps it in SQLite (`catalog_sqlite.py`). Several hosts behind a load balancer
would share a server database instead (PostgreSQL): the same interface, the same test suite
(tests/test_host_catalog.py runs over every implementation), and what changes is named in
docs/host.md: transactions become the database's, `register` and `move_pointer` keep their
compare-and-set in one statement, blobs move to shared storage. Nothing else in the host
touches SQL.

Every lookup is scoped by tenant id: there is no call that finds a revision without saying
whose it is, so one tenant's request cannot name another's revision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from personal.errors import PersonalError


class CatalogError(PersonalError):
    pass


class TenantExists(CatalogError):
    pass


class TenantNotFound(CatalogError):
    pass


class RevisionUnknown(CatalogError):
    """No revision of this tenant has that id (or prefix)."""


class AmbiguousRef(CatalogError):
    pass


class PointerConflict(CatalogError):
    """The pointer is not where the caller said it was (a stale or replayed request)."""

    def __init__(self, current: str | None, expected: str | None):
        super().__init__(
            f"the current revision here is {_short(current)}, not {_short(expected)} as the "
            "request assumed (a replayed or stale request); nothing changed",
            hint="read the state again (personal sync status) and retry",
        )
        self.current, self.expected = current, expected


def _short(rev: str | None) -> str:
    return rev[:12] if rev else "none"


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()  # "do not check where the pointer is"


@dataclass(frozen=True)
class Tenant:
    id: str  # internal, random; never derived from the name
    name: str
    created_at: str
    pinned: bool = False  # keep its current revision resident (a hot tenant)


@dataclass(frozen=True)
class RevisionRecord:
    tenant: str  # tenant id
    id: str  # the SHA-256 of its MLX weights (as on the device)
    parent: str | None
    manifest: dict[str, Any]  # the public manifest as the device sent it
    files: dict[str, str]  # path in the revision → blob SHA-256 (every format)
    size: int  # bytes of the canonical weights
    created_at: str  # on the device
    registered_at: str = ""
    compact_of: str | None = None  # the exact revision a compact one stands for
    probe_check: dict[str, Any] = field(default_factory=dict)

    @property
    def short(self) -> str:
        return self.id[:12]


@dataclass(frozen=True)
class Pointer:
    revision: str | None
    pinned: bool = False  # the device pinned it (mirrored; the host serves it either way)
    moved_at: str | None = None
    reason: str | None = None


class Catalog(Protocol):
    # --- tenants ---------------------------------------------------------------------
    def add_tenant(self, name: str, token_hash: str) -> Tenant:
        """A new tenant (TenantExists if the name is taken)."""
        ...

    def tenant(self, name: str) -> Tenant | None: ...

    def tenant_by_token(self, token_hash: str) -> Tenant | None: ...

    def tenants(self) -> list[Tenant]: ...

    def set_token(self, name: str, token_hash: str) -> Tenant:
        """Replace the tenant's token (the old one stops working at once)."""
        ...

    def set_pinned(self, name: str, pinned: bool) -> Tenant: ...

    def remove_tenant(self, name: str) -> list[RevisionRecord]:
        """Delete the tenant, its revisions and its pointer; returns the revisions removed
        (their blobs may now be unreferenced)."""
        ...

    # --- revisions ---------------------------------------------------------------------
    def register(self, record: RevisionRecord, *, move: bool = False,
                 expect: str | None = UNSET) -> tuple[RevisionRecord, bool]:  # fmt: skip
        """Add `record` unless the tenant has it (then the stored one is returned and
        nothing is written: (record, False)); with `move`, make it current in the same
        transaction — only if the pointer is at `expect` (PointerConflict otherwise)."""
        ...

    def revision(self, tenant: str, ref: str) -> RevisionRecord | None:
        """The tenant's revision with this id or unique id prefix (≥ 4 hex digits);
        AmbiguousRef when the prefix names several."""
        ...

    def revisions(self, tenant: str) -> list[RevisionRecord]:
        """The tenant's revisions, newest registered first."""
        ...

    # --- pointers ---------------------------------------------------------------------
    def pointer(self, tenant: str) -> Pointer: ...

    def move_pointer(self, tenant: str, revision: str | None, reason: str, *,
                     pinned: bool | None = None, expect: str | None = UNSET) -> Pointer:  # fmt: skip
        """Make `revision` (one of the tenant's; None: none) current; RevisionUnknown or
        PointerConflict (when `expect` is given and the pointer is elsewhere)."""
        ...

    # --- storage ----------------------------------------------------------------------
    def blobs(self) -> set[str]:
        """Every blob some revision references (what garbage collection keeps)."""
        ...

    def close(self) -> None: ...


def open_catalog(root: Path, url: str | None = None) -> Catalog:
    """The catalog of the host whose root is `root`: SQLite (`root/catalog.db`), or the
    server database at `url` / $PERSONAL_HOST_CATALOG (postgresql://...) that several
    hosts share (catalog_postgres.py)."""
    import os

    url = url or os.environ.get("PERSONAL_HOST_CATALOG")
    if url:
        if not url.startswith(("postgresql://", "postgres://")):
            raise CatalogError(f"not a catalog URL: {url[:40]!r}",
                               hint="give a postgresql:// URL, or none for SQLite under the root")  # fmt: skip
        from personal.host.catalog_postgres import PostgresCatalog

        return PostgresCatalog(url)
    from personal.host.catalog_sqlite import SQLiteCatalog

    return SQLiteCatalog(Path(root) / "catalog.db")
