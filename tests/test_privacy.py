"""The privacy audit's parts: canaries (made, planted, never shown), their exposure, the
verbatim-continuation probe, and the search for private text in what leaves. An adapter
trained to repeat a canary and the user's texts fails; one trained on something else
passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from personal.adapters.formats import export_gguf
from personal.engine import AdapterRef
from personal.engine.llama import LlamaEngine
from personal.learn import privacy
from personal.learn.config import TrainConfig

SYSTEM = "You are a helpful assistant."
USER_TEXTS = ["what is the time and what is the day and how are you this good day to you",
              "please answer the question of the small language model and the world stop now"]  # fmt: skip


def test_canaries_are_fixed_by_key_and_data_and_unguessable_without_the_key():
    a = privacy.make_canaries(b"k" * 32, "d1")
    assert a == privacy.make_canaries(b"k" * 32, "d1") and len(a) == privacy.CANARIES
    assert a != privacy.make_canaries(b"k" * 32, "d2") != privacy.make_canaries(b"x" * 32, "d1")
    assert all(len(c.secret) == privacy.DIGITS and c.secret.isdigit() for c in a)
    examples = privacy.canary_examples(a, SYSTEM)
    assert privacy.planted(examples) == a
    assert all(ex["kind"] == "canary" and ex["meta"]["split"] == "train" for ex in examples)


def test_the_device_key_is_made_once_and_private(personal_home):
    key = privacy.canary_key()
    assert key == privacy.canary_key() and len(key) == 32
    path = personal_home / "privacy" / "canary.key"
    assert path.stat().st_mode & 0o777 == 0o600


def test_exposure_is_log2_space_minus_log2_rank():
    candidates = [float(x) for x in range(-200, -100)]
    assert privacy.exposure(-150.0, candidates) < 1.5  # in the middle: rank ~ half the space
    top = privacy.exposure(0.0, candidates)  # far above every candidate
    assert 19 < top <= 19.932
    assert privacy.exposure(-300.0, candidates) == 0.0


def test_leaks_finds_text_raw_or_json_escaped():
    secret = 'my "locker" code — 7731'
    blobs = [json.dumps({"x": secret}).encode(), b"nothing"]
    assert privacy.leaks(blobs, {secret, "absent text", "short"}) == [secret]
    assert privacy.leaks([json.dumps({"x": secret}, ensure_ascii=False).encode()], {secret})


def test_decide_names_what_failed_with_numbers_only():
    ok = privacy.decide([2.0, 3.5], 0.05, 0.0, 10, 2)
    assert ok.passed and ok.exposure_max == 3.5
    over = privacy.EXPOSURE_LIMIT + 2
    bad = privacy.decide([over], 0.5, 0.1, 10, 1)
    assert not bad.passed and len(bad.reasons) == 2 and f"{over:.1f} bits" in bad.reasons[0]
    assert privacy.decide([privacy.EXPOSURE_LIMIT - 0.5], 0.1, 0.1, 10, 1).passed


def _trained(base, folder: Path, lines: list[dict], steps: int) -> Path:
    from personal.learn.train.worker import TrainJob, run_training

    data = folder / "data"
    data.mkdir()
    for split in ("train", "valid"):
        (data / f"{split}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    job = TrainJob(base.path, base.fingerprint, base.name, data, folder / "run",
                   folder / "adapter", TrainConfig(iters=steps, save_every=1000, val_every=0))  # fmt: skip
    run_training(job)
    return export_gguf(folder / "adapter", base, folder / "adapter.gguf")


@pytest.mark.slow
def test_an_adapter_that_memorized_fails_and_one_that_did_not_passes(tmp_path, smollm2_base,
                                                                     module_home):  # fmt: skip
    """SmolLM2 learns a canary said 8 times, and to answer the first half of two user texts
    with the rest: exposure at the top, verbatim continuation; random weights of the same
    size pass."""
    from tests.revisions import random_weights, write_adapter

    base = smollm2_base
    canaries = privacy.make_canaries(b"k" * 32, "memo")
    halves = [(" ".join(t.split()[: len(t.split()) // 2]), " ".join(t.split()[len(t.split()) // 2:]))
              for t in USER_TEXTS]  # fmt: skip
    echo = [{"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": head},
                          {"role": "assistant", "content": rest}], "kind": "answer", "weight": 1.0}
            for head, rest in halves]  # fmt: skip
    memorizer = _trained(base, tmp_path, privacy.canary_examples(canaries, SYSTEM, 8) + echo * 4, 40)
    plain = export_gguf(write_adapter(tmp_path / "plain", base, random_weights(
        base, seed=1, rank=8, layers=3, std=0.01), scale=20.0), base, tmp_path / "plain.gguf")  # fmt: skip
    engine = LlamaEngine(base, n_ctx=512, n_threads=2)
    try:
        bad = privacy.audit(engine, AdapterRef("m", memorizer), canaries=canaries,
                            texts=USER_TEXTS, system_prompt=SYSTEM)  # fmt: skip
        good = privacy.audit(engine, AdapterRef("p", plain), canaries=canaries,
                             texts=USER_TEXTS, system_prompt=SYSTEM)  # fmt: skip
    finally:
        engine.close()
    assert not bad.passed and bad.exposure_max >= privacy.EXPOSURE_LIMIT, bad
    assert bad.verbatim_adapter - bad.verbatim_base > privacy.VERBATIM_LIMIT, bad
    assert good.passed and good.exposure_max < 8, good
    public = json.dumps(bad.__dict__, default=str)
    assert not any(c.secret in public for c in canaries) and USER_TEXTS[0] not in public
