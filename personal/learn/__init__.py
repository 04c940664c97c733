"""The learning loop: the chat log becomes a personal LoRA adapter, nightly, on device.

    distill (dataset.py, distill.py)  →  train (worker.py runs trainer.py in its own process)
    →  export (export.py: mlx/, adapter.gguf, peft/)  →  equivalence (llama.cpp vs MLX)
    →  gate  →  registry

`examples.py` is the one definition of what is trained and scored: the prompt as the chat
engine renders it, and the answer's text up to and including its end-of-turn marker.
"""
