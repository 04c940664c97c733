"""The catalog in SQLite: one file under the host's root, WAL mode, numbered migrations.

Tables: `tenants`, `revisions` (keyed by tenant and id, WITHOUT ROWID so a lookup by
tenant and id prefix is one B-tree range), `pointers` (one row per tenant) and
`revision_blobs` (which blob each revision file is, for garbage collection). Foreign keys
cascade: removing a tenant removes its rows in one transaction. One connection, used under
a lock (operations take microseconds); other processes (the `personal host tenant`
commands) wait on SQLite's busy timeout.

Checkpoints run off the request path: SQLite's automatic checkpoint copies the WAL into the
database inside whichever commit crosses 1,000 pages, and at 10⁶ revisions that commit took
26 ms (the p99 of `register`, benchmarks/catalog_scale.py). Here the automatic one is off
and a thread of the catalog's own runs a PASSIVE checkpoint (it never blocks readers or
writers) once a second on a second connection.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path
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

MIGRATIONS = (
    """
    CREATE TABLE tenants (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, token_hash TEXT NOT NULL UNIQUE,
        pinned INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
    CREATE TABLE revisions (
        tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        id TEXT NOT NULL, parent TEXT, created_at TEXT NOT NULL, registered_at TEXT NOT NULL,
        size INTEGER NOT NULL, compact_of TEXT, manifest TEXT NOT NULL, files TEXT NOT NULL,
        probe_check TEXT NOT NULL, seq INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, id)) WITHOUT ROWID;
    CREATE INDEX revisions_by_seq ON revisions (tenant_id, seq);
    CREATE TABLE pointers (
        tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
        revision TEXT, pinned INTEGER NOT NULL DEFAULT 0, moved_at TEXT, reason TEXT);
    CREATE TABLE revision_blobs (
        tenant_id TEXT NOT NULL, revision TEXT NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL,
        PRIMARY KEY (tenant_id, revision, path),
        FOREIGN KEY (tenant_id, revision) REFERENCES revisions(tenant_id, id) ON DELETE CASCADE
    ) WITHOUT ROWID;
    CREATE INDEX revision_blobs_by_sha ON revision_blobs (sha256);
    """,
)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SQLiteCatalog:
    def __init__(self, path: Path | str):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                   timeout=10)  # fmt: skip
        self._lock = threading.RLock()
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA busy_timeout = 10000")
        self._checkpoints: _Checkpointer | None = None
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA wal_autocheckpoint = 0")
            self._checkpoints = _Checkpointer(self.path)
        self._migrate()

    def _migrate(self) -> None:
        with self._tx() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for n, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in filter(str.strip, script.split(";")):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {n}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _one(self, sql: str, *args: Any) -> tuple | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    # --- tenants ---------------------------------------------------------------------
    def add_tenant(self, name: str, token_hash: str) -> Tenant:
        tenant = Tenant(secrets.token_hex(8), name, _now())
        try:
            with self._tx() as db:
                db.execute("INSERT INTO tenants (id, name, token_hash, created_at) "
                           "VALUES (?, ?, ?, ?)", (tenant.id, name, token_hash, tenant.created_at))  # fmt: skip
                db.execute("INSERT INTO pointers (tenant_id) VALUES (?)", (tenant.id,))
        except sqlite3.IntegrityError:
            raise TenantExists(f"a tenant named {name!r} exists already",
                               hint="pick another name, or rotate its token") from None  # fmt: skip
        return tenant

    def tenant(self, name: str) -> Tenant | None:
        row = self._one("SELECT id, name, created_at, pinned FROM tenants WHERE name = ?", name)
        return Tenant(row[0], row[1], row[2], bool(row[3])) if row else None

    def tenant_by_token(self, token_hash: str) -> Tenant | None:
        row = self._one("SELECT id, name, created_at, pinned FROM tenants WHERE token_hash = ?",
                        token_hash)  # fmt: skip
        return Tenant(row[0], row[1], row[2], bool(row[3])) if row else None

    def tenants(self) -> list[Tenant]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, name, created_at, pinned FROM tenants ORDER BY name").fetchall()
        return [Tenant(r[0], r[1], r[2], bool(r[3])) for r in rows]

    def _named(self, db: sqlite3.Connection, name: str) -> str:
        row = db.execute("SELECT id FROM tenants WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise TenantNotFound(f"no tenant named {name!r}",
                                 hint="see them with: personal host tenant list")  # fmt: skip
        return row[0]

    def set_token(self, name: str, token_hash: str) -> Tenant:
        with self._tx() as db:
            db.execute("UPDATE tenants SET token_hash = ? WHERE id = ?",
                       (token_hash, self._named(db, name)))  # fmt: skip
        return self.tenant(name)  # type: ignore[return-value]

    def set_pinned(self, name: str, pinned: bool) -> Tenant:
        with self._tx() as db:
            db.execute("UPDATE tenants SET pinned = ? WHERE id = ?",
                       (int(pinned), self._named(db, name)))  # fmt: skip
        return self.tenant(name)  # type: ignore[return-value]

    def remove_tenant(self, name: str) -> list[RevisionRecord]:
        with self._tx() as db:
            tenant_id = self._named(db, name)
            rows = db.execute(f"SELECT {_COLUMNS} FROM revisions WHERE tenant_id = ?",
                              (tenant_id,)).fetchall()  # fmt: skip
            db.execute("DELETE FROM tenants WHERE id = ?", (tenant_id,))
        return [_record(r) for r in rows]

    # --- revisions ---------------------------------------------------------------------
    def register(self, record: RevisionRecord, *, move: bool = False,
                 expect: str | None = UNSET) -> tuple[RevisionRecord, bool]:  # fmt: skip
        with self._tx() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM revisions WHERE tenant_id = ? AND id = ?",
                             (record.tenant, record.id)).fetchone()  # fmt: skip
            created = row is None
            if created:
                now = record.registered_at or _now()
                seq = db.execute("SELECT coalesce(max(seq), 0) + 1 FROM revisions "
                                 "WHERE tenant_id = ?", (record.tenant,)).fetchone()[0]  # fmt: skip
                db.execute(
                    f"INSERT INTO revisions ({_COLUMNS}, seq) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (record.tenant, record.id, record.parent, record.created_at, now,
                     record.size, record.compact_of, json.dumps(record.manifest),
                     json.dumps(record.files), json.dumps(record.probe_check), seq),
                )  # fmt: skip
                db.executemany(
                    "INSERT INTO revision_blobs (tenant_id, revision, path, sha256) "
                    "VALUES (?, ?, ?, ?)",
                    [(record.tenant, record.id, p, sha) for p, sha in record.files.items()],
                )
                row = db.execute(f"SELECT {_COLUMNS} FROM revisions WHERE tenant_id = ? "
                                 "AND id = ?", (record.tenant, record.id)).fetchone()  # fmt: skip
            if move:
                self._move(db, record.tenant, record.id, "push", None, expect)
        return _record(row), created

    def revision(self, tenant: str, ref: str) -> RevisionRecord | None:
        ref = ref.lower()
        if len(ref) < 4 or any(c not in "0123456789abcdef" for c in ref):
            return None
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM revisions WHERE tenant_id = ? AND id >= ? AND id < ? "
                "LIMIT 2", (tenant, ref, ref + "g")).fetchall()  # fmt: skip
        if len(rows) > 1:
            raise AmbiguousRef(f"{ref!r} matches several revisions",
                               hint="give more characters of the revision id")  # fmt: skip
        return _record(rows[0]) if rows else None

    def revisions(self, tenant: str) -> list[RevisionRecord]:
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM revisions WHERE tenant_id = ? "
                                    "ORDER BY seq DESC", (tenant,)).fetchall()  # fmt: skip
        return [_record(r) for r in rows]

    # --- pointers ---------------------------------------------------------------------
    def pointer(self, tenant: str) -> Pointer:
        row = self._one("SELECT revision, pinned, moved_at, reason FROM pointers "
                        "WHERE tenant_id = ?", tenant)  # fmt: skip
        return Pointer(row[0], bool(row[1]), row[2], row[3]) if row else Pointer(None)

    def move_pointer(self, tenant: str, revision: str | None, reason: str, *,
                     pinned: bool | None = None, expect: str | None = UNSET) -> Pointer:  # fmt: skip
        with self._tx() as db:
            if revision is not None and db.execute(
                    "SELECT 1 FROM revisions WHERE tenant_id = ? AND id = ?",
                    (tenant, revision)).fetchone() is None:  # fmt: skip
                raise RevisionUnknown(f"no revision {revision[:12]} here",
                                      hint="push it first: personal sync push")  # fmt: skip
            self._move(db, tenant, revision, reason, pinned, expect)
        return self.pointer(tenant)

    def _move(self, db: sqlite3.Connection, tenant: str, revision: str | None, reason: str,
              pinned: bool | None, expect: str | None) -> None:  # fmt: skip
        row = db.execute("SELECT revision, pinned FROM pointers WHERE tenant_id = ?",
                         (tenant,)).fetchone()  # fmt: skip
        current = row[0] if row else None
        if expect is not UNSET and expect != current and revision != current:
            raise PointerConflict(current, expect)
        keep = bool(row[1]) if row else False
        db.execute("INSERT INTO pointers (tenant_id, revision, pinned, moved_at, reason) "
                   "VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id) DO UPDATE SET "
                   "revision = excluded.revision, pinned = excluded.pinned, "
                   "moved_at = excluded.moved_at, reason = excluded.reason",
                   (tenant, revision, int(keep if pinned is None else pinned), _now(), reason))  # fmt: skip

    # --- storage ----------------------------------------------------------------------
    def blobs(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT DISTINCT sha256 FROM revision_blobs")}

    def close(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.stop()
        with self._lock:
            self._db.close()


class _Checkpointer:
    """PASSIVE WAL checkpoints every `every` seconds on a connection of its own."""

    def __init__(self, path: str, every: float = 1.0):
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                   timeout=10)  # fmt: skip
        self._every, self._stopped = every, threading.Event()
        self._thread = threading.Thread(target=self._run, name="catalog-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self._every):
            self.checkpoint()

    def checkpoint(self) -> None:
        with suppress(sqlite3.Error):  # busy or closing: the next tick tries again
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
        self.checkpoint()  # what is left goes into the database before it closes
        self._db.close()


_COLUMNS = ("tenant_id, id, parent, created_at, registered_at, size, compact_of, manifest, "
            "files, probe_check")  # fmt: skip


def _record(row: tuple) -> RevisionRecord:
    return RevisionRecord(
        tenant=row[0], id=row[1], parent=row[2], created_at=row[3], registered_at=row[4],
        size=row[5], compact_of=row[6], manifest=json.loads(row[7]), files=json.loads(row[8]),
        probe_check=json.loads(row[9]),
    )  # fmt: skip
