"""The catalog's contract, run over every implementation of `personal.host.catalog.Catalog`.

SQLite (one host) and PostgreSQL (many hosts; a throwaway socket-only cluster started for
the session, a fresh database per test) pass the same tests; nothing here knows which one
it runs on.
"""

from __future__ import annotations

import threading

import pytest

from personal.host.catalog import (
    AmbiguousRef,
    PointerConflict,
    RevisionRecord,
    RevisionUnknown,
    TenantExists,
    TenantNotFound,
)
from personal.host.catalog_sqlite import SQLiteCatalog
from tests.pgcluster import fresh_database, pg_cluster

IMPLEMENTATIONS = {
    "sqlite": lambda tmp, request: SQLiteCatalog(tmp / "catalog.db"),
    "sqlite-memory": lambda tmp, request: SQLiteCatalog(":memory:"),
    "postgres": lambda tmp, request: _postgres(request.getfixturevalue("pg_url")),
}


@pytest.fixture(scope="session")
def pg_url():
    with pg_cluster() as url:
        yield url


def _postgres(server_url: str):
    from personal.host.catalog_postgres import PostgresCatalog

    return PostgresCatalog(fresh_database(server_url))


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def catalog(request, tmp_path):
    made = IMPLEMENTATIONS[request.param](tmp_path, request)
    yield made
    made.close()


def rev(tenant: str, n: int, parent: str | None = None, **extra) -> RevisionRecord:
    rid = extra.pop("id", f"{n:02x}" * 32)
    fields = {"manifest": {"id": rid}, "size": 100 + n, "created_at": "2026-01-01T00:00:00Z",
              "files": {"mlx/adapters.safetensors": rid, "adapter.gguf": f"{n:064x}"}, **extra}
    return RevisionRecord(tenant=tenant, id=rid, parent=parent, **fields)


def test_tenants_are_added_found_by_token_and_renamed_never(catalog):
    sam = catalog.add_tenant("sam", "h1")
    ada = catalog.add_tenant("ada", "h2")
    assert sam.id != ada.id and sam.name not in sam.id
    assert catalog.tenant("sam") == sam and catalog.tenant_by_token("h2") == ada
    assert catalog.tenant("nobody") is None and catalog.tenant_by_token("nope") is None
    assert [t.name for t in catalog.tenants()] == ["ada", "sam"]
    with pytest.raises(TenantExists):
        catalog.add_tenant("sam", "h3")
    with pytest.raises(TenantExists):  # a token hash is unique too
        catalog.add_tenant("eve", "h1")


def test_a_rotated_token_replaces_the_old_one(catalog):
    catalog.add_tenant("sam", "old")
    catalog.set_token("sam", "new")
    assert catalog.tenant_by_token("old") is None
    assert catalog.tenant_by_token("new").name == "sam"
    with pytest.raises(TenantNotFound):
        catalog.set_token("nobody", "x")


def test_pinning_a_tenant(catalog):
    catalog.add_tenant("sam", "h")
    assert catalog.set_pinned("sam", True).pinned
    assert catalog.tenant("sam").pinned and not catalog.set_pinned("sam", False).pinned


def test_register_is_idempotent_and_scoped_to_the_tenant(catalog):
    sam, ada = catalog.add_tenant("sam", "h1"), catalog.add_tenant("ada", "h2")
    record, created = catalog.register(rev(sam.id, 1))
    assert created and record.registered_at and record.files == rev(sam.id, 1).files
    again, created = catalog.register(rev(sam.id, 1, size=999))
    assert not created and again.size == 101  # stored once; the stored one wins
    assert catalog.revision(sam.id, record.id) == record
    assert catalog.revision(ada.id, record.id) is None  # another tenant's: absent
    catalog.register(rev(ada.id, 1))  # the same weights may belong to two tenants
    assert catalog.revision(ada.id, record.id).tenant == ada.id


def test_revisions_by_prefix_newest_first(catalog):
    sam = catalog.add_tenant("sam", "h1")
    for n in (0x10, 0x11, 0x20):
        catalog.register(rev(sam.id, n))
    assert [r.id[:2] for r in catalog.revisions(sam.id)] == ["20", "11", "10"]
    assert catalog.revision(sam.id, "2020").id[:2] == "20"
    assert catalog.revision(sam.id, "ffff") is None
    assert catalog.revision(sam.id, "10") is None  # shorter than 4: never a match
    assert catalog.revision(sam.id, "../etc/passwd") is None
    catalog.register(rev(sam.id, 0x10, id="1010" + "f" * 60))
    with pytest.raises(AmbiguousRef):
        catalog.revision(sam.id, "1010")


def test_the_pointer_moves_with_compare_and_set(catalog):
    sam = catalog.add_tenant("sam", "h")
    assert catalog.pointer(sam.id).revision is None
    one, _ = catalog.register(rev(sam.id, 1), move=True, expect=None)
    assert catalog.pointer(sam.id).revision == one.id
    two, _ = catalog.register(rev(sam.id, 2, parent=one.id), move=True, expect=one.id)
    p = catalog.pointer(sam.id)
    assert p.revision == two.id and p.reason == "push" and p.moved_at
    with pytest.raises(PointerConflict):  # a replay of the first push
        catalog.register(rev(sam.id, 1), move=True, expect=None)
    assert catalog.pointer(sam.id).revision == two.id
    back = catalog.move_pointer(sam.id, one.id, "rollback", pinned=True, expect=two.id)
    assert back.revision == one.id and back.pinned and back.reason == "rollback"
    assert catalog.move_pointer(sam.id, None, "rollback").revision is None
    assert catalog.pointer(sam.id).pinned  # unchanged unless given


def test_a_pointer_only_moves_to_the_tenants_own_revisions(catalog):
    sam, ada = catalog.add_tenant("sam", "h1"), catalog.add_tenant("ada", "h2")
    theirs, _ = catalog.register(rev(ada.id, 7))
    with pytest.raises(RevisionUnknown):
        catalog.move_pointer(sam.id, theirs.id, "rollback")
    assert catalog.pointer(sam.id).revision is None


def test_removing_a_tenant_removes_everything_of_theirs(catalog):
    sam, ada = catalog.add_tenant("sam", "h1"), catalog.add_tenant("ada", "h2")
    catalog.register(rev(sam.id, 1), move=True)
    catalog.register(rev(sam.id, 2))
    catalog.register(rev(ada.id, 3))
    removed = catalog.remove_tenant("sam")
    assert sorted(r.id[:2] for r in removed) == ["01", "02"]
    assert catalog.tenant("sam") is None and catalog.revisions(sam.id) == []
    assert catalog.pointer(sam.id).revision is None
    assert catalog.blobs() == set(rev(ada.id, 3).files.values())
    with pytest.raises(TenantNotFound):
        catalog.remove_tenant("sam")


def test_concurrent_registrations_store_once(catalog):
    sam = catalog.add_tenant("sam", "h")
    results = []

    def push():
        results.append(catalog.register(rev(sam.id, 5))[1])

    threads = [threading.Thread(target=push) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1 and len(catalog.revisions(sam.id)) == 1



def test_sqlite_checkpoints_run_off_the_request_path(tmp_path):
    """No commit copies the WAL into the database (at 10⁶ revisions the commit that did was
    the p99 of register); the catalog's own thread does, within seconds."""
    import time

    path = tmp_path / "catalog.db"
    catalog = SQLiteCatalog(path)
    assert catalog._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    sam = catalog.add_tenant("sam", "h1")
    time.sleep(1.5)  # the tenant reaches the database file
    before = path.stat().st_size
    for n in range(200):
        catalog.register(rev(sam.id, n, manifest={"pad": "x" * 2000}))
    deadline = time.monotonic() + 15
    while path.stat().st_size <= before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert path.stat().st_size > before, "nothing was checkpointed into the database file"
    catalog.close()
    reopened = SQLiteCatalog(path)
    assert len(reopened.revisions(sam.id)) == 200
    reopened.close()
