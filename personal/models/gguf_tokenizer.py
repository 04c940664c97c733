"""The tokenizer of a converted model, rebuilt from the GGUF's own vocabulary by
transformers' GGUF converters (no torch): `tokenizer.json` and `tokenizer_config.json` that
give llama.cpp's token ids, and the chat record (template, special tokens, the token ids
that end a generation) for `personal_conversion.json`. Used by personal/models/convert.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from personal.errors import UnsupportedArchitecture
from personal.models.header import GGUFHeader

TOKENIZER_ARRAYS = frozenset(
    {"tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type",
     "tokenizer.ggml.scores"}
)  # fmt: skip
# llama.cpp's pre-tokenizers that split every digit, then apply GPT-2's regex.
_DIGIT_SPLIT_PRE = ("smollm", "starcoder", "refact", "command-r", "codeshell")
# Tokens llama.cpp treats as end-of-generation by their text (llama-vocab.cpp).
_EOG_TEXTS = ("<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>",
              "<|endoftext|>", "<|eom_id|>", "<EOT>", "<|end_of_text|>", "<end_of_utterance>")  # fmt: skip


def unsupported(what: str) -> UnsupportedArchitecture:
    return UnsupportedArchitecture(
        f"{what}: the MLX converter cannot handle it",
        hint="use the llama.cpp engine for this model",
    )


def write_tokenizer(header: GGUFHeader, dest: Path) -> dict[str, Any]:
    """Write tokenizer.json/tokenizer_config.json; return the chat record."""
    quiet_transformers()
    from tokenizers import pre_tokenizers, processors
    from transformers.integrations.gguf.gguf_tokenizer_mapping import (
        GGUF_PRE_TOKENIZER_SPLITS,
        convert_gguf_tokenizer,
    )

    m = header.metadata
    tokens: list[str] = m["tokenizer.ggml.tokens"]
    model, pre = m.get("tokenizer.ggml.model"), m.get("tokenizer.ggml.pre", "default")
    known_pre = (*GGUF_PRE_TOKENIZER_SPLITS, *_DIGIT_SPLIT_PRE, "gpt-2", "gpt2")
    if model == "gpt2" and pre not in known_pre:
        raise unsupported(f"the {pre!r} pre-tokenizer (no exact equivalent)")
    spec = {k.split(".")[-1]: v for k, v in m.items() if k in TOKENIZER_ARRAYS}
    spec |= {"tokenizer_type": model, "pre_tokenizer_type": pre}
    try:
        tok, _ = convert_gguf_tokenizer(header.architecture, spec)
    except (ValueError, KeyError) as e:
        raise unsupported(f"the GGUF's tokenizer ({e})") from None
    if pre in _DIGIT_SPLIT_PRE:  # llama.cpp splits every digit first (\p{N}), then GPT-2
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True),
             pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
        )  # fmt: skip
    special = {k: _token(m, tokens, k) for k in ("bos", "eos", "unknown", "padding")}
    add_bos = bool(m.get("tokenizer.ggml.add_bos_token", model == "llama"))
    if add_bos and special["bos"] is not None:  # as llama.cpp: BOS only where the vocab asks
        bos = special["bos"]
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A",
            pair=f"{bos} $A {bos} $B",
            special_tokens=[(bos, m["tokenizer.ggml.bos_token_id"])],
        )
    else:
        tok.post_processor = processors.TemplateProcessing(single="$A", pair="$A $B")
    tok.save(str(dest / "tokenizer.json"))
    template = m.get("tokenizer.chat_template")
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": special["bos"], "eos_token": special["eos"],
        "unk_token": special["unknown"], "pad_token": special["padding"],
        "add_bos_token": add_bos, "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": int(header.arch_get("context_length", 2048)),
    }  # fmt: skip
    if template:
        config["chat_template"] = template
    (dest / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    eos_id = m.get("tokenizer.ggml.eos_token_id")
    eog = {i for i in (eos_id, m.get("tokenizer.ggml.eot_token_id")) if i is not None}
    eog |= {i for i, t in enumerate(tokens) if t in _EOG_TEXTS}
    return {
        "template": template, "bos_token": special["bos"] or "", "eos_token": special["eos"] or "",
        "add_bos_token": add_bos, "eog_token_ids": sorted(eog),
    }  # fmt: skip


def quiet_transformers() -> None:
    # Without torch, importing transformers prints "PyTorch was not found" (an advisory
    # that does not apply: only its tokenizer converters are used).
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


def _token(m: dict[str, Any], tokens: list[str], kind: str) -> str | None:
    i = m.get(f"tokenizer.ggml.{kind}_token_id")
    return tokens[i] if i is not None and 0 <= i < len(tokens) else None
