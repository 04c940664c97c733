"""The catalog in PostgreSQL: what several hosts behind one load balancer share.

    catalog = PostgresCatalog("postgresql:///personal?host=/run/postgresql")
    PERSONAL_HOST_CATALOG=postgresql://... personal host serve --root DIR   # every host

The same tables as the SQLite catalog (`catalog_sqlite.py`) and the same contract
(tests/test_host_catalog.py runs over both). What changes with a server database:
transactions are the server's, so a register or a pointer move on one host is seen at once
by the others; `register` and `move_pointer` lock the tenant's pointer row (`FOR UPDATE`)
for their compare-and-set, so two hosts receiving pushes of one tenant cannot both move it;
a revision is inserted with `ON CONFLICT DO NOTHING`, so two hosts registering the same
revision store it once. Revision ids use the "C" collation: a prefix lookup is one index
range, as in SQLite. Blobs are not here: they live in storage the hosts share
(docs/scale-out.md).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from personal.host.catalog import (
    UNSET,
    AmbiguousRef,
    Pointer,
    PointerConflict,
    RevisionRecord,
    RevisionUnknown,
    Tenant,
    TenantExists,
    TenantNotFound,
)
from personal.host.catalog_sqlite import _COLUMNS, _now

MIGRATIONS = (
    """
    CREATE TABLE tenants (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, token_hash TEXT NOT NULL UNIQUE,
        pinned BOOLEAN NOT NULL DEFAULT FALSE, created_at TEXT NOT NULL);
    CREATE TABLE revisions (
        tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        id TEXT COLLATE "C" NOT NULL, parent TEXT, created_at TEXT NOT NULL,
        registered_at TEXT NOT NULL, size BIGINT NOT NULL, compact_of TEXT,
        manifest JSONB NOT NULL, files JSONB NOT NULL, probe_check JSONB NOT NULL,
        seq BIGSERIAL NOT NULL, PRIMARY KEY (tenant_id, id));
    CREATE INDEX revisions_by_seq ON revisions (tenant_id, seq);
    CREATE TABLE pointers (
        tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
        revision TEXT, pinned BOOLEAN NOT NULL DEFAULT FALSE, moved_at TEXT, reason TEXT);
    CREATE TABLE revision_blobs (
        tenant_id TEXT NOT NULL, revision TEXT COLLATE "C" NOT NULL, path TEXT NOT NULL,
        sha256 TEXT NOT NULL, PRIMARY KEY (tenant_id, revision, path),
        FOREIGN KEY (tenant_id, revision) REFERENCES revisions(tenant_id, id) ON DELETE CASCADE);
    CREATE INDEX revision_blobs_by_sha ON revision_blobs (sha256);
    """,
)
TENANT = "SELECT id, name, created_at, pinned FROM tenants"


class PostgresCatalog:
    def __init__(self, url: str):
        import psycopg

        self._psycopg = psycopg
        self.url = url
        self._db = psycopg.connect(url, autocommit=True)
        self._lock = threading.RLock()
        self._migrate()

    def _migrate(self) -> None:
        with self._tx() as db:
            db.execute("SELECT pg_advisory_xact_lock(7143201)")  # one host migrates at a time
            db.execute("CREATE TABLE IF NOT EXISTS personal_schema (version INTEGER NOT NULL)")
            row = db.execute("SELECT version FROM personal_schema").fetchone()
            version = row[0] if row else 0
            if row is None:
                db.execute("INSERT INTO personal_schema VALUES (0)")
            for n, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in filter(str.strip, script.split(";")):
                    db.execute(statement)
                db.execute("UPDATE personal_schema SET version = %s", (n,))

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock, self._db.transaction():
            yield self._db

    def _one(self, sql: str, *args: Any) -> tuple | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    # --- tenants ---------------------------------------------------------------------
    def add_tenant(self, name: str, token_hash: str) -> Tenant:
        tenant = Tenant(secrets.token_hex(8), name, _now())
        try:
            with self._tx() as db:
                db.execute("INSERT INTO tenants (id, name, token_hash, created_at) "
                           "VALUES (%s, %s, %s, %s)",
                           (tenant.id, name, token_hash, tenant.created_at))  # fmt: skip
                db.execute("INSERT INTO pointers (tenant_id) VALUES (%s)", (tenant.id,))
        except self._psycopg.errors.UniqueViolation:
            raise TenantExists(f"a tenant named {name!r} exists already",
                               hint="pick another name, or rotate its token") from None  # fmt: skip
        return tenant

    def tenant(self, name: str) -> Tenant | None:
        return _tenant(self._one(f"{TENANT} WHERE name = %s", name))

    def tenant_by_token(self, token_hash: str) -> Tenant | None:
        return _tenant(self._one(f"{TENANT} WHERE token_hash = %s", token_hash))

    def tenants(self) -> list[Tenant]:
        with self._lock:
            rows = self._db.execute(f"{TENANT} ORDER BY name COLLATE \"C\"").fetchall()
        return [_tenant(r) for r in rows]  # type: ignore[misc]

    def _named(self, db: Any, name: str) -> str:
        row = db.execute("SELECT id FROM tenants WHERE name = %s", (name,)).fetchone()
        if row is None:
            raise TenantNotFound(f"no tenant named {name!r}",
                                 hint="see them with: personal host tenant list")  # fmt: skip
        return row[0]

    def set_token(self, name: str, token_hash: str) -> Tenant:
        with self._tx() as db:
            db.execute("UPDATE tenants SET token_hash = %s WHERE id = %s",
                       (token_hash, self._named(db, name)))  # fmt: skip
        return self.tenant(name)  # type: ignore[return-value]

    def set_pinned(self, name: str, pinned: bool) -> Tenant:
        with self._tx() as db:
            db.execute("UPDATE tenants SET pinned = %s WHERE id = %s",
                       (pinned, self._named(db, name)))  # fmt: skip
        return self.tenant(name)  # type: ignore[return-value]

    def remove_tenant(self, name: str) -> list[RevisionRecord]:
        with self._tx() as db:
            tenant_id = self._named(db, name)
            rows = db.execute(f"SELECT {_COLUMNS} FROM revisions WHERE tenant_id = %s",
                              (tenant_id,)).fetchall()  # fmt: skip
            db.execute("DELETE FROM tenants WHERE id = %s", (tenant_id,))
        return [_record(r) for r in rows]

    # --- revisions ---------------------------------------------------------------------
    def register(self, record: RevisionRecord, *, move: bool = False,
                 expect: str | None = UNSET) -> tuple[RevisionRecord, bool]:  # fmt: skip
        from psycopg.types.json import Jsonb

        select = f"SELECT {_COLUMNS} FROM revisions WHERE tenant_id = %s AND id = %s"
        with self._tx() as db:
            inserted = db.execute(
                f"INSERT INTO revisions ({_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
                "ON CONFLICT (tenant_id, id) DO NOTHING RETURNING id",
                (record.tenant, record.id, record.parent, record.created_at,
                 record.registered_at or _now(), record.size, record.compact_of,
                 Jsonb(record.manifest), Jsonb(record.files), Jsonb(record.probe_check)),
            ).fetchone()  # fmt: skip
            created = inserted is not None
            if created:
                db.cursor().executemany(
                    "INSERT INTO revision_blobs (tenant_id, revision, path, sha256) "
                    "VALUES (%s, %s, %s, %s)",
                    [(record.tenant, record.id, p, sha) for p, sha in record.files.items()],
                )
            row = db.execute(select, (record.tenant, record.id)).fetchone()
            if move:
                self._move(db, record.tenant, record.id, "push", None, expect)
        return _record(row), created

    def revision(self, tenant: str, ref: str) -> RevisionRecord | None:
        ref = ref.lower()
        if len(ref) < 4 or any(c not in "0123456789abcdef" for c in ref):
            return None
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM revisions WHERE tenant_id = %s AND id >= %s "
                "AND id < %s LIMIT 2", (tenant, ref, ref + "g")).fetchall()  # fmt: skip
        if len(rows) > 1:
            raise AmbiguousRef(f"{ref!r} matches several revisions",
                               hint="give more characters of the revision id")  # fmt: skip
        return _record(rows[0]) if rows else None

    def revisions(self, tenant: str) -> list[RevisionRecord]:
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM revisions WHERE tenant_id = %s "
                                    "ORDER BY seq DESC", (tenant,)).fetchall()  # fmt: skip
        return [_record(r) for r in rows]

    # --- pointers ---------------------------------------------------------------------
    def pointer(self, tenant: str) -> Pointer:
        row = self._one("SELECT revision, pinned, moved_at, reason FROM pointers "
                        "WHERE tenant_id = %s", tenant)  # fmt: skip
        return Pointer(row[0], bool(row[1]), row[2], row[3]) if row else Pointer(None)

    def move_pointer(self, tenant: str, revision: str | None, reason: str, *,
                     pinned: bool | None = None, expect: str | None = UNSET) -> Pointer:  # fmt: skip
        with self._tx() as db:
            if revision is not None and db.execute(
                    "SELECT 1 FROM revisions WHERE tenant_id = %s AND id = %s",
                    (tenant, revision)).fetchone() is None:  # fmt: skip
                raise RevisionUnknown(f"no revision {revision[:12]} here",
                                      hint="push it first: personal sync push")  # fmt: skip
            self._move(db, tenant, revision, reason, pinned, expect)
        return self.pointer(tenant)

    def _move(self, db: Any, tenant: str, revision: str | None, reason: str,
              pinned: bool | None, expect: str | None) -> None:  # fmt: skip
        row = db.execute("SELECT revision, pinned FROM pointers WHERE tenant_id = %s "
                         "FOR UPDATE", (tenant,)).fetchone()  # fmt: skip
        current = row[0] if row else None
        if expect is not UNSET and expect != current and revision != current:
            raise PointerConflict(current, expect)
        keep = bool(row[1]) if row else False
        db.execute("INSERT INTO pointers (tenant_id, revision, pinned, moved_at, reason) "
                   "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant_id) DO UPDATE SET "
                   "revision = excluded.revision, pinned = excluded.pinned, "
                   "moved_at = excluded.moved_at, reason = excluded.reason",
                   (tenant, revision, keep if pinned is None else pinned, _now(), reason))  # fmt: skip

    # --- storage ----------------------------------------------------------------------
    def blobs(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT DISTINCT sha256 FROM revision_blobs")}

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _tenant(row: tuple | None) -> Tenant | None:
    return Tenant(row[0], row[1], row[2], bool(row[3])) if row else None


def _record(row: tuple) -> RevisionRecord:
    return RevisionRecord(
        tenant=row[0], id=row[1], parent=row[2], created_at=row[3], registered_at=row[4],
        size=row[5], compact_of=row[6], manifest=row[7], files=row[8], probe_check=row[9],
    )  # fmt: skip
