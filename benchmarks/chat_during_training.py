"""Does the chat stay responsive while the adapter trains? Decode speed, same run:
alone, then while a real training worker (nice 10, OpenBLAS) trains on SmolLM2.

    PERSONAL_HOME=<a home with a dataset> .venv/bin/python benchmarks/chat_during_training.py
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.scale_down import newest_dataset  # noqa: E402
from benchmarks.swap_latency import decode_rate  # noqa: E402
from personal.engine.llama import LlamaEngine  # noqa: E402
from personal.errors import TrainingStopped  # noqa: E402
from personal.learn.config import TrainConfig  # noqa: E402
from personal.learn.train.worker import TrainJob, run_training  # noqa: E402
from personal.models import catalog  # noqa: E402


def rates(engine: LlamaEngine, rounds: int) -> list[float]:
    return [decode_rate(engine, 96) for _ in range(rounds)]


def main() -> None:
    base = catalog.resolve(None)
    engine = LlamaEngine(base, n_ctx=1024)
    decode_rate(engine, 32)  # warm-up
    alone = rates(engine, 5)
    work = Path(tempfile.mkdtemp(prefix="busy-"))
    job = TrainJob(base.path, base.fingerprint, base.name, newest_dataset(), work / "run",
                   work / "mlx", replace(TrainConfig(), iters=1000, save_every=1000))  # fmt: skip
    stop, started = threading.Event(), threading.Event()

    def train() -> None:
        with contextlib.suppress(TrainingStopped):  # we stop it once measured
            run_training(job, lambda e: started.set() if e.get("event") == "step" else None,
                         stop=stop)  # fmt: skip

    trainer = threading.Thread(target=train, daemon=True)
    trainer.start()
    started.wait(600)  # measure once training is really under way
    busy = rates(engine, 5)
    stop.set()
    trainer.join(60)
    engine.close()
    a, b = statistics.median(alone), statistics.median(busy)
    print(f"model              {base.name}, chat threads {engine.info.extra['n_threads']}")
    print(f"decode alone       {a:6.1f} tok/s  ({', '.join(f'{x:.1f}' for x in alone)})")
    print(f"decode while train {b:6.1f} tok/s  ({', '.join(f'{x:.1f}' for x in busy)})")
    print(f"ratio              {b / a:.2f}  (the trainer runs at nice 10)")


if __name__ == "__main__":
    main()
