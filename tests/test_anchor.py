"""The base anchor (personal/learn/train/anchor.py) on the tiny model: where the bare base
would have said the target token, the loss is its KL to the adapter — zero while the
adapter is the base — and training keeps the base there while still learning what the
base would not say."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from personal.learn.config import TrainConfig
from personal.learn.examples import Encoded, encode_example
from tests.test_train import FP, QUESTIONS, example
from tests.tinymodel import write_tiny_llama_gguf


@pytest.fixture(scope="module")
def tiny_dir(module_home):
    from personal.models.convert import mlx_dir_for

    return mlx_dir_for(write_tiny_llama_gguf(module_home / "tiny.gguf"), FP)


def _model(tiny_dir, config: TrainConfig):
    import mlx.core as mx
    from mlx_lm.tuner.utils import linear_to_lora_layers

    from personal.learn.train import trainer

    model, fmt, tokenize = trainer._load_base(tiny_dir)
    mx.random.seed(0)
    linear_to_lora_layers(model, config.layers, config.lora_parameters())
    return model, fmt, tokenize


def _greedy(model, ids: list[int], n: int) -> list[int]:
    import mlx.core as mx

    out = list(ids)
    for _ in range(n):
        logits = model(mx.array(out, mx.int32)[None])[0, -1]
        out.append(int(mx.argmax(logits)))
    return out[len(ids) :]


def _examples(model, fmt, tokenize, questions, opening: list[int] | None, n: int = 8):
    """Each question answered by the model's own greedy tokens, after `opening` if given."""
    out = []
    for q in questions:
        e = encode_example(fmt, tokenize, example(q), 256)
        prompt = list(e.ids[: e.n_prompt]) + (opening or [])
        answer = (opening or []) + _greedy(model, prompt, n)
        out.append(Encoded(tuple(prompt[: e.n_prompt] + answer), e.n_prompt, 1.0))
    return out


def _anchored(model, examples, k: int = 8):
    from personal.learn.train import anchor, trainer

    vocab = model.model.embed_tokens.weight.shape[0]
    return anchor.anchor_examples(model, examples, k, lambda p: trainer._target_logits(model, p),
                                  vocab)  # fmt: skip


def test_the_base_own_answer_costs_nothing_while_the_adapter_is_the_base(tiny_dir):
    from personal.learn.train import trainer

    config = TrainConfig(layers=2)
    model, fmt, tokenize = _model(tiny_dir, config)
    plain = _examples(model, fmt, tokenize, QUESTIONS[:3], None)
    anchored = _anchored(model, plain)
    assert all(e.anchor.agree.all() for e in anchored)  # every token is the base's choice
    loss = float(trainer._loss_sum(model, *trainer._pack(anchored, share=False)))
    ce = float(trainer._loss_sum(model, *trainer._pack(plain, share=False)))
    assert abs(loss) < 1e-4 and ce > 0.5, (loss, ce)  # KL 0, where cross-entropy is not


def test_what_the_base_would_not_say_keeps_its_cross_entropy(tiny_dir):
    from personal.learn.train import trainer

    model, fmt, tokenize = _model(tiny_dir, TrainConfig(layers=2))
    base = _examples(model, fmt, tokenize, QUESTIONS[:2], None)
    other = []  # the last token swapped for one the base did not choose
    for e in base:
        last = (e.ids[-1] + 7) % model.model.embed_tokens.weight.shape[0]
        other.append(Encoded(e.ids[:-1] + (last,), e.n_prompt, 1.0))
    anchored = _anchored(model, other)
    for e in anchored:
        assert e.anchor.agree[:-1].all() and not e.anchor.agree[-1]
    loss = float(trainer._loss_sum(model, *trainer._pack(anchored, share=False)))
    swapped = [replace(e, ids=e.ids[:-1], anchor=None) for e in other]
    ce_all = float(trainer._loss_sum(model, *trainer._pack(other, share=False)))
    ce_but_last = float(trainer._loss_sum(model, *trainer._pack(swapped, share=False)))
    assert loss == pytest.approx(ce_all - ce_but_last, rel=1e-4, abs=1e-4)


def test_the_anchor_is_the_bare_base_even_under_a_trained_adapter(tiny_dir):
    import mlx.core as mx
    from mlx.utils import tree_flatten, tree_unflatten

    model, fmt, tokenize = _model(tiny_dir, TrainConfig(layers=2))
    examples = _examples(model, fmt, tokenize, QUESTIONS[:2], None)
    before = _anchored(model, examples)
    rng = np.random.default_rng(0)  # a warm start: LoRA weights far from zero
    params = [(k, mx.array(rng.normal(0, 0.5, v.shape).astype(np.float32)))
              for k, v in tree_flatten(model.trainable_parameters())]  # fmt: skip
    model.update(tree_unflatten(params))
    changed = model(mx.array(examples[0].ids, mx.int32)[None])
    after = _anchored(model, examples)
    for a, b in zip(before, after, strict=True):
        assert (a.anchor.ids == b.anchor.ids).all() and (a.anchor.agree == b.anchor.agree).all()
        np.testing.assert_allclose(a.anchor.logp, b.anchor.logp, atol=1e-5)
    again = model(mx.array(examples[0].ids, mx.int32)[None])  # the LoRA scale is restored
    assert float(mx.abs(again - changed).max()) == 0.0


def _kl_after_opening(model, reference, examples) -> float:
    """Mean KL(reference ‖ model) over the answer tokens after the opening token."""
    import mlx.core as mx

    total, n = 0.0, 0
    for e in examples:
        ids = mx.array(e.ids, mx.int32)[None]
        p = mx.softmax(reference(ids)[0, e.n_prompt + 1 : -1], axis=-1)
        logits = model(ids)[0, e.n_prompt + 1 : -1]
        q = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
        total += float((p * (mx.log(p + 1e-12) - q)).sum())
        n += p.shape[0]
    return total / n


def test_anchored_training_learns_the_opening_and_keeps_the_rest(tiny_dir):
    """The same data — the base's own answers after an opening it would not say — trained
    with and without the anchor: both learn the opening; the anchored adapter stays much
    closer to the base on the tokens after it, on questions it was not trained on."""
    import mlx.core as mx
    import mlx.optimizers as optim

    from personal.learn.train import trainer

    reference, fmt, tokenize = _model(tiny_dir, TrainConfig(layers=2, scale=2.0))
    opening = tokenize(" Howdy", False)[:1]
    train_q, held_q = QUESTIONS[:6], QUESTIONS[6:]
    data = _examples(reference, fmt, tokenize, train_q, opening)
    held = _examples(reference, fmt, tokenize, held_q, opening)

    def opening_lp(model) -> float:
        lp = 0.0
        for e in held:
            logits = model(mx.array(e.ids[: e.n_prompt], mx.int32)[None])[0, -1]
            lp += float(logits[opening[0]] - mx.logsumexp(logits))
        return lp / len(held)

    kl, learned = {}, {}
    for weight in (0.0, 1.0):
        config = TrainConfig(layers=2, learning_rate=1e-3, scale=2.0, batch_size=3,
                             anchor_weight=weight)  # fmt: skip
        model, _, _ = _model(tiny_dir, config)
        batches = _anchored(model, data) if weight else data
        step = trainer._make_step(model, config)
        optimizer = optim.Adam(learning_rate=config.learning_rate)
        for i in range(12):
            step([batches[(3 * i + j) % len(batches)] for j in range(3)], optimizer)
        model.eval()
        kl[weight], learned[weight] = _kl_after_opening(model, reference, held), opening_lp(model)
    base_lp = opening_lp(reference)
    assert learned[1.0] > base_lp + 2 and learned[0.0] > base_lp + 2, (base_lp, learned)
    assert kl[1.0] < 0.5 * kl[0.0], kl


def test_a_run_with_the_anchor_trains_and_resumes_to_the_same_weights(tiny_dir, tmp_path):
    """`train` with `anchor_weight` > 0: the anchors are computed before the first step, and
    a run stopped half-way resumes (anchors computed again, from the bare base) to the
    weights of a run straight through."""
    from personal.learn.train.trainer import Stopped, train
    from tests.test_train import weights, write_dataset

    data = write_dataset(tmp_path / "ds", [example(q) for q in QUESTIONS[:6]])
    config = TrainConfig(layers=2, learning_rate=1e-3, iters=6, save_every=3, val_every=3,
                         anchor_weight=1.0)  # fmt: skip
    straight = train(tiny_dir, data, tmp_path / "a", tmp_path / "a-out", config)
    assert straight.final_train_loss is not None and straight.final_train_loss == straight.final_train_loss
    calls = iter(range(100))
    with pytest.raises(Stopped):
        train(tiny_dir, data, tmp_path / "b", tmp_path / "b-out", config,
              should_stop=lambda: next(calls) == 2)  # fmt: skip
    resumed = train(tiny_dir, data, tmp_path / "b", tmp_path / "b-out", config)
    assert resumed.resumed_from == 3
    a, b = weights(tmp_path / "a-out"), weights(tmp_path / "b-out")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
