"""Tiny but valid GGUF models, written in code for engine and converter tests.

    path = write_tiny_llama_gguf(tmp_path / "tiny.gguf")            # ~0.5 MB, ~50 ms
    path = write_tiny_gemma3_gguf(tmp_path / "tiny-gemma.gguf")

Random F32 weights (deterministic per seed), a small vocabulary with real merges and the
chat special tokens, so llama.cpp loads and generates from them and the MLX converter
converts them. The llama file follows real llama GGUFs: Q/K rows are permuted the way
llama.cpp's converter permutes HF weights, and the embeddings are tied.

`always_token="<|im_end|>"` makes the llama model's greedy choice that token at every
step (a constant residual direction read by its output row): a way to test stopping.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gguf import GGUFWriter, TokenType

CHATML = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
LLAMA_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")  # ids 0, 1, 2 as in SmolLM2
# Words the vocabulary can spell whole (with and without a leading space).
WORDS = (
    "the", "and", "you", "user", "assistant", "system", "hello", "world", "what", "is",
    "are", "name", "how", "good", "day", "time", "in", "of", "to", "it", "this", "that",
    "model", "small", "language", "please", "answer", "question", "yes", "no", "stop",
)  # fmt: skip


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte → printable character table (what byte-level BPE vocabularies spell)."""
    keep = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def _chain_merges(words: list[str], vocab: list[str]) -> list[str]:
    """Merges that build each word left to right; every merged token joins the vocabulary."""
    known, merges = set(vocab), []
    for word in words:
        left = word[0]
        for ch in word[1:]:
            merged = left + ch
            if merged not in known:
                merges.append(f"{left} {ch}")
                vocab.append(merged)
                known.add(merged)
            left = merged
    return merges


def byte_level_vocab() -> tuple[list[str], list[str], list[int]]:
    """(tokens, merges, token types) of the tiny byte-level BPE vocabulary."""
    tokens = list(LLAMA_SPECIALS) + list(_bytes_to_unicode().values())
    words = [w for word in WORDS for w in ("Ġ" + word, word)]
    merges = _chain_merges(words, tokens)
    types = [TokenType.CONTROL] * len(LLAMA_SPECIALS) + [TokenType.NORMAL] * (
        len(tokens) - len(LLAMA_SPECIALS)
    )
    return tokens, merges, [int(t) for t in types]


def _permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF → llama.cpp row order for Q/K (convert_hf_to_gguf.py's LlamaModel.permute)."""
    return (
        w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
        .swapaxes(1, 2)
        .reshape(w.shape)
    )


def write_tiny_llama_gguf(
    path: Path,
    *,
    seed: int = 0,
    n_layer: int = 2,
    d: int = 64,
    n_head: int = 4,
    n_kv_head: int = 2,
    d_ff: int = 128,
    n_ctx: int = 2048,
    chat_template: str | None = CHATML,
    always_token: str | None = None,
) -> Path:
    """Write a tiny llama-architecture GGUF (byte-level BPE, `smollm` pre-tokenizer)."""
    rng = np.random.default_rng(seed)
    tokens, merges, types = byte_level_vocab()
    head_dim = d // n_head

    def normal(*shape: int, std: float) -> np.ndarray:
        return (rng.standard_normal(shape) * std).astype(np.float32)

    # Embedding std 0.5 gives peaked next-token distributions, so greedy choices are stable
    # across llama.cpp's and MLX's arithmetic; other weights keep activations at unit scale.
    embed = normal(len(tokens), d, std=0.5)
    # Specials and unprintable bytes get near-zero rows (so near-zero logits from the tied
    # head): sampled text stays readable and <|im_end|> rarely ends a reply by chance.
    printable = {3 + b for b in range(32, 127)}
    embed[[i for i in range(259) if i not in printable]] *= 0.02
    layers = []
    for _ in range(n_layer):
        layers.append({
            "attn_q": normal(n_head * head_dim, d, std=d**-0.5),
            "attn_k": normal(n_kv_head * head_dim, d, std=d**-0.5),
            "attn_v": normal(n_kv_head * head_dim, d, std=d**-0.5),
            "attn_output": normal(d, n_head * head_dim, std=3 * (n_head * head_dim) ** -0.5),
            "ffn_gate": normal(d_ff, d, std=d**-0.5),
            "ffn_up": normal(d_ff, d, std=d**-0.5),
            "ffn_down": normal(d, d_ff, std=3 * d_ff**-0.5),
            "attn_norm": (1 + normal(d, std=0.1)),
            "ffn_norm": (1 + normal(d, std=0.1)),
        })  # fmt: skip
    if always_token is not None:
        _force_token(embed, layers, tokens.index(always_token))

    w = GGUFWriter(str(path), "llama")
    w.add_name("tiny-llama")
    w.add_block_count(n_layer)
    w.add_context_length(n_ctx)
    w.add_embedding_length(d)
    w.add_feed_forward_length(d_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv_head)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(head_dim)
    w.add_vocab_size(len(tokens))
    w.add_file_type(0)  # all F32
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_pad_token_id(2)
    w.add_add_bos_token(False)
    if chat_template:
        w.add_chat_template(chat_template)
    w.add_tensor("token_embd.weight", embed)
    for i, layer in enumerate(layers):
        for name, value in layer.items():
            if name == "attn_q":
                value = _permute(value, n_head)
            elif name == "attn_k":
                value = _permute(value, n_kv_head)
            w.add_tensor(f"blk.{i}.{name}.weight", value)
    w.add_tensor("output_norm.weight", np.ones(d, dtype=np.float32))
    _finish(w)
    return Path(path)


def _force_token(embed: np.ndarray, layers: list[dict[str, np.ndarray]], token: int) -> None:
    """Make `token` the argmax everywhere: dimension 0 carries a constant no layer writes to,
    and only `token`'s (tied) output row reads it strongly."""
    embed[:, 0] = 10.0
    embed[token, 0] = 60.0
    for layer in layers:
        layer["attn_output"][0, :] = 0.0
        layer["ffn_down"][0, :] = 0.0


def _finish(w: GGUFWriter) -> None:
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# --- gemma3 -----------------------------------------------------------------------------
GEMMA_SPECIALS = ("<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>")
GEMMA_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<start_of_turn>' + ('model' if message['role'] == 'assistant' else message['role'])"
    " + '\n' + message['content'] + '<end_of_turn>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)


def sentencepiece_vocab() -> tuple[list[str], list[float], list[int]]:
    """(tokens, scores, token types) of a tiny Gemma-style sentencepiece vocabulary:
    specials, 256 byte-fallback tokens, characters, then whole words (scores fall with
    position, the order Gemma's merges follow)."""
    tokens = list(GEMMA_SPECIALS)
    types = [TokenType.CONTROL] * len(GEMMA_SPECIALS)
    types[GEMMA_SPECIALS.index("<unk>")] = TokenType.UNKNOWN
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [TokenType.BYTE] * 256
    pieces = ["▁", "\n", *"abcdefghijklmnopqrstuvwxyz"]
    words = [w for word in WORDS for w in ("▁" + word, word)]
    _chain_merges(words, pieces)  # adds every prefix of every word to `pieces`
    tokens += pieces
    types += [TokenType.NORMAL] * len(pieces)
    scores = [0.0] * (len(tokens) - len(pieces)) + [-float(i) for i in range(len(pieces))]
    return tokens, scores, [int(t) for t in types]


def write_tiny_gemma3_gguf(
    path: Path, *, seed: int = 0, n_layer: int = 6, d: int = 64, n_head: int = 4,
    n_kv_head: int = 1, head_dim: int = 32, d_ff: int = 128, n_ctx: int = 2048,
    chat_template: str | None = GEMMA_TEMPLATE,
) -> Path:  # fmt: skip
    """Write a tiny gemma3-architecture GGUF (sentencepiece vocabulary, norms stored +1).

    Six layers: mlx-lm's gemma3 indexes the first global-attention layer (every 6th)."""
    rng = np.random.default_rng(seed)
    tokens, scores, types = sentencepiece_vocab()

    def normal(*shape: int, std: float) -> np.ndarray:
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def norm(n: int) -> np.ndarray:  # stored as 1 + w, the way llama.cpp's converter does
        return 1 + normal(n, std=0.1)

    w = GGUFWriter(str(path), "gemma3")
    w.add_name("tiny-gemma3")
    w.add_block_count(n_layer)
    w.add_context_length(n_ctx)
    w.add_embedding_length(d)
    w.add_feed_forward_length(d_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv_head)
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_rope_freq_base(1_000_000.0)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_sliding_window(512)
    w.add_file_type(0)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(GEMMA_SPECIALS.index("<bos>"))
    w.add_eos_token_id(GEMMA_SPECIALS.index("<eos>"))
    w.add_unk_token_id(GEMMA_SPECIALS.index("<unk>"))
    w.add_pad_token_id(GEMMA_SPECIALS.index("<pad>"))
    w.add_add_bos_token(True)
    w.add_add_space_prefix(False)
    if chat_template:
        w.add_chat_template(chat_template)
    # Gemma scales embeddings by sqrt(d): std 0.1 keeps the residual stream near unit scale.
    w.add_tensor("token_embd.weight", normal(len(tokens), d, std=0.1))
    q, kv = n_head * head_dim, n_kv_head * head_dim
    for i in range(n_layer):
        for name, value in {
            "attn_norm": norm(d), "attn_q": normal(q, d, std=d**-0.5),
            "attn_k": normal(kv, d, std=d**-0.5), "attn_v": normal(kv, d, std=d**-0.5),
            "attn_q_norm": norm(head_dim), "attn_k_norm": norm(head_dim),
            "attn_output": normal(d, q, std=q**-0.5), "post_attention_norm": norm(d),
            "ffn_norm": norm(d), "ffn_gate": normal(d_ff, d, std=d**-0.5),
            "ffn_up": normal(d_ff, d, std=d**-0.5), "ffn_down": normal(d, d_ff, std=3 * d_ff**-0.5),
            "post_ffw_norm": norm(d),
        }.items():  # fmt: skip
            w.add_tensor(f"blk.{i}.{name}.weight", value)
    w.add_tensor("output_norm.weight", norm(d))
    _finish(w)
    return Path(path)
