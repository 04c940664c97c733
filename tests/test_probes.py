"""Public probes: the device records next-token distributions with its engine and adapter;
a host running another precision of the same base with the same adapter agrees within the
bounds, and a different, mis-exported or ignored adapter does not."""

from __future__ import annotations

import json

import numpy as np
import pytest

from personal.adapters import probes
from personal.adapters.formats import export_all, export_gguf
from personal.adapters.manifest import Audit, BaseIdentity, Compact, Manifest
from personal.adapters.registry import Registry
from personal.engine import AdapterRef
from personal.engine.fake import FakeEngine
from personal.engine.llama import LlamaEngine
from personal.models import catalog
from personal.models.precise import write_precise
from tests.q8_gguf import write_q8_gguf
from tests.revisions import import_revision, random_weights, write_adapter
from tests.tinymodel import write_tiny_llama_gguf


@pytest.fixture(scope="module")
def bases(module_dir):
    d = module_dir
    f32 = write_tiny_llama_gguf(d / "tiny.gguf", n_layer=2)
    device = catalog.resolve(str(write_q8_gguf(f32, d / "tiny.Q8_0.gguf")))
    write_precise(device, d / "host.F32.gguf")
    return device, catalog.resolve(str(d / "host.F32.gguf")), d


@pytest.fixture(scope="module")
def engines(bases):
    device, host, _ = bases
    pair = LlamaEngine(device, n_ctx=512, n_threads=2), LlamaEngine(host, n_ctx=512, n_threads=2)
    yield pair
    for e in pair:
        e.close()


def gguf(bases, seed, *, std=0.5, permute=True, name=None):
    device, _, d = bases
    mlx = write_adapter(d / f"mlx-{seed}", device, random_weights(device, seed=seed, std=std))
    out = d / (name or f"a{seed}-{permute}.gguf")
    export_gguf(mlx, device, out, permute_qk=permute)
    return AdapterRef(f"a{seed}", out)


def host_check(engines, recorded, ref):
    _, host = engines
    return probes.compare(recorded, probes.run(host, ref), probes.run(host, None))


def test_the_same_adapter_on_the_host_agrees_and_another_does_not(bases, engines):
    device, _ = engines
    ref = gguf(bases, 1)
    recorded = probes.measure(device, ref)
    assert len(recorded.dists) == len(probes.PROBES) and recorded.engine == "llama.cpp"
    ok = host_check(engines, recorded, ref)
    assert ok.passed, ok.reasons
    assert ok.figures["effect_verified"] and 0.5 <= ok.figures["effect_ratio"] <= 2
    other = host_check(engines, recorded, gguf(bases, 2))
    assert not other.passed and other.reasons
    ignored = host_check(engines, recorded, None)  # the host forgot the adapter
    assert not ignored.passed


def test_a_mis_permuted_export_is_caught(bases, engines):
    device, _ = engines
    recorded = probes.measure(device, gguf(bases, 3))
    wrong = host_check(engines, recorded, gguf(bases, 3, permute=False))
    assert not wrong.passed


def test_missing_or_foreign_probes_are_refused(bases, engines):
    device, _ = engines
    assert not probes.compare(None, *[probes.run(engines[1], None)] * 2).passed
    recorded = probes.measure(device, gguf(bases, 1))
    mangled = recorded.__class__(recorded.version, recorded.engine, recorded.base_fingerprint,
                                 tuple(d.__class__("0" * 16, d.ids, d.adapted, d.base)
                                       for d in recorded.dists))  # fmt: skip
    check = host_check(engines, mangled, gguf(bases, 1))
    assert not check.passed and "tokenizes differently" in check.reasons[0]


def test_probes_audit_and_compact_travel_in_the_public_manifest(tmp_path):
    engine = FakeEngine()
    recorded = probes.measure(engine, AdapterRef("x", tmp_path))
    m = Manifest(base=BaseIdentity("b", "llama", "f" * 64), probes=recorded,
                 audit=Audit(True, canaries=2, exposure_max=3.5, reasons=("fine",)),
                 compact=Compact("a" * 64, "b" * 64, 8, 1.0, 1.005))  # fmt: skip
    again = Manifest.from_dict(json.loads(m.to_json()))
    assert again == m
    public = Manifest.from_dict(m.public())
    assert public.probes == recorded and public.audit == m.audit and public.compact == m.compact


def test_a_host_export_stamped_with_the_devices_identity_is_byte_identical(bases, tmp_path):
    device, host, d = bases
    mlx = write_adapter(d / "mlx-stamp", device, random_weights(device, seed=9))
    reg = Registry(tmp_path / "reg")
    rev = import_revision(reg, device, random_weights(device, seed=9), tmp_path)
    export_all(mlx, host, tmp_path / "host-side", stamp=rev.manifest.base)
    for rel in ("adapter.gguf", "peft/adapter_model.safetensors", "peft/adapter_config.json"):
        assert (tmp_path / "host-side" / rel).read_bytes() == (rev.path / rel).read_bytes(), rel
    unstamped = export_all(mlx, host, tmp_path / "plain")
    assert (tmp_path / "plain" / unstamped["gguf"]).read_bytes() != (rev.path / "adapter.gguf"
                                                                     ).read_bytes()  # fmt: skip


def test_annotating_a_revision_changes_only_its_measurements(bases, tmp_path):
    device, _, _ = bases
    reg = Registry(tmp_path / "reg")
    rev = import_revision(reg, device, random_weights(device, seed=4), tmp_path)
    engine = FakeEngine()
    noted = reg.annotate(rev, probes=probes.measure(engine, AdapterRef(rev.id, rev.path)))
    assert reg.get(rev.id).manifest.probes == noted.manifest.probes is not None
    assert reg.verify(noted) == [] and noted.manifest.id == rev.id
    with pytest.raises(Exception, match="cannot change"):
        reg.annotate(rev, parent="0" * 64)
    assert np.isfinite(noted.manifest.probes.dists[0].adapted).all()
