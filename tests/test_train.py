"""LoRA training on the tiny model: it learns, it resumes exactly, it stops cleanly.

The worker tests run the real `python -m personal.learn.train.worker` process (OpenBLAS
preloaded where the machine has it)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from personal.engine import AdapterRef
from personal.engine.blas import find_openblas
from personal.engine.prompt import ChatFormat
from personal.errors import NotEnoughData, TrainingError, TrainingStopped
from personal.learn.config import TrainConfig
from personal.learn.examples import batch_indices, render_example
from personal.learn.train.events import Done, Event, Stopped, WorkerStarted
from personal.learn.train.trainer import train
from personal.learn.train.worker import EXIT_STOPPED, TrainJob, run_training
from personal.models.convert import mlx_dir_for
from tests.tinymodel import CHATML, write_tiny_llama_gguf

FP = "5" * 64
QUESTIONS = ("hello world", "what is the time", "how are you", "what is your name",
             "good day to you", "is it yes or no", "what is this model", "please answer")  # fmt: skip
ANSWER = "yes, the answer is good. stop"
FAST = dict(layers=2, learning_rate=1e-2, save_every=5, val_every=5)


def example(q: str, a: str = ANSWER, weight: float = 1.0) -> dict:
    return {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}],
            "kind": "answer", "weight": weight}  # fmt: skip


def write_dataset(
    path: Path, train_lines: list[dict], valid_lines: list[dict] | None = None
) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, lines in (("train", train_lines), ("valid", valid_lines or train_lines[:2])):
        (path / f"{name}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (path / "manifest.json").write_text("{}")
    return path


@pytest.fixture(scope="module")
def home(module_home):
    return module_home


@pytest.fixture(scope="module")
def tiny(home) -> tuple[Path, Path]:
    """(gguf, converted mlx dir) of the tiny llama, shared by every test here."""
    gguf = write_tiny_llama_gguf(home / "tiny.gguf")
    return gguf, mlx_dir_for(gguf, FP)


@pytest.fixture
def shared_home(home, monkeypatch):
    monkeypatch.setenv("PERSONAL_HOME", str(home))  # the worker finds the cached conversion
    return home


@pytest.fixture(scope="module")
def dataset(home) -> Path:
    return write_dataset(home / "ds", [example(q) for q in QUESTIONS[:6]],
                         [example(q) for q in QUESTIONS[6:]])  # fmt: skip


def job(tiny, dataset, tmp_path, name: str, **config) -> TrainJob:
    run = tmp_path / name
    return TrainJob(tiny[0], FP, "tiny", dataset, run, run / "adapter",
                    TrainConfig(**{**FAST, **config}))  # fmt: skip


def weights(adapter_dir: Path) -> dict[str, np.ndarray]:
    import mlx.core as mx

    return {k: np.array(v) for k, v in mx.load(str(adapter_dir / "adapters.safetensors")).items()}


# --- the prompt/target split ------------------------------------------------------------
def test_completion_is_the_answer_with_its_end_of_turn():
    fmt = ChatFormat.from_metadata(CHATML, "<|im_start|>", "<|im_end|>")
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    prompt, completion = render_example(fmt, {"messages": messages})
    assert prompt.endswith("<|im_start|>assistant\n")
    assert completion == "hello<|im_end|>\n"
    assert prompt + completion == fmt.render(messages, add_generation_prompt=False)


def test_plain_transcript_target_ends_with_eos_and_tools_reach_the_prompt():
    fmt = ChatFormat.from_metadata(None, "<bos>", "<eos>")
    tools = [{"type": "function", "function": {"name": "now", "parameters": {}}}]
    call = {"id": "c1", "type": "function", "function": {"name": "now", "arguments": "{}"}}
    messages = [{"role": "user", "content": "time?"},
                {"role": "assistant", "content": None, "tool_calls": [call]}]  # fmt: skip
    prompt, completion = render_example(fmt, {"messages": messages, "tools": tools})
    assert "- now()" in prompt and prompt.endswith("Assistant:")
    assert completion.startswith(" <tool_call>\n") and completion.endswith("\n<eos>")


def test_an_example_must_end_with_an_answer():
    fmt = ChatFormat.from_metadata(CHATML, "", "<|im_end|>")
    with pytest.raises(TrainingError, match="end with an assistant message"):
        render_example(fmt, {"messages": [{"role": "user", "content": "a"}] * 2})


def test_data_order_is_a_function_of_seed_and_step():
    order = [batch_indices(s, 6, 4, seed=3) for s in range(3)]  # 12 draws = 2 epochs
    assert order == [batch_indices(s, 6, 4, seed=3) for s in range(3)]
    flat = sum(order, [])
    assert sorted(flat[:6]) == sorted(flat[6:]) == list(range(6))
    assert order != [batch_indices(s, 6, 4, seed=4) for s in range(3)]


# --- configuration and data errors --------------------------------------------------------
def test_bad_config_values_are_all_reported():
    with pytest.raises(TrainingError) as err:
        TrainConfig(rank=0, learning_rate=-1.0, targets=("self_attn.q_proj", "attn"),
                    batch_size=4, grad_accumulation=3, dropout=1.5)  # fmt: skip
    message = str(err.value)
    for part in ("rank must be", "learning_rate must be", "targets must be",
                 "not divisible by grad_accumulation", "dropout must be"):  # fmt: skip
        assert part in message
    with pytest.raises(TrainingError, match="unknown training setting"):
        TrainConfig.from_dict({"rank": 4, "epochs": 3})
    config = TrainConfig(rank=4, targets=["self_attn.q_proj"])
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_a_dataset_without_trainable_tokens_is_not_enough_data(tiny, tmp_path):
    data = write_dataset(tmp_path / "zero", [example(q, weight=0.0) for q in QUESTIONS])
    with pytest.raises(NotEnoughData, match="no trainable tokens"):
        train(tiny[1], data, tmp_path / "run", tmp_path / "out", TrainConfig(**FAST))
    bad = write_dataset(
        tmp_path / "bad", [example("hi"), {"messages": [{"role": "user", "content": "x"}]}]
    )
    with pytest.raises(TrainingError, match=r"train.jsonl:2: .*at least two messages"):
        train(tiny[1], bad, tmp_path / "run2", tmp_path / "out", TrainConfig(**FAST))


# --- training -----------------------------------------------------------------------------
def test_training_lowers_loss_and_writes_a_loadable_adapter(tiny, dataset, tmp_path):
    from personal.engine.mlx_engine import MLXEngine

    events = []
    report = train(tiny[1], dataset, tmp_path / "run", tmp_path / "out",
                   TrainConfig(**{**FAST, "iters": 30}), on_event=events.append)  # fmt: skip
    curve = json.loads((tmp_path / "run" / "loss.json").read_text())
    assert [s for s, _ in curve["train"]] == list(range(1, 31))
    assert curve["val"][-1][1] < 0.7 * curve["val"][0][1]
    assert report.trained_tokens > 0 and report.peak_rss_mb > 0
    assert json.loads((tmp_path / "run" / "report.json").read_text())["steps"] == 30
    assert isinstance(events[-1], Done)
    config = json.loads((tmp_path / "out" / "adapter_config.json").read_text())
    assert config["num_layers"] == 2 and config["lora_parameters"]["rank"] == 8
    engine = MLXEngine(tiny[0], fingerprint=FP, model_name="tiny")
    messages = [{"role": "user", "content": "how are you"}]
    before = engine.next_token_logprobs(messages)
    engine.attach_adapter(AdapterRef("trained", tmp_path / "out"))
    after = engine.next_token_logprobs(messages)
    first = engine.tokenize(ANSWER)[0]
    assert after[first] > before[first] + 1.0  # the answer's first token became likelier
    import mlx.core as mx
    from mlx_lm.tuner.utils import load_adapters
    from mlx_lm.utils import load_model

    reference = load_adapters(load_model(tiny[1])[0], str(tmp_path / "out"))  # mlx-lm's own
    logits = np.array(reference(mx.array(engine.prompt_tokens(messages))[None])[0, -1])
    assert np.allclose(logits - np.logaddexp.reduce(logits), after, atol=1e-4)


def test_gradient_accumulation_matches_one_batch(tiny, dataset, tmp_path):
    a = train(
        tiny[1], dataset, tmp_path / "a", tmp_path / "oa", TrainConfig(**{**FAST, "iters": 3})
    )
    b = train(tiny[1], dataset, tmp_path / "b", tmp_path / "ob",
              TrainConfig(**{**FAST, "iters": 3, "grad_accumulation": 2}))  # fmt: skip
    assert a.final_train_loss == pytest.approx(b.final_train_loss, rel=1e-4)
    wa, wb = weights(tmp_path / "oa"), weights(tmp_path / "ob")
    assert all(np.allclose(wa[k], wb[k], atol=1e-5) for k in wa)


def test_warm_start_loads_the_parent_and_checks_its_shape(tiny, dataset, tmp_path):
    train(
        tiny[1], dataset, tmp_path / "p", tmp_path / "parent", TrainConfig(**{**FAST, "iters": 5})
    )
    child = TrainConfig(**{**FAST, "iters": 1, "learning_rate": 1e-9})
    train(
        tiny[1], dataset, tmp_path / "c", tmp_path / "child", child, warm_start=tmp_path / "parent"
    )
    parent, got = weights(tmp_path / "parent"), weights(tmp_path / "child")
    assert parent.keys() == got.keys()
    assert all(np.allclose(parent[k], got[k], atol=1e-6) for k in parent)
    with pytest.raises(TrainingError, match=r"rank 8 \(this run: 4\)"):
        train(tiny[1], dataset, tmp_path / "d", tmp_path / "x", TrainConfig(**{**FAST, "rank": 4}),
              warm_start=tmp_path / "parent")  # fmt: skip


# --- the worker process -------------------------------------------------------------------
def test_resume_after_sigkill_reaches_the_same_weights(tiny, dataset, tmp_path, shared_home):
    straight_job = job(tiny, dataset, tmp_path, "straight", iters=40)
    straight = run_training(straight_job)
    assert straight.blas.startswith("OpenBLAS" if find_openblas() else "reference BLAS")
    killed = job(tiny, dataset, tmp_path, "killed", iters=40)
    killed.run_dir.mkdir(parents=True)
    (killed.run_dir / "job.json").write_text(json.dumps(killed.to_dict()))
    child = subprocess.Popen([sys.executable, "-m", "personal.learn.train.worker",
                              str(killed.run_dir / "job.json")], stdout=subprocess.PIPE, text=True)  # fmt: skip
    for line in child.stdout:
        if json.loads(line).get("event") == "checkpoint":
            child.kill()  # SIGKILL: no chance to save anything more
            break
    child.wait()
    assert child.returncode == -signal.SIGKILL
    resumed = run_training(killed)
    assert 0 < resumed.resumed_from < 40
    assert (killed.output_dir / "adapters.safetensors").read_bytes() == (
        straight_job.output_dir / "adapters.safetensors"
    ).read_bytes()
    curve = json.loads((killed.run_dir / "loss.json").read_text())
    assert curve == json.loads((straight_job.run_dir / "loss.json").read_text())


def test_sigterm_checkpoints_and_the_job_resumes(tiny, dataset, tmp_path, shared_home):
    import threading

    stop = threading.Event()
    the_job = job(tiny, dataset, tmp_path, "stopped", iters=400, save_every=1000, val_every=0)
    seen = []

    def progress(event: Event) -> None:
        seen.append(event)
        if getattr(event, "step", None) == 3:
            stop.set()  # run_training sends the worker SIGTERM

    with pytest.raises(TrainingStopped, match="stopped at step"):
        run_training(the_job, progress, stop=stop)
    state = json.loads((the_job.run_dir / "checkpoint.json").read_text())
    step = int(state["latest"].split("-")[1])
    assert 3 <= step < 400  # saved off-schedule (save_every is 1000) at the step it stopped
    assert seen[-1] == Stopped(step)
    child = subprocess.Popen([sys.executable, "-m", "personal.learn.train.worker",
                              str(the_job.run_dir / "job.json")], stdout=subprocess.PIPE, text=True)  # fmt: skip
    for line in child.stdout:
        if json.loads(line).get("event") == "step":
            child.send_signal(signal.SIGTERM)
            break
    assert child.wait() == EXIT_STOPPED


def test_worker_failures_surface_as_typed_errors(tiny, tmp_path, shared_home):
    empty = write_dataset(tmp_path / "empty", [example(q, weight=0.0) for q in QUESTIONS])
    with pytest.raises(NotEnoughData, match="no trainable tokens"):  # the worker's own type
        run_training(job(tiny, empty, tmp_path, "empty"))
    import os

    def kill(event: Event) -> None:
        if isinstance(event, WorkerStarted):
            os.kill(event.pid, signal.SIGKILL)  # a crash, not a user-facing error

    with pytest.raises(TrainingError, match="exit code -9") as err:
        run_training(job(tiny, empty, tmp_path, "crashed"), kill)
    assert "worker.log" in str(err.value)


# --- corrections: ORPO's odds-ratio term ---------------------------------------------------
REJECTED = "no, the answer is bad. stop"


def _mean_logprob(model_dir: Path, adapter: Path, q: str, answer: str) -> float:
    """Mean log-probability of `answer`'s tokens after `q`, under the adapter."""
    from personal.learn.train import trainer

    model, fmt, tokenize = trainer._load_base(model_dir)
    if adapter is not None:
        from mlx_lm.tuner.utils import load_adapters

        model = load_adapters(model, str(adapter))
    from personal.learn.examples import encode_example

    e = encode_example(fmt, tokenize, example(q, answer), 256)
    total = float(trainer._loss_sum(model, *trainer._pack([e], share=False)))
    return -total / e.n_target


def test_the_odds_ratio_term_matches_its_definition(tiny):
    import mlx.core as mx

    from personal.learn.examples import encode_example
    from personal.learn.train import trainer

    model, fmt, tokenize = trainer._load_base(tiny[1])
    pair = {**example("hello world"), "rejected": REJECTED}
    e = encode_example(fmt, tokenize, pair, 256)
    assert e.rejected and e.ids[: e.n_prompt] == encode_example(fmt, tokenize, example(
        "hello world", REJECTED), 256).ids[: e.n_prompt]  # fmt: skip
    nll, orpo = trainer._losses(model, *trainer._pack([e], share=False))
    chosen = -float(nll) / e.n_target  # the rejected row has weight 0: not in the NLL
    rejected = -float(trainer._loss_sum(model, *trainer._pack([encode_example(
        fmt, tokenize, example("hello world", REJECTED), 256)], share=False))) / len(e.rejected)  # fmt: skip

    def log_odds(lp: float) -> float:
        return lp - float(np.log1p(-np.exp(lp)))

    expected = float(np.log1p(np.exp(-(log_odds(chosen) - log_odds(rejected)))))
    assert float(orpo) == pytest.approx(expected, rel=1e-4)
    assert float(mx.array(0.0)) == 0.0


def test_corrections_push_the_rejected_answer_down(tiny, tmp_path):
    """Trained on the same chosen answers, with the rejected ones as corrections the
    adapter makes them less likely than plain fine-tuning does."""
    lines = [{**example(q), "rejected": REJECTED} for q in QUESTIONS[:6]]
    data = write_dataset(tmp_path / "ds", lines)
    gap = {}
    for weight in (0.0, 1.0):
        out = tmp_path / f"out-{weight}"
        train(tiny[1], data, tmp_path / f"run-{weight}", out,
              TrainConfig(**{**FAST, "iters": 12, "orpo_weight": weight}))  # fmt: skip
        q = QUESTIONS[7]  # held out
        gap[weight] = (_mean_logprob(tiny[1], out, q, ANSWER)
                       - _mean_logprob(tiny[1], out, q, REJECTED))  # fmt: skip
    assert gap[1.0] > gap[0.0] + 0.05, gap
