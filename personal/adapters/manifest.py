"""A revision's manifest: typed, read and written only here, with one public projection.

    manifest = Manifest.read(rev_dir / "manifest.json")     # typed, or a typed error
    manifest.public()                                       # what may leave the device

The manifest carries a revision's full provenance for the person's own tools: the dataset it
was distilled from (with the dataset's local path), the gate's measurements keyed by the
person's own preference sentences, the verdict's reasons in words. None of that may leave the
device. `public()` is the one projection that does: ids, parent, base identity, training
configuration and figures, formats, file hashes and sizes, and aggregate metrics — numbers
and identifiers, never text the person wrote or a path of this machine.

Older manifests (schema 1, untyped) are read as they are: missing sections stay empty.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from personal.errors import ManifestError

SCHEMA = 2
# Files a public manifest may name: the adapter in each format and the loss curve. The
# training report stays home (it names local paths).
PUBLIC_FILES = ("mlx/adapters.safetensors", "mlx/adapter_config.json", "adapter.gguf",
                "peft/adapter_model.safetensors", "peft/adapter_config.json", "loss.json")  # fmt: skip


@dataclass(frozen=True)
class BaseIdentity:
    """Which base model an adapter belongs to, in terms another machine can check.

    `fingerprint` names the exact GGUF file this device runs. A host may serve the same
    model from other weights (F32, HF format); it compares the rest: `weights` is the hash
    of the canonical float32 weights the trainer trained on (the GGUF dequantized, HF names),
    `shapes` the hash of every tensor's name and shape, `source` the model it was
    quantized from. See `compare`."""

    name: str
    architecture: str
    fingerprint: str
    source: str | None = None  # e.g. "HuggingFaceTB/SmolLM2-135M-Instruct"
    quantization: str | None = None  # e.g. "Q4_1"
    weights: str | None = None  # SHA-256 of the canonical dequantized float32 weights
    shapes: str | None = None  # SHA-256 of the tensor names and shapes

    def compare(self, other: BaseIdentity) -> str:
        """"same-file", "same-weights" (another file of exactly these values),
        "same-model" (the same model at another precision) or "different"."""
        if self.fingerprint == other.fingerprint:
            return "same-file"
        if self.weights and self.weights == other.weights:
            return "same-weights"
        same_shape = bool(self.shapes) and self.shapes == other.shapes
        same_source = bool(self.source) and self.source == other.source
        if same_shape and same_source and self.architecture == other.architecture:
            return "same-model"
        return "different"


@dataclass(frozen=True)
class DatasetRef:
    hash: str | None = None
    path: str | None = None  # private: a local path
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # kind → split → n
    since: str | None = None
    until: str | None = None
    messages: int = 0


@dataclass(frozen=True)
class Training:
    steps: int = 0
    trained_tokens: int = 0
    tokens_per_s: float | None = None
    wall_s: float | None = None
    peak_rss_mb: float | None = None
    blas: str | None = None
    final_train_loss: float | None = None
    final_val_loss: float | None = None


@dataclass(frozen=True)
class Metrics:
    """What the gate measured for one adapter (or the bare base) on held-out data."""

    ce: float | None = None
    ce_by_kind: dict[str, float] = field(default_factory=dict)
    retention_ce: float | None = None
    adherence: dict[str, float] = field(default_factory=dict)  # objective → share of answers
    support: dict[str, int] = field(default_factory=dict)  # objective → held-out prompts
    retention_accuracy: float | None = None  # share of general questions answered right
    tool_rate: float | None = None
    false_call_rate: float | None = None
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def public(self) -> dict[str, Any]:
        shares = list(self.adherence.values())
        return {
            "ce": self.ce, "ce_by_kind": dict(self.ce_by_kind), "retention_ce": self.retention_ce,
            "retention_accuracy": self.retention_accuracy,
            "adherence_mean": round(sum(shares) / len(shares), 4) if shares else None,
            "adherence_min": min(shares) if shares else None, "objectives": len(shares),
            "tool_rate": self.tool_rate, "false_call_rate": self.false_call_rate,
            "counts": dict(self.counts),
        }  # fmt: skip


@dataclass(frozen=True)
class Equivalence:
    """llama.cpp (quantized base + GGUF-LoRA) against MLX (fp32 base + adapter)."""

    passed: bool = False
    reasons: tuple[str, ...] = ()  # generic sentences with numbers, no user text
    figures: dict[str, float | int] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    promote: bool = False
    reasons: tuple[str, ...] = ()  # private: they quote preferences


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    size: int | None = None


@dataclass(frozen=True)
class Imported:
    sha256: str
    source: str | None = None  # private: where it was imported from


@dataclass(frozen=True)
class ProbeDist:
    """One public probe prompt's next-token distribution, as the device's engine saw it:
    log-probabilities at `ids` (the adapted distribution's top tokens and the bare base's)
    with the adapter and without it. `tokens` hashes the prompt's token ids, so a host
    with another tokenizer is noticed rather than compared."""

    tokens: str
    ids: tuple[int, ...]
    adapted: tuple[float, ...]
    base: tuple[float, ...]


@dataclass(frozen=True)
class Probes:
    """Next-token distributions on the fixed public probe prompts (adapters/probes.py),
    recorded by the device so a host can check its own engine + adapter against them."""

    version: int
    engine: str  # the backend that measured them ("llama.cpp")
    base_fingerprint: str  # the base file it ran
    dists: tuple[ProbeDist, ...] = ()


@dataclass(frozen=True)
class Audit:
    """The privacy audit before a revision leaves the device (learn/privacy.py; thresholds
    in docs/privacy.md). Numbers and generic sentences only: never a canary or a text."""

    passed: bool
    canaries: int = 0  # planted canary sequences measured
    exposure_max: float | None = None  # bits: log2(#candidates) - log2(rank), the highest
    exposure_limit: float | None = None
    candidate_bits: float | None = None  # log2 of the canary space
    verbatim_texts: int = 0  # texts whose start prompted the adapter
    verbatim_adapter: float | None = None  # share continued verbatim with the adapter
    verbatim_base: float | None = None  # ... and by the bare base
    verbatim_limit: float | None = None  # allowed excess of the adapter over the base
    reasons: tuple[str, ...] = ()
    allowed: bool = False  # pushed anyway with --allow-memorized


@dataclass(frozen=True)
class Compact:
    """This revision is the compact (quantized-delta) form of the exact revision `of`,
    checked on the device: its held-out loss is within 1% of the exact one's."""

    of: str
    against: str  # the revision the delta was quantized against
    bits: int
    loss_exact: float
    loss_compact: float


@dataclass(frozen=True)
class Manifest:
    base: BaseIdentity
    id: str = ""  # the SHA-256 of the MLX weights; set by Registry.commit
    parent: str | None = None
    created_at: str = ""
    dataset: DatasetRef = field(default_factory=DatasetRef)
    config: dict[str, Any] = field(default_factory=dict)  # the training configuration
    training: Training = field(default_factory=Training)
    metrics: dict[str, Metrics] = field(default_factory=dict)  # "none", "current", "candidate"
    equivalence: Equivalence | None = None
    verdict: Verdict = field(default_factory=Verdict)
    formats: dict[str, str] = field(default_factory=dict)  # format → path in the revision
    files: dict[str, FileEntry] = field(default_factory=dict)  # path → hash and size
    imported: Imported | None = None
    # private: what was measured (objective id → {"kind", "text", "checker"}) and, per
    # objective, how the chat follows it with this revision: "adapter" (learned: left out
    # of the prompt) or "prompt" (kept in the system prompt)
    objectives: dict[str, dict[str, Any]] = field(default_factory=dict)
    plan: dict[str, str] = field(default_factory=dict)
    probes: Probes | None = None  # public: the device's probe distributions
    audit: Audit | None = None  # public: the privacy audit's figures
    compact: Compact | None = None  # public: set on a compact revision
    schema: int = SCHEMA

    # --- reading and writing -------------------------------------------------------------
    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise ManifestError(
                f"the manifest {path} cannot be read: {e}",
                hint="the revision is damaged; remove it (personal adapters rm) or roll back",
            ) from None
        return cls.from_dict(data, where=str(path))

    @classmethod
    def from_dict(cls, data: Any, where: str = "manifest") -> Manifest:
        if not isinstance(data, dict) or not isinstance(data.get("base"), dict):
            raise ManifestError(f"{where}: not a revision manifest (no base model)",
                                hint="the revision is damaged; remove it or roll back")  # fmt: skip
        try:
            return _manifest(data)
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            raise ManifestError(f"{where}: malformed manifest ({e})",
                                hint="the revision is damaged; remove it or roll back") from None  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)

    def with_(self, **changes: Any) -> Manifest:
        return replace(self, **changes)

    # --- derived -------------------------------------------------------------------------
    @property
    def promoted(self) -> bool:
        return self.verdict.promote

    def public(self) -> dict[str, Any]:
        """What may leave the device (see the module docstring). JSON-ready."""
        training = asdict(self.training)
        if training.get("blas"):
            training["blas"] = str(training["blas"]).split(" (")[0]  # no library path
        return _plain({
            "schema": self.schema, "id": self.id, "parent": self.parent,
            "created_at": self.created_at, "base": asdict(self.base),
            "config": _public_config(self.config), "training": training,
            "dataset": {"hash": self.dataset.hash, "counts": self.dataset.counts,
                        "messages": self.dataset.messages},
            "metrics": {label: m.public() for label, m in self.metrics.items()},
            "equivalence": None if self.equivalence is None else {
                "passed": self.equivalence.passed, "figures": dict(self.equivalence.figures)},
            "verdict": {"promote": self.verdict.promote},
            "formats": {k: v for k, v in self.formats.items()},
            "files": {k: asdict(v) for k, v in self.files.items() if k in PUBLIC_FILES},
            "imported": None if self.imported is None else {"sha256": self.imported.sha256},
            "plan": {"learned": sum(v == "adapter" for v in self.plan.values()),
                     "prompted": sum(v == "prompt" for v in self.plan.values())},
            "probes": None if self.probes is None else asdict(self.probes),
            "audit": None if self.audit is None else asdict(self.audit),
            "compact": None if self.compact is None else asdict(self.compact),
        })  # fmt: skip


# --- parsing ----------------------------------------------------------------------------------
def _known(cls: type, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TypeError(f"{cls.__name__} must be an object")
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _manifest(d: dict[str, Any]) -> Manifest:
    files = {}
    for rel, entry in (d.get("files") or {}).items():
        # schema 1 stored only the hash
        files[rel] = FileEntry(entry) if isinstance(entry, str) else FileEntry(**_known(FileEntry, entry))
    eq = d.get("equivalence")
    equivalence = None
    if isinstance(eq, dict) and eq:
        if "figures" in eq:
            equivalence = Equivalence(bool(eq.get("passed")), tuple(eq.get("reasons") or ()),
                                      dict(eq.get("figures") or {}))  # fmt: skip
        else:  # schema 1: flat figures
            figures = {k: v for k, v in eq.items() if isinstance(v, int | float)
                       and not isinstance(v, bool)}  # fmt: skip
            equivalence = Equivalence(bool(eq.get("passed")), tuple(eq.get("reasons") or ()), figures)
    verdict = d.get("verdict") or {}
    imported = d.get("imported")
    return Manifest(
        base=BaseIdentity(**_known(BaseIdentity, d["base"])),
        id=str(d.get("id") or ""),
        parent=d.get("parent"),
        created_at=str(d.get("created_at") or ""),
        dataset=DatasetRef(**_known(DatasetRef, d.get("dataset") or {})),
        config=dict(d.get("config") or {}),
        training=Training(**_known(Training, d.get("training") or {})),
        metrics={str(k): Metrics(**_known(Metrics, v)) for k, v in (d.get("metrics") or {}).items()
                 if isinstance(v, dict)},  # fmt: skip
        equivalence=equivalence,
        verdict=Verdict(bool(verdict.get("promote")), tuple(verdict.get("reasons") or ())),
        formats={str(k): str(v) for k, v in (d.get("formats") or {}).items()},
        files=files,
        imported=Imported(**_known(Imported, imported)) if isinstance(imported, dict) else None,
        objectives={str(k): dict(v) for k, v in (d.get("objectives") or {}).items()
                    if isinstance(v, dict)},  # fmt: skip
        plan={str(k): str(v) for k, v in (d.get("plan") or {}).items()
              if isinstance(v, str)},  # fmt: skip
        probes=_probes(d.get("probes")),
        audit=_section(Audit, d.get("audit"), tuples=("reasons",)),
        compact=_section(Compact, d.get("compact")),
        schema=int(d.get("schema", 1)),
    )


def _section(cls: type, data: Any, tuples: tuple[str, ...] = ()) -> Any:
    if not isinstance(data, dict):
        return None
    known = _known(cls, data)
    for name in tuples:
        known[name] = tuple(known.get(name) or ())
    return cls(**known)


def _probes(data: Any) -> Probes | None:
    if not isinstance(data, dict):
        return None
    dists = tuple(
        ProbeDist(str(p["tokens"]), tuple(int(i) for i in p["ids"]),
                  tuple(float(x) for x in p["adapted"]), tuple(float(x) for x in p["base"]))
        for p in data.get("dists") or ()
    )  # fmt: skip
    return Probes(int(data["version"]), str(data["engine"]), str(data["base_fingerprint"]), dists)


def _public_config(config: dict[str, Any]) -> dict[str, Any]:
    """The training configuration is numbers and module names; anything else stays home."""
    ok = (int, float, bool, type(None))
    out = {}
    for k, v in config.items():
        if isinstance(v, ok) or (isinstance(v, list | tuple) and all(
                isinstance(x, str) and x.replace("_", "").replace(".", "").isalnum()
                and len(x) <= 40 for x in v)):  # fmt: skip
            out[k] = list(v) if isinstance(v, list | tuple) else v
    return out


def _plain(value: Any) -> Any:
    """JSON-ready: tuples as lists, non-finite floats as None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        return _plain(value.item())
    return value
