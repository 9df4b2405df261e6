"""Compiled static-cache rollouts: the same completions as eager generation, one compiled graph, eager fallback.

The compile backend is ``aot_eager`` here (dynamo traces, guards and recompiles exactly as with
inductor, without generating C++); the slow test runs the real inductor path once.
"""

from __future__ import annotations

import inspect
from collections import Counter

import pytest
import torch
from stage_testkit import events_of, make_project

from engine.events import EventWriter, read_events
from engine.launch import train
from engine.runs import RunFolder
from engine.stages import rollout_engine
from engine.stages.rollout_engine import CACHE_BUCKET, cache_length, compiles_rollouts


@pytest.mark.parametrize("setting, device, sharded, expected", [
    ("auto", "cuda", False, True),
    ("auto", "cuda", True, False),  # ZeRO-3 / FSDP gather fresh weights every step
    ("auto", "cpu", False, False),
    ("transformers", "cuda", False, False),
    ("transformers-compiled", "cpu", True, True),  # asked for explicitly: honoured
    ("vllm-server", "cuda", False, False),
])
def test_auto_compiles_rollouts_on_an_unsharded_cuda_model_only(setting, device, sharded, expected):
    assert compiles_rollouts(setting, device, sharded) is expected


def test_cache_length_is_bucketed_so_prompt_lengths_share_one_compiled_shape():
    assert cache_length(10, 24) == cache_length(200, 56) == CACHE_BUCKET
    assert cache_length(CACHE_BUCKET - 56, 57) == 2 * CACHE_BUCKET
    assert all(cache_length(n, 100) >= n + 100 for n in range(0, 2000, 37))


def test_the_trl_generation_hook_we_wrap_keeps_its_signature():
    from trl import GRPOTrainer

    from engine.stages.rl import MRPVTrainer

    hook = GRPOTrainer._generate_single_turn
    assert list(inspect.signature(hook).parameters) == [
        "self", "prompt_ids", "images", "multimodal_fields", "num_generations", "has_tool_images"]
    assert MRPVTrainer._generate_single_turn is not hook


def _trainer(model_dir, tmp_path, setting: str, events=None):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig

    from engine.stages.rl import MRPVTrainer

    args = GRPOConfig(output_dir=str(tmp_path / setting), use_cpu=True, bf16=False, report_to=[], per_device_train_batch_size=4,
                      num_generations=2, max_completion_length=16, temperature=1.0, disable_tqdm=True)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    return MRPVTrainer(model=model, reward_funcs=[lambda completions, **_: [0.0] * len(completions)], args=args,
                       train_dataset=Dataset.from_list([{"prompt": "x"}]), processing_class=AutoTokenizer.from_pretrained(model_dir),
                       planner=None, events=events, rollout_engine=setting)


# Three batches of different prompt lengths (one row left-padded in each), as GRPO steps see them.
PROMPTS = [[[5 + (7 * i + j) % 90 for j in range(length - i % 2)] for i in range(4)] for length in (9, 23, 14)]


def _rollouts(trainer, stop_token: int | None = None) -> list[list[list[int]]]:
    if stop_token is not None:  # a token the model often samples: completions end early, padding is exercised
        trainer.eos_token_ids = [*trainer.eos_token_ids, stop_token]
        trainer.generation_config.eos_token_id = trainer.eos_token_ids
        trainer.generation_kwargs["eos_token_id"] = trainer.eos_token_ids
    outputs = []
    for prompt_ids in PROMPTS:
        torch.manual_seed(1)
        completions, _ = trainer._generate_single_turn(prompt_ids, None, {}, 2)
        outputs.append(completions)
    return outputs


@pytest.fixture
def cheap_compile(monkeypatch):
    import torch._dynamo

    monkeypatch.setattr(rollout_engine, "COMPILE_BACKEND", "aot_eager")
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def test_compiled_rollouts_sample_the_same_completions_as_eager_with_one_compiled_graph(
        cheap_compile, tiny_model_dir, tmp_path):
    from torch._dynamo.utils import counters

    events = EventWriter(tmp_path / "events.jsonl", "eager")
    eager = _trainer(tiny_model_dir, tmp_path, "transformers", events=events)
    assert not eager.compiled_rollouts
    assert [e["message"] for e in read_events(tmp_path / "events.jsonl")] == ["rollouts: eager generation"]
    first = _rollouts(eager)
    frequent = Counter(token for batch in first for c in batch for token in c[:-1]).most_common(1)[0][0]
    eager = _trainer(tiny_model_dir, tmp_path, "transformers")
    expected = _rollouts(eager, stop_token=frequent)

    compiled = _trainer(tiny_model_dir, tmp_path, "transformers-compiled")
    assert compiled.compiled_rollouts and compiled.generation_config.cache_implementation == "static"
    counters.clear()
    got = _rollouts(compiled, stop_token=frequent)

    assert got == expected  # same seed, same tokens: sampling, EOS and padding agree with eager
    lengths = {len(c) for batch in got for c in batch}
    assert min(lengths) < 16 and max(lengths) > 1, "some completions end at the stop token, some run on"
    assert len({tuple(c) for c in got[0]}) > 1, "sampling varied within a batch"
    assert counters["stats"]["unique_graphs"] == 1, "three prompt lengths, one compiled decode graph"
    assert compiled.compiled_rollouts, "no fallback happened"


def test_a_compiler_failure_falls_back_to_eager_with_one_warning(monkeypatch, tiny_model_dir, tmp_path):
    import torch._dynamo

    def broken_backend(graph, example_inputs):
        raise RuntimeError("no C++ compiler on this machine")

    monkeypatch.setattr(rollout_engine, "COMPILE_BACKEND", broken_backend)
    torch._dynamo.reset()
    try:
        events = EventWriter(tmp_path / "events.jsonl", "fallback")
        compiled = _trainer(tiny_model_dir, tmp_path, "transformers-compiled", events=events)
        got = _rollouts(compiled)
    finally:
        torch._dynamo.reset()
    expected = _rollouts(_trainer(tiny_model_dir, tmp_path, "transformers"))
    # The failed attempt sampled a token before the retry, so the first batch comes from later in the
    # random stream; every batch after it is eager generation, token for token.
    assert len(got[0]) == 4 and got[1:] == expected[1:]
    assert not compiled.compiled_rollouts and compiled.generation_config.disable_compile
    warnings = [e["message"] for e in read_events(tmp_path / "events.jsonl") if e["type"] == "warning"]
    assert len(warnings) == 1
    assert "no C++ compiler on this machine" in warnings[0] and 'rl.rollout_engine = "transformers"' in warnings[0]


def test_an_rl_run_with_compiled_rollouts_finishes_and_says_so(cheap_compile, tmp_path, tiny_model_dir):
    project = make_project(tmp_path / "proj", tiny_model_dir, settings={"rl.rollout_engine": "transformers-compiled"})
    assert train(project, "realm-zero", "compiled", overrides=[]) == "finished"
    run = RunFolder(project, "compiled")
    assert any("compiled generation" in e["message"] for e in events_of(run.path, "log"))
    assert not [e for e in events_of(run.path, "warning") if "compiled" in e["message"]]  # no fallback to eager
    assert [e["step"] for e in events_of(run.path, "rollout_plan")] == [0, 1, 2, 3]


@pytest.mark.slow
def test_inductor_compiled_rollouts_match_eager(tiny_model_dir, tmp_path):
    """The real compiler (C++ code generation on CPU, about 30 s): same tokens as eager."""
    import torch._dynamo

    torch._dynamo.reset()
    try:
        expected = _rollouts(_trainer(tiny_model_dir, tmp_path, "transformers"))
        compiled = _trainer(tiny_model_dir, tmp_path, "transformers-compiled")
        got = _rollouts(compiled)
    finally:
        torch._dynamo.reset()
    assert compiled.compiled_rollouts, "inductor compiled without falling back"
    assert got == expected


def test_the_warning_names_the_compilers_own_error_even_through_a_cycle():
    from engine.stages.rollout_engine import compiler_error

    root = OSError("cc1plus: not found")
    wrapper = RuntimeError("backend='inductor' raised:")
    wrapper.inner_exception = root
    outer = RuntimeError("compile failed")
    outer.__cause__ = wrapper
    assert compiler_error(outer) is root
    loop = RuntimeError("wraps itself")
    loop.inner_exception = loop
    assert compiler_error(loop) is loop
