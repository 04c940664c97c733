"""Bytes on the wire per nightly update ÷ the full adapter file, lossless and compact.

    python benchmarks/sync_delta.py [--model smollm2-135m] [--json out.json]

Two real consecutive revisions: a fresh PERSONAL_HOME imports a persona's log
(tests/persona.py: 60 conversations) and trains once (the whole loop: `train_once`); more
conversations arrive (30 more) and it trains again, warm-starting from the first revision,
as the nightly run does. Then, for the second revision's weights file against the first's:

- what `personal sync push` would send: the request body and the chunks (lossless delta);
- codec variants side by side: plain zstd of the file; XOR + zstd without byte planes;
  XOR + byte planes + zstd at several levels; integer difference instead of XOR;
- compact forms (8 and 4 bits per value), with the held-out loss of the reconstruction
  against the exact revision's (learn/compact.py, the trainer's loss on the dataset's
  held-out split);
- the privacy audit of both revisions (exposure of the planted canaries, verbatim rate).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _import(path: Path) -> None:
    from personal.log import Log
    from personal.log.transfer import import_file
    from personal.prefs import scan

    with Log() as log:
        import_file(log, path)
        scan(log)


def train_twice(model: str | None, root: Path) -> tuple:
    from personal.adapters.registry import Registry
    from personal.learn.pipeline import train_once
    from personal.models import catalog
    from tests.persona import write_export

    os.environ["PERSONAL_HOME"] = str(root)
    base = catalog.resolve(model)
    registry, seconds = Registry(), []
    _import(write_export(root / "first.jsonl", 60, seed=0))
    t = time.perf_counter()
    first = train_once(model=model)
    seconds.append(time.perf_counter() - t)
    if not first.promoted:  # the nightly update builds on the current revision
        registry.set_current(base.fingerprint, first.revision, "benchmark")
    _import(write_export(root / "second.jsonl", 30, seed=1))
    t = time.perf_counter()
    second = train_once(model=model)
    seconds.append(time.perf_counter() - t)
    return base, first, second, seconds


def codecs(new: bytes, old: bytes) -> dict[str, int]:
    import numpy as np
    import zstandard

    from personal.sync import delta

    def z(data: bytes, level: int = delta.LEVEL) -> int:
        return len(zstandard.ZstdCompressor(level=level).compress(data))

    _, tensors = delta.tensors(new)
    ref = {t.name: t for t in delta.tensors(old)[1]}
    xor, sub = bytearray(new[: tensors[0].start]), bytearray(new[: tensors[0].start])
    for t in tensors:
        a = np.frombuffer(new[t.start : t.end], np.uint32)
        b = np.frombuffer(old[ref[t.name].start : ref[t.name].end], np.uint32)
        xor += (a ^ b).tobytes()
        sub += (a - b).tobytes()
    planes = lambda data: delta.shuffle(bytes(data), 4)  # noqa: E731 - one-line helper
    head = tensors[0].start
    return {
        "file": len(new), "zstd(file)": z(new),
        "zstd(xor)": z(bytes(xor)), "zstd(planes(file))": z(planes(new[head:])),
        **{f"zstd-{lv}(planes(xor))": z(planes(xor[head:]), lv) for lv in (3, 12, 19)},
        "zstd(planes(int difference))": z(planes(sub[head:])),
        "pdelta/1 (what is sent)": len(delta.encode(new, old)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from personal.learn.compact import heldout_losses
    from personal.sync import delta

    with tempfile.TemporaryDirectory(prefix="sync-delta-") as tmp:
        base, first, second, seconds = train_twice(args.model, Path(tmp))
        a, b = first.revision, second.revision
        print(f"revisions: {a.short} then {b.short} (parent {(b.parent or 'none')[:12]}), "
              f"trained in {seconds[0]:.0f} s and {seconds[1]:.0f} s")  # fmt: skip
        new = (b.path / "mlx/adapters.safetensors").read_bytes()
        old = (a.path / "mlx/adapters.safetensors").read_bytes()
        sizes = codecs(new, old)
        print(f"\nweights file of the nightly update: {len(new)} bytes")
        for name, n in sizes.items():
            print(f"  {name:<32} {n:>9} bytes  {n / len(new):6.3f} of the file")
        config = (b.path / "mlx/adapter_config.json").read_bytes()
        compact = {}
        for bits in (8, 4):
            container, target = delta.encode_compact(new, old, bits)
            exact, approx = heldout_losses(base, new, target, config, Path(b.manifest.dataset.path))
            compact[bits] = {"bytes": len(container), "ratio": len(container) / len(new),
                             "loss_exact": exact, "loss_compact": approx,
                             "loss_change": approx / exact - 1}  # fmt: skip
            print(f"  compact {bits}-bit                   {len(container):>9} bytes  "
                  f"{len(container) / len(new):6.3f} of the file; held-out loss {approx:.4f} "
                  f"vs {exact:.4f} exact ({100 * (approx / exact - 1):+.2f}%)")  # fmt: skip
        body = len(json.dumps(b.manifest.public()).encode())
        print(f"  + the request body (public manifest, file list): ~{body} bytes")
        audits = {}
        for rev in (a, b):
            au = rev.manifest.audit
            audits[rev.short] = None if au is None else au.__dict__
            if au is not None:
                print(f"audit {rev.short}: {'passed' if au.passed else 'FAILED'}; canary exposure "
                      f"max {au.exposure_max} bits (limit {au.exposure_limit}); verbatim "
                      f"{au.verbatim_adapter} vs base {au.verbatim_base} on {au.verbatim_texts} texts")  # fmt: skip
        if args.json:
            args.json.write_text(json.dumps({"sizes": sizes, "compact": compact, "body": body,
                                             "audits": audits, "train_s": seconds}, indent=1,
                                            default=str))  # fmt: skip


if __name__ == "__main__":
    main()
