"""Restoring a person's revisions from the host onto a device (a new one, or after a loss).

    restored = pull(client, registry, base)

The host is the person's backup: for each revision of theirs it lacks locally (oldest
first), the device fetches the public manifest and the canonical files, checks their
hashes, derives the other formats with its own exporter — which must give the bytes the
manifest lists, so the restored revision is bit for bit the original — and registers it.
The private parts of the manifest (the dataset's path, the preference sentences) never
left the first device and are not restored. The current pointer follows the host's when
this device has none.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from personal.adapters.formats import export_all
from personal.adapters.manifest import Manifest
from personal.adapters.registry import Registry
from personal.errors import PersonalError
from personal.models.catalog import BaseModel
from personal.sync import wire
from personal.sync.client import HostClient


class PullError(PersonalError):
    pass


@dataclass
class Pulled:
    restored: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # id → why
    current: str | None = None


def pull(client: HostClient, registry: Registry, base: BaseModel) -> Pulled:
    state = client.state()
    out = Pulled()
    for info in reversed(state.revisions):  # oldest first: parents before children
        if (registry.revisions / info.id / "manifest.json").is_file():
            out.present.append(info.id)
            continue
        detail = client.revision(info.id)
        manifest = Manifest.from_dict(detail.get("manifest"), where=f"revision {info.id[:12]}")
        if manifest.base.fingerprint != base.fingerprint:
            out.skipped[info.id] = (f"trained on {manifest.base.name} "
                                    f"({manifest.base.fingerprint[:12]}), not this device's base")  # fmt: skip
            continue
        _restore(client, registry, base, info.id, manifest)
        out.restored.append(info.id)
    host_current = state.current.revision
    if host_current and registry.pointer(base.fingerprint)["revision"] is None and (
            registry.revisions / host_current).is_dir():  # fmt: skip
        registry.set_current(base.fingerprint, registry.get(host_current), "pull")
        out.current = host_current
    return out


def _restore(client: HostClient, registry: Registry, base: BaseModel, rev_id: str,
             manifest: Manifest) -> None:  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        fetched = Path(tmp) / "mlx"
        for rel in wire.CANONICAL:
            data = client.file(rev_id, rel)
            listed = manifest.files.get(rel)
            if listed is None or wire.sha256(data) != listed.sha256:
                raise PullError(f"revision {rev_id[:12]}: {rel} does not hash as its manifest "
                                "says", hint="the host's copy is damaged; nothing was restored")  # fmt: skip
            target = fetched / Path(rel).name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        staged = registry.stage()
        try:
            formats = export_all(fetched, base, staged)
            for rel, entry in manifest.files.items():
                path = staged / rel
                if path.is_file() and wire.sha256(path.read_bytes()) != entry.sha256:
                    raise PullError(f"revision {rev_id[:12]}: {rel} derived here differs from "
                                    "the original", hint="this device's exporter differs from "
                                    "the one that made it; update personal")  # fmt: skip
            rev = registry.commit(staged, manifest.with_(formats=formats))
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
    if rev.id != rev_id:
        raise PullError(f"revision {rev_id[:12]} was restored as {rev.id[:12]}")
