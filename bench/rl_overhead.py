"""RL step overhead: our MRPVTrainer against plain TRL GRPOTrainer (issue 3 acceptance: ≤ 1.05).

Both trainers get the same model (loaded from the same folder), the same prompts, the same
GRPOConfig and seed, in one process. Ours is built as ``engine.stages.rl.run_rl`` builds it:
MRPVPlanner, our three reward functions (correctness, format, verdict via the verifiers), the
run's event log and RunCallback (progress, status.json, stop/cancel check). Plain TRL gets one
plain correctness reward, as a TRL user would write it.

The fade is held at p = 0, so both generate from the very same bare prompts: the figure is
the machinery's overhead. A hinted prompt is longer (it carries candidate routes); that cost
is the method's, not overhead, and is not measured here.

The two trainers run in lockstep: each in its own thread, taking turns one optimizer step at
a time (ours, plain, ours, plain, …), so only one computes at any moment. This machine's
speed drifts by tens of percent over seconds (measured: one plain trainer's steps went from
0.38 s to 0.58 s and back within one run), so alternating whole runs left that drift in the
ratio (rounds from 0.71 to 1.33); pairing step k of ours with step k of plain, taken a second
apart, cancels it. A step's time runs from the moment the trainer gets its turn to its next
``on_step_begin``: generation, rewards, the optimizer step, logging and every callback. The
first ``warmup`` steps are dropped. Our added code is also timed from inside, a figure that
machine load barely moves.
"""

from __future__ import annotations

import functools
import gc
import re
import statistics
import tempfile
import threading
import time
from pathlib import Path

from .common import Row, median

FULL = dict(rounds=4, steps=30, warmup=2, hidden_size=128, num_hidden_layers=4, completion_length=32)
QUICK = dict(rounds=1, steps=10, warmup=2, hidden_size=128, num_hidden_layers=4, completion_length=32)
# One torch thread: on a small shared machine, torch's thread pool fighting other processes
# for the cores turns a 1 s step into a 10 s one at random, which drowns any overhead figure.
THREADS = 1
NUM_GENERATIONS = 4
PROMPTS_PER_STEP = 2


class Lockstep:
    """Trainers in threads that take turns one training step at a time; each step's own time.

    Each trainer waits at every ``on_step_begin`` for its turn, so the steps of the trainers
    interleave (A1 B1 A2 B2 …) and none computes while another does. A trainer that ends or
    fails hands its turn on for good, so the others never wait for it.
    """

    def __init__(self, names: list[str]):
        self.names = list(names)
        self.seconds: dict[str, list[float]] = {name: [] for name in names}
        self._turn = 0
        self._arrived: set[str] = set()
        self._done: set[str] = set()
        self._started: dict[str, float] = {}
        self._cond = threading.Condition()

    def _pass_turn(self) -> None:
        for _ in self.names:
            self._turn = (self._turn + 1) % len(self.names)
            if self.names[self._turn] not in self._done:
                break
        self._cond.notify_all()

    def _my_turn(self, name: str) -> bool:
        everyone_ready = self._arrived | self._done >= set(self.names)
        return everyone_ready and self.names[self._turn] == name

    def step_begins(self, name: str) -> None:
        now = time.perf_counter()
        with self._cond:
            if name in self._started:
                self.seconds[name].append(now - self._started[name])
                self._pass_turn()
            self._arrived.add(name)
            self._cond.notify_all()  # the last to arrive releases the first
            self._cond.wait_for(lambda: self._my_turn(name))
        self._started[name] = time.perf_counter()

    def finished(self, name: str) -> None:
        with self._cond:
            self._done.add(name)
            if self.names[self._turn] == name:
                self._pass_turn()
            self._cond.notify_all()

    def callback(self, name: str):
        from transformers import TrainerCallback

        lockstep = self

        class TakeTurns(TrainerCallback):
            def on_step_begin(self, args, state, control, **kwargs):
                lockstep.step_begins(name)

        return TakeTurns()

    def run(self, trainers: dict, threads: int) -> None:
        """Train every trainer to the end in lockstep; re-raise the first failure."""
        import torch

        errors: list[BaseException] = []

        def train(name: str) -> None:
            torch.set_num_threads(threads)  # per thread: a new thread may start with torch's default
            try:
                trainers[name].train()
            except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread below
                errors.append(error)
            finally:
                self.finished(name)

        workers = [threading.Thread(target=train, args=(name,), name=f"bench-{name}") for name in self.names]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        if errors:
            raise errors[0]


class Stopwatch:
    """Seconds spent inside the wrapped calls; a call made from another wrapped call counts once."""

    def __init__(self):
        self.seconds = 0.0
        self._depth = 0

    def timed(self, fn):
        @functools.wraps(fn)  # TRL names reward metrics after __name__
        def wrapper(*args, **kwargs):
            self._depth += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.seconds += time.perf_counter() - start
        return wrapper

    def wrap(self, obj, *names: str) -> None:
        for name in names:
            setattr(obj, name, self.timed(getattr(obj, name)))


def make_setup(folder: Path, *, hidden_size: int, num_hidden_layers: int, completion_length: int, steps: int):
    """A tiny model and a complete project (problems + routes) with the rl settings of the bench."""
    from engine.config import load_config
    from stage_testkit import make_project
    from tiny_model import make_tiny_model

    model_dir = make_tiny_model(folder / "model", hidden_size=hidden_size, num_hidden_layers=num_hidden_layers)
    settings = {"rl.max_steps": steps, "rl.num_generations": NUM_GENERATIONS, "rl.prompts_per_step": PROMPTS_PER_STEP,
                "rl.max_completion_length": completion_length, "rl.reward_verdict": 0.5,
                "fade.start": 0.0, "fade.end": 0.0}
    project = make_project(folder / "project", model_dir, n=16, settings=settings)
    return project, load_config(project), model_dir


def _grpo_args(cfg, output_dir: Path, reward_weights: list[float]):
    """The same GRPOConfig for both trainers (only the weights follow each reward list)."""
    from trl import GRPOConfig

    return GRPOConfig(output_dir=str(output_dir), seed=cfg.project.seed, data_seed=cfg.project.seed, use_cpu=True,
                      bf16=False, logging_steps=1, save_strategy="no", report_to=[], disable_tqdm=True,
                      dataloader_num_workers=0, learning_rate=cfg.rl.learning_rate, max_steps=cfg.rl.max_steps,
                      per_device_train_batch_size=cfg.rl.prompts_per_step * cfg.rl.num_generations,
                      gradient_accumulation_steps=1, num_generations=cfg.rl.num_generations,
                      max_completion_length=cfg.rl.max_completion_length, temperature=cfg.rl.temperature,
                      beta=cfg.rl.beta, reward_weights=reward_weights, log_completions=False,
                      remove_unused_columns=False)


def _load(cfg, model_dir: Path):
    from engine.hf.models import load_model, load_tokenizer

    tokenizer = load_tokenizer(cfg.model, str(model_dir))
    model = load_model(cfg.model, str(model_dir), device="cpu")
    model.train()
    return model, tokenizer


def _rows(project: Path, render) -> tuple[list, list[dict], dict]:
    from engine.data.problems import read_problems
    from engine.project import problems_path
    from engine.routes.generate import read_routes
    from engine.stages.rl import rl_rows

    problems = [p for p in read_problems(problems_path(project)) if p.split == "train"]
    routes: dict[str, list[tuple[str, str]]] = {}
    for route in read_routes(project):
        routes.setdefault(route.problem_id, []).append((route.text, route.label))
    return problems, rl_rows(problems, render), routes


def build_ours(project: Path, cfg, model_dir: Path, run_name: str, watch: Stopwatch):
    """MRPVTrainer wired as run_rl wires it (planner, our rewards, events, RunCallback).

    ``watch`` times every piece of our code the step runs: planner, rewards, events, callback.
    """
    from datasets import Dataset

    from engine.events import EventWriter
    from engine.method.mrpv import MRPVPlanner
    from engine.method.rewards import make_reward_functions
    from engine.runs import RunFolder
    from engine.stages.context import RunCallback, RunContext
    from engine.hf.models import render_prompt
    from engine.stages.rl import MRPVTrainer

    model, tokenizer = _load(cfg, model_dir)
    run = RunFolder(project, run_name)
    run.path.mkdir(parents=True, exist_ok=True)
    ctx = RunContext(project=project, run=run, cfg=cfg, recipe="realm-zero", events=EventWriter(run.events, run_name))
    render = lambda text: render_prompt(tokenizer, text, cfg.model.prompt_format)  # noqa: E731
    problems, rows, routes = _rows(project, render)
    planner = MRPVPlanner(cfg.fade, seed=cfg.project.seed, max_steps=cfg.rl.max_steps, render=render,
                          questions={p.id: (p.question, p.choices) for p in problems}, routes=routes)
    reward_funcs, weights = make_reward_functions(cfg.data, cfg.rl)
    callback = RunCallback(ctx, "rl")
    watch.wrap(planner, "rewrite")
    watch.wrap(ctx.events, "emit")
    watch.wrap(callback, "on_step_end", "on_log")
    trainer = MRPVTrainer(model=model, reward_funcs=[watch.timed(fn) for fn in reward_funcs],
                          args=_grpo_args(cfg, run.path / "out", weights), train_dataset=Dataset.from_list(rows),
                          processing_class=tokenizer, callbacks=[callback], planner=planner,
                          events=ctx.events, samples_per_step=cfg.rl.samples_per_step)
    watch.wrap(trainer, "_emit_samples")
    return trainer


def plain_correctness(completions, answer, **_) -> list[float]:
    """The reward a plain TRL user writes: 1.0 when the last number equals the gold answer."""
    scores = []
    for text, gold in zip(completions, answer):
        numbers = re.findall(r"-?\d+(?:\.\d+)?", text)
        scores.append(1.0 if numbers and float(numbers[-1]) == float(gold) else 0.0)
    return scores


def build_plain(project: Path, cfg, model_dir: Path, run_name: str, watch: Stopwatch):
    from datasets import Dataset
    from trl import GRPOTrainer

    from engine.hf.models import render_prompt

    model, tokenizer = _load(cfg, model_dir)
    _, rows, _ = _rows(project, lambda text: render_prompt(tokenizer, text, cfg.model.prompt_format))
    rows = [{"prompt": row["prompt"], "answer": row["answer"]} for row in rows]
    return GRPOTrainer(model=model, reward_funcs=[watch.timed(plain_correctness)],
                       args=_grpo_args(cfg, project / "plain" / run_name, [1.0]),
                       train_dataset=Dataset.from_list(rows), processing_class=tokenizer)


BUILDERS = {"ours": build_ours, "plain": build_plain}


def _round(project, cfg, model_dir, r: int, warmup: int) -> dict[str, tuple[list[float], float, list[float]]]:
    """One pair of fresh trainers in lockstep: name -> (step seconds after warm-up, watched seconds
    per step, mean completion length of each step)."""
    from transformers import PrinterCallback

    lockstep = Lockstep(list(BUILDERS) if r % 2 == 0 else list(BUILDERS)[::-1])  # who goes first alternates
    trainers, watches = {}, {}
    for name, build in BUILDERS.items():
        watches[name] = Stopwatch()
        trainers[name] = build(project, cfg, model_dir, f"{name}-{r}", watches[name])
        trainers[name].remove_callback(PrinterCallback)  # TRL prints every log dict; the bench prints a table
        trainers[name].callback_handler.callbacks.insert(0, lockstep.callback(name))  # first: times every callback
    lockstep.run(trainers, THREADS)
    result = {name: (lockstep.seconds[name][warmup:], watches[name].seconds / max(trainers[name].state.global_step, 1),
                     [log["completions/mean_length"] for log in trainers[name].state.log_history
                      if "completions/mean_length" in log])
              for name in BUILDERS}
    del trainers
    gc.collect()
    return result


def measure(*, rounds: int, steps: int, warmup: int, hidden_size: int, num_hidden_layers: int,
            completion_length: int) -> dict:
    """Step seconds of each trainer, the ratio ours / plain of each pair of neighbouring steps,
    the seconds per step spent in the reward/hook code each one adds to TRL (ours: planner,
    rewards, events, callback; plain: its one reward function), one entry per round, and the
    mean completion length of every step (the work a step does: it must match for a fair ratio)."""
    import torch
    from transformers.utils import logging as hf_logging

    torch.set_num_threads(THREADS)
    hf_logging.disable_progress_bar()
    with tempfile.TemporaryDirectory(prefix="bench-rl-") as tmp:
        # +1 step: a step's time ends at the start of the next one
        project, cfg, model_dir = make_setup(Path(tmp), hidden_size=hidden_size, num_hidden_layers=num_hidden_layers,
                                             completion_length=completion_length, steps=warmup + steps + 1)
        rounds_out = [_round(project, cfg, model_dir, r, warmup) for r in range(rounds)]
    ours = [s for result in rounds_out for s in result["ours"][0]]
    plain = [s for result in rounds_out for s in result["plain"][0]]
    return {"ours_s": ours, "plain_s": plain, "ratios": [o / p for o, p in zip(ours, plain)],
            "ours_hooks_s": [result["ours"][1] for result in rounds_out],
            "plain_hooks_s": [result["plain"][1] for result in rounds_out],
            "ours_lengths": [n for result in rounds_out for n in result["ours"][2]],
            "plain_lengths": [n for result in rounds_out for n in result["plain"][2]]}


def quartiles(values: list[float]) -> tuple[float, float]:
    """First and third quartile (both the value itself when there is only one)."""
    if len(values) < 2:
        return values[0], values[0]
    first, _, third = statistics.quantiles(values, n=4)
    return first, third


def median_interval(values: list[float], resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap interval of the median: how far the figure could move on another run like this one."""
    import random

    rng = random.Random(seed)
    medians = sorted(median(rng.choices(values, k=len(values))) for _ in range(resamples))
    return medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]


def run(quick: bool = False) -> list[Row]:
    params = QUICK if quick else FULL
    result = measure(**params)
    ratios = result["ratios"]
    low, high = quartiles(ratios)
    ci_low, ci_high = median_interval(ratios)
    shape = (f"h{params['hidden_size']}x{params['num_hidden_layers']}L, batch {PROMPTS_PER_STEP}x{NUM_GENERATIONS}, "
             f"{params['completion_length']} tok, {params['rounds']} rounds x {params['steps']} steps in lockstep, "
             f"{THREADS} torch thread")
    return [
        Row("rl_overhead", "step, plain TRL (median)", median(result["plain_s"]), "s", shape),
        Row("rl_overhead", "step, ours (median)", median(result["ours_s"]), "s",
            f"mean completion length, ours {statistics.fmean(result['ours_lengths']):.1f} / "
            f"plain {statistics.fmean(result['plain_lengths']):.1f} tokens"),
        Row("rl_overhead", "ratio ours / plain (median)", median(ratios), "x",
            f"target <= 1.05; 95% CI {ci_low:.3f}..{ci_high:.3f}; {len(ratios)} pairs of neighbouring steps, "
            f"quartiles {low:.3f}..{high:.3f}"),
        Row("rl_overhead", "our code per step, timed inside", median(result["ours_hooks_s"]) * 1000, "ms",
            f"planner+rewards+events+callback; plain's reward: {median(result['plain_hooks_s']) * 1000:.2f} ms"),
        Row("rl_overhead", "added share of a plain step",
            (median(result["ours_hooks_s"]) - median(result["plain_hooks_s"])) / median(result["plain_s"]) * 100, "%",
            "load-proof estimate of the overhead"),
    ]
