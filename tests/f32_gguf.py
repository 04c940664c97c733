"""Re-export a quantized GGUF with its weights dequantized to F32 (test helper).

llama.cpp multiplies quantized weights with 8-bit-quantized activations; on an F32 file it
computes in float32 throughout. Comparing the two *in the same run* measures the
quantization gap of this machine's CPU path (AVX2 and AVX-512 kernels round differently),
which is the reference the engine-agreement tests bound against.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
from gguf.quants import dequantize


def write_f32_gguf(src: Path, out: Path) -> Path:
    reader = gguf.GGUFReader(str(src))
    arch = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(str(out), arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in ("general.architecture", "general.file_type"):
            continue
        vtype = field.types[0]
        sub = field.types[1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), vtype, sub)
    writer.add_file_type(0)  # all F32
    for t in reader.tensors:
        values = dequantize(t.data, t.tensor_type).astype(np.float32)
        shape = tuple(int(d) for d in reversed(t.shape))  # numpy order
        writer.add_tensor(t.name, values.reshape(shape))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return Path(out)
