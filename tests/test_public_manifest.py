"""What may leave the device: the public projection of a revision's manifest.

A revision is trained for real (the whole loop, on a tiny model the test writes) from a
persona's log; then no string of that log — no message, no preference, no id, no local
path — may appear in the public manifest or in any file it names.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from personal.adapters.manifest import (
    PUBLIC_FILES,
    BaseIdentity,
    DatasetRef,
    Equivalence,
    Imported,
    Manifest,
    Metrics,
    Verdict,
)
from tests.persona import PREFERENCE, SIGNOFF, write_export
from tests.tinymodel import write_tiny_llama_gguf

SECRET = "my locker code is 7731-secret"


def private_strings(log, home: Path, dataset_path: str) -> set[str]:
    """Everything of the person's that must stay home (≥ 6 bytes, so that a random match
    inside binary weights is not a worry: ~1e-8 per MB)."""
    from personal.prefs import Preferences

    found = {SIGNOFF, PREFERENCE, SECRET, str(home), dataset_path}
    for conv in log.conversations():
        found.add(conv.id)
        for m in log.messages(conv.id):
            found |= {m.id, m.content or ""}
            found |= {c["id"] for c in m.tool_calls or []}
    for pref in Preferences(log).list():
        found |= {pref.text, pref.id}
    return {s for s in found if len(s.encode()) >= 6}


def leaks(blob: bytes, secrets: set[str]) -> list[str]:
    return sorted(s for s in secrets if s.encode() in blob)


def test_the_public_projection_drops_every_private_field():
    m = Manifest(
        base=BaseIdentity("smollm2-135m", "llama", "f" * 64, source="HuggingFaceTB/x"),
        id="a" * 64,
        dataset=DatasetRef(hash="d" * 64, path="/home/sam/.local/share/personal/datasets/x",
                           counts={"answer": {"train": 3}}, messages=5),
        config={"rank": 8, "targets": ["self_attn.q_proj"], "note": SECRET},
        metrics={"candidate": Metrics(ce=0.5, adherence={f"End with '{SECRET}'.": 0.9,
                                                         "Call the user Sam.": 0.5})},
        equivalence=Equivalence(True, ("fine",), {"kl_median": 0.001}),
        verdict=Verdict(True, (f"adherence 'End with {SECRET}': 0% → 90%",)),
        imported=Imported("e" * 64, source="/home/sam/Downloads/adapter"),
    )  # fmt: skip
    public = json.dumps(m.public())
    assert leaks(public.encode(), {SECRET, "/home/sam", "Call the user Sam"}) == []
    out = m.public()
    assert out["metrics"]["candidate"]["adherence_mean"] == 0.7
    assert out["metrics"]["candidate"]["adherence_min"] == 0.5
    assert out["config"] == {"rank": 8, "targets": ["self_attn.q_proj"]}
    assert out["verdict"] == {"promote": True} and out["dataset"]["hash"] == "d" * 64
    assert out["base"]["source"] == "HuggingFaceTB/x" and out["imported"] == {"sha256": "e" * 64}


def test_a_manifest_round_trips_and_reads_the_old_untyped_form(tmp_path):
    m = Manifest(base=BaseIdentity("tiny", "llama", "f" * 64), metrics={"none": Metrics(ce=1.0)},
                 equivalence=Equivalence(False, ("median KL 0.2 > 0.01",), {"kl_median": 0.2}))  # fmt: skip
    assert Manifest.from_dict(json.loads(m.to_json())) == m
    legacy = {"parent": None, "base": {"name": "tiny", "fingerprint": "f" * 64,
                                       "architecture": "llama"},
              "files": {"adapter.gguf": "0" * 64}, "verdict": {"promote": True, "reasons": []},
              "equivalence": {"passed": True, "kl_median": 0.001, "reason": ""},
              "metrics": {"none": {"ce": 1.5, "adherence": {}}}}  # fmt: skip
    old = Manifest.from_dict(legacy)
    assert old.schema == 1 and old.promoted and old.files["adapter.gguf"].sha256 == "0" * 64
    assert old.equivalence.figures == {"kl_median": 0.001} and old.metrics["none"].ce == 1.5


@pytest.mark.slow
def test_a_revision_trained_on_a_persona_log_leaks_none_of_it(tmp_path, monkeypatch, personal_home):
    from personal.adapters.registry import Registry
    from personal.learn.pipeline import train_once
    from personal.log import Log
    from personal.log.transfer import import_file
    from personal.prefs import Preferences, scan

    model = write_tiny_llama_gguf(tmp_path / "tiny.gguf", n_layer=4)
    monkeypatch.setenv("PERSONAL_MODEL", str(model))
    with Log() as log:
        import_file(log, write_export(tmp_path / "persona.jsonl", 40))
        scan(log)
        for candidate in Preferences(log).candidates():  # imported: confirmed by the person
            Preferences(log).confirm(candidate.id)
        Preferences(log).add(f"Remember that {SECRET}.")
    outcome = train_once()
    rev = outcome.revision
    assert rev is not None and Registry().verify(rev) == []

    with Log() as log:
        secrets = private_strings(log, personal_home, str(outcome.dataset.path))
    assert len(secrets) > 100
    public = rev.manifest.public()
    blob = json.dumps(public, ensure_ascii=False).encode()
    assert leaks(blob, secrets) == []
    assert leaks(json.dumps(public).encode(), secrets) == []  # \u-escaped too
    named = set(public["files"])
    assert named == set(PUBLIC_FILES) & set(rev.manifest.files)
    assert {"mlx/adapters.safetensors", "adapter.gguf", "peft/adapter_model.safetensors"} <= named
    for rel in named:
        assert leaks((rev.path / rel).read_bytes(), secrets) == [], rel
    # ...while the private manifest does keep the person's own provenance
    private = rev.manifest.to_json().encode()
    assert str(outcome.dataset.path).encode() in private
    assert public["base"]["weights"] and public["base"]["shapes"] and public["id"] == rev.id
