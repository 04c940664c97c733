"""The base a host serves, and what it accepts.

    base = prepare_base(root, "smollm2-135m", "F32")    # writes root/base/<name>.F32.gguf once
    base.identity.compare(revision_identity)          # "same-weights" → accepted

The host's choice of weights is its own: the same model at a higher precision than the
device's Q4 file is the point of the large-model path. `F32` writes the catalog model's
weights as the conversion dequantizes them (the same weights: the device's identity says
"same-weights"); `F16` rounds them once more ("same-model"); `as-is` serves the catalog file
itself ("same-file"). An adapter is accepted only when its base relates to this one as one
of `accepts` says; anything else is refused with the relation and both identities.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from personal.adapters.manifest import BaseIdentity
from personal.errors import ModelError
from personal.fileio import write_json_atomic
from personal.models import catalog
from personal.models.catalog import BaseModel
from personal.models.header import read_header

ACCEPTS = ("same-file", "same-weights", "same-model")
PRECISIONS = ("F32", "F16", "as-is")


@dataclass(frozen=True)
class HostBase:
    model: BaseModel  # the file served, under the catalog's name for the model
    identity: BaseIdentity
    precision: str
    accepts: tuple[str, ...] = ACCEPTS

    def relation(self, other: BaseIdentity) -> str:
        return self.identity.compare(other)

    def refusal(self, other: BaseIdentity) -> str | None:
        """Why an adapter for `other` cannot run here (None: it can)."""
        relation = self.relation(other)
        if relation in self.accepts:
            return None
        return (f"this host serves {self.identity.name} ({self.identity.source or 'unknown source'}, "
                f"{self.precision}); the revision was trained on {other.name} "
                f"({other.source or 'unknown source'}, {other.quantization or '?'}): "
                f"'{relation}', and this host accepts {', '.join(self.accepts)}")  # fmt: skip


def prepare_base(root: Path, model: str | None = None, precision: str = "F32",
                 accepts: tuple[str, ...] = ACCEPTS) -> HostBase:  # fmt: skip
    """The host's base under `root/base/`, written on first use and found again after."""
    from personal.models.precise import digests, write_precise

    if precision not in PRECISIONS:
        raise ModelError(f"unknown precision {precision!r}",
                         hint=f"use one of: {', '.join(PRECISIONS)}")  # fmt: skip
    unknown = set(accepts) - set(ACCEPTS)
    if unknown or not accepts:
        raise ModelError(f"unknown identity relations {sorted(unknown)}",
                         hint=f"accept some of: {', '.join(ACCEPTS)}")  # fmt: skip
    src = catalog.resolve(model)
    folder = Path(root) / "base"
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / "base.json"
    want = {"source": str(src.path), "source_fingerprint": src.fingerprint, "precision": precision}
    try:
        saved = json.loads(record.read_text())
        if {k: saved.get(k) for k in want} == want and Path(saved["file"]).is_file():
            return _served(src, Path(saved["file"]), BaseIdentity(**saved["identity"]),
                           precision, accepts)  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if precision == "as-is":
        path, found = src.path, digests(src)
    else:
        path = folder / f"{src.name}.{precision}.gguf"
        found = write_precise(src, path, precision)
    served = BaseModel(name=src.name, path=path, header=read_header(path))
    identity = BaseIdentity(
        name=src.name, architecture=src.architecture, fingerprint=served.fingerprint,
        source=src.source, quantization=src.quantization if precision == "as-is" else precision,
        weights=found["weights_sha256"], shapes=found["shapes_sha256"],
    )  # fmt: skip
    write_json_atomic(record, {**want, "file": str(path), "identity": asdict(identity)})
    return _served(src, path, identity, precision, accepts)


def _served(src: BaseModel, path: Path, identity: BaseIdentity, precision: str,
            accepts: tuple[str, ...]) -> HostBase:  # fmt: skip
    model = BaseModel(name=src.name, path=path, header=read_header(path))
    return HostBase(model, identity, precision, tuple(accepts))
