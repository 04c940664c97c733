"""The training configuration: one dataclass, every field documented, validated up front.

Defaults are the calibration in FACTS.md (rank 8, scale 20, all seven projections, lr 2e-4,
batch 4; fifty steps over ~90 short conversations is ~1.5 epochs, where validation loss
stopped falling) on the last 3 blocks: the smallest layout that learned the persona's
preference and tool habit as well as 16 blocks did, while meeting the hot-swap targets
(docs/benchmarks.md, "Which layout").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from personal.errors import TrainingError

# mlx-lm module paths inside a transformer block, in the order exports list them.
ALL_TARGETS = (
    "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
)  # fmt: skip


def documented(default: Any, text: str) -> Any:
    """A dataclass field with help text (shown by the CLI and the docs)."""
    return field(default=default, metadata={"help": text})


@dataclass(frozen=True)
class TrainConfig:
    rank: int = field(default=8, metadata={"help": "LoRA rank r of every adapted projection."})
    scale: float = field(
        default=20.0,
        metadata={"help": "LoRA multiplier: y = xWᵀ + scale·(x@A)@B (PEFT alpha = scale × rank)."},
    )
    dropout: float = field(default=0.0, metadata={"help": "Dropout on the LoRA input, 0 to 1."})
    layers: int = field(
        default=3,
        metadata={"help": "Adapt the last N transformer blocks (more than the model has: all)."},
    )
    targets: tuple[str, ...] = field(
        default=ALL_TARGETS,
        metadata={"help": "Projections to adapt, as mlx-lm module paths inside a block."},
    )
    learning_rate: float = field(default=2e-4, metadata={"help": "Adam learning rate."})
    iters: int = field(default=50, metadata={"help": "Optimizer steps to train for."})
    batch_size: int = field(default=4, metadata={"help": "Examples per optimizer step."})
    grad_accumulation: int = field(
        default=1,
        metadata={"help": "Split each batch into this many micro-batches (same result, "
                  "less memory: Gemma's 262k-vocab logits dominate memory)."},
    )  # fmt: skip
    max_seq_len: int = field(
        default=512,
        metadata={"help": "Longest example in tokens; longer prompts are cut from the left."},
    )
    seed: int = field(
        default=0,
        metadata={"help": "Seeds LoRA init, data order and dropout: same seed, same run."},
    )
    save_every: int = field(
        default=10, metadata={"help": "Checkpoint every N steps (a killed run resumes there)."}
    )
    val_every: int = field(
        default=10, metadata={"help": "Validation loss every N steps (0: only at the end)."}
    )
    val_batches: int = field(
        default=8, metadata={"help": "Validation batches per evaluation (0: the whole set)."}
    )
    orpo_weight: float = field(
        default=0.1,
        metadata={"help": "Weight of ORPO's odds-ratio term on corrections (an edited answer "
                  "over its original, a kept answer over the one regenerated away or rated "
                  "down); 0: plain fine-tuning on the chosen answers only."},
    )  # fmt: skip

    anchor_weight: float = field(
        default=0.0,
        metadata={"help": "On answer tokens the bare base would itself have chosen, the loss "
                  "is this times the KL from the base's distribution to the adapter's "
                  "instead of cross-entropy: what the base would say anyway is kept, not "
                  "sharpened; 0 (the default: no retention gain measured, ~+30% train "
                  "time, docs/benchmarks.md): cross-entropy on every token."},
    )  # fmt: skip
    anchor_top_k: int = field(
        default=32, metadata={"help": "Base tokens kept per position for that KL (the rest "
                              "of the vocabulary counts as one)."},
    )  # fmt: skip

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(self.targets))
        problems = self.problems()
        if problems:
            raise TrainingError(
                "bad training configuration: " + "; ".join(problems),
                hint="fix these values (see `TrainConfig` help for what each one means)",
            )

    def problems(self) -> list[str]:
        """Every invalid value, so one error names them all."""
        out = []
        for name in ("rank", "layers", "iters", "batch_size", "grad_accumulation",
                     "max_seq_len", "save_every", "anchor_top_k"):  # fmt: skip
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                out.append(f"{name} must be a positive integer, got {value!r}")
        for name in ("val_every", "val_batches", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                out.append(f"{name} must be an integer >= 0, got {value!r}")
        if not _number(self.scale) or self.scale <= 0:
            out.append(f"scale must be a positive number, got {self.scale!r}")
        if not _number(self.learning_rate) or not 0 < self.learning_rate < 1:
            out.append(f"learning_rate must be in (0, 1), got {self.learning_rate!r}")
        if not _number(self.dropout) or not 0 <= self.dropout < 1:
            out.append(f"dropout must be in [0, 1), got {self.dropout!r}")
        if not _number(self.orpo_weight) or not 0 <= self.orpo_weight <= 10:
            out.append(f"orpo_weight must be in [0, 10], got {self.orpo_weight!r}")
        if not _number(self.anchor_weight) or not 0 <= self.anchor_weight <= 10:
            out.append(f"anchor_weight must be in [0, 10], got {self.anchor_weight!r}")
        unknown = [t for t in self.targets if t not in ALL_TARGETS]
        if unknown or not self.targets or len(set(self.targets)) != len(self.targets):
            out.append(f"targets must be distinct names from {list(ALL_TARGETS)}, "
                       f"got {list(self.targets)!r}")  # fmt: skip
        if (isinstance(self.batch_size, int) and isinstance(self.grad_accumulation, int)
                and self.grad_accumulation > 0 and self.batch_size % self.grad_accumulation):  # fmt: skip
            out.append(f"batch_size {self.batch_size} is not divisible by "
                       f"grad_accumulation {self.grad_accumulation}")  # fmt: skip
        if isinstance(self.max_seq_len, int) and 0 < self.max_seq_len < 8:
            out.append(f"max_seq_len must be at least 8, got {self.max_seq_len}")
        return out

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["targets"] = list(self.targets)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TrainingError(
                f"unknown training setting(s): {', '.join(unknown)}",
                hint=f"known settings: {', '.join(sorted(known))}",
            )
        return cls(**data)

    def lora_parameters(self) -> dict[str, Any]:
        """mlx-lm's `lora_parameters` block of adapter_config.json."""
        return {"rank": self.rank, "scale": float(self.scale), "dropout": float(self.dropout),
                "keys": list(self.targets)}  # fmt: skip


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
