"""Checks on an adapter file before anything parses its tensors.

Imported adapters come from elsewhere: a PyTorch pickle (`.bin`, `.pt`) can run code when
loaded, so it is refused with a way to convert it; a safetensors file is validated
(header, dtypes, every tensor's byte range inside the file) so a truncated download gets
a clear error rather than a loader's crash. `check_safetensors` returns the header's
tensors (dtype and shape), so names, shapes and sizes are checked before any tensor is
loaded.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from personal.errors import AdapterFormatError

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
               "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}  # fmt: skip
MAX_HEADER = 100 << 20
CONVERT_HINT = (
    'convert it to safetensors in an environment you trust: python -c "import torch; '
    "from safetensors.torch import save_file; save_file(torch.load('adapter_model.bin', "
    "weights_only=True), 'adapter_model.safetensors')\", or export the adapter as safetensors "
    "(PEFT: save_pretrained(..., safe_serialization=True))"
)


def refuse_pickle(path: Path) -> None:
    """Raise AdapterFormatError if `path` is a pickle (or zip-pickle) rather than safetensors."""
    with path.open("rb") as f:
        magic = f.read(4)
    zipped = magic.startswith(b"PK\x03\x04")  # torch.save's default: a zip of pickles
    pickled = len(magic) >= 2 and magic[0] == 0x80 and 2 <= magic[1] <= 5
    if zipped or pickled or path.suffix.lower() in PICKLE_SUFFIXES:
        raise AdapterFormatError(
            f"{path.name} is not safetensors but a PyTorch pickle; loading a pickle can run "
            "arbitrary code, so it is refused",
            hint=CONVERT_HINT,
        )
    if magic == b"GGUF":
        raise AdapterFormatError(
            f"{path.name} is a GGUF file; adapters are imported from MLX or PEFT safetensors",
            hint="import the adapter's adapters.safetensors or adapter_model.safetensors",
        )


def check_safetensors(path: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """{tensor name: (dtype, shape)} of a complete, well-formed safetensors file; raises
    AdapterFormatError for anything else."""
    size = path.stat().st_size

    def bad(why: str) -> AdapterFormatError:
        return AdapterFormatError(
            f"{path.name} is not a valid safetensors file: {why}",
            hint="the file is truncated or corrupt; copy or download it again",
        )

    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise bad(f"only {size} bytes long")
        n = int.from_bytes(head, "little")
        if n > min(size - 8, MAX_HEADER):
            raise bad(f"its header claims {n} bytes but the file has {size - 8} after it")
        try:
            header = json.loads(f.read(n))
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            raise bad(f"its header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise bad("its header is not a JSON object")
    data = size - 8 - n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (start, end) = info["dtype"], info["shape"], info["data_offsets"]
            if not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0
                       for x in [*shape, start, end]):  # fmt: skip
                raise ValueError
            expected = math.prod(shape) * DTYPE_BYTES[dtype]
        except (KeyError, TypeError, ValueError):
            raise bad(f"tensor {name!r} has a malformed entry {str(info)[:200]}") from None
        if end - start != expected:
            raise bad(f"tensor {name!r} spans {end - start} bytes, its shape needs {expected}")
        if end > data:
            raise bad(f"tensor {name!r} ends at byte {end} of data, the file holds {data} "
                      "(truncated)")  # fmt: skip
        tensors[str(name)] = (str(dtype), tuple(shape))
    return tensors
