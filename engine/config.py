"""The project config (``realm.toml``): a typed, validated schema.

Each section is a dataclass; each field carries its help text and its constraint. Loading
checks every key and reports *all* problems at once, one line each, naming the key and the
reason (``realm.toml: fade.start: must be in [0, 1], got 1.5``). Unknown keys are refused so
that a typo never silently falls back to a default.

Plain Python only (tomllib / tomli_w): the GUI imports this module.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_origin, get_type_hints

import regex
import tomli_w

from .errors import UserError, shown
from .fsutil import atomic_write_text

CONFIG_FILE = "realm.toml"
DEFAULT_MODEL = "gemma3-270m"  # converted from the bundled GGUF package on first use

# ----------------------------------------------------------------------------- shared names
# Every name below is a choice the user types (a key's value, a CLI flag) or reads (a label in a
# table). Each is defined here once; the engine, the CLI's choices and the GUI's combos import it.

ANSWER_TYPES = ("choice", "number", "text", "regex", "python")
ROUTE_LABELS = ("positive", "negative", "unparsed")  # a verifier's verdict on a route or completion
IMPORT_FORMATS = ("jsonl", "csv", "parquet", "hf", "bigbench")  # `import --format`, besides "auto"
FADE_SCHEDULES = ("constant", "linear", "cosine", "exponential", "staircase", "custom")
RECIPE_STAGES = {  # recipe -> the stages it runs, in order (docs/METHOD.md §5)
    "realm-zero": ("rl",),            # MRPV + EAAI from the base model
    "realm-r1": ("distill", "rl"),    # guided CoT distillation cold start, then MRPV + EAAI
    "rft": ("distill",),              # rejection-sampling fine-tuning: SFT on positive routes only
    "grpo": ("rl",),                  # plain GRPO: never show routes (p = 0)
    "always-routes": ("rl",),         # MRPV without fading (p = 1)
    "positives-only": ("rl",),        # MRPV that shows only positive routes
}
RECIPES = tuple(RECIPE_STAGES)
STAGES = ("distill", "rl")  # every stage, in the order a chain applies them (`train --from RUN:STAGE`)
EVAL_SPLITS = ("test", "train", "all")
EXPORT_FORMATS = ("safetensors", "gguf")  # `export --format`
GGUF_QUANTS = ("f16", "q8_0", "q4_k_m")  # `export --format gguf --quant`
TRACKERS = ("none", "tensorboard", "mlflow", "trackio", "wandb")  # `train.report_to`


def _f(default, help: str, *, choices=None, lo=None, hi=None, lo_open=False):
    """A field with help text and a constraint checked on load."""
    meta = {"help": help, "choices": choices, "lo": lo, "hi": hi, "lo_open": lo_open}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: json.loads(json.dumps(d)), metadata=meta)
    return field(default=default, metadata=meta)


# ----------------------------------------------------------------------------- sections


@dataclass
class ProjectSection:
    name: str = _f("realm-project", "Display name of the project.")
    seed: int = _f(0, "Seed for splits, route sampling, fade decisions and training.", lo=0)


@dataclass
class ModelSection:
    name: str = _f(DEFAULT_MODEL, "HF hub id, local folder, or 'gemma3-270m' (the bundled default).")
    trust_remote_code: bool = _f(False, "Run code shipped with this model. Off unless you trust it.")
    dtype: str = _f("auto", "Weights dtype: auto (bf16 on GPU, fp32 on CPU), bfloat16, float16, float32.",
                    choices=("auto", "bfloat16", "float16", "float32"))
    device: str = _f("auto", "auto (GPU when present), cpu, cuda.", choices=("auto", "cpu", "cuda"))
    lora: bool = _f(True, "Train a LoRA adapter (PEFT) instead of all weights.")
    lora_r: int = _f(16, "LoRA rank.", lo=1)
    lora_alpha: int = _f(32, "LoRA alpha.", lo=1)
    lora_dropout: float = _f(0.0, "LoRA dropout.", lo=0.0, hi=1.0)
    gradient_checkpointing: bool = _f(False, "Trade compute for memory during training.")
    prompt_format: str = _f("auto", "auto: the model's chat template when it has one, plain text otherwise.",
                            choices=("auto", "chat", "plain"))


@dataclass
class DataSection:
    answer_type: str = _f("text", "Default answer type for imported problems.", choices=ANSWER_TYPES)
    number_tolerance: float = _f(1e-6, "Relative tolerance when comparing numeric answers.", lo=0.0)
    regex: str = _f("", "For answer_type=regex: the pattern a correct final answer must match.")
    python_verifier: str = _f("", "For answer_type=python: 'file.py:function' inside the project folder.")
    verifier_timeout_s: float = _f(2.0, "Time limit per call of a Python verifier.", lo=0.0, lo_open=True)
    rulebook: str = _f("", "Project-wide rules / expert knowledge file (relative to the project).")
    test_fraction: float = _f(0.2, "Share of problems held out for evaluation on import.", lo=0.0, hi=0.9)


@dataclass
class RoutesSection:
    source: str = _f("", "model:<id-or-path> | endpoint:<url> | file:<routes.jsonl>.")
    k: int = _f(8, "Routes sampled per problem.", lo=1, hi=256)
    temperature: float = _f(0.8, "Sampling temperature for routes.", lo=0.0)
    max_new_tokens: int = _f(0, "Longest route, in tokens (0: from the data: 1.5 x the 99th percentile of the project's "
                                "stored routes, 512 when it has none).", lo=0)
    guided: bool = _f(False, "Put the rules in the route prompt (teacher-guided routes).")
    batch_size: int = _f(8, "Prompts per generation batch for model sources.", lo=1)


@dataclass
class FadeSection:
    schedule: str = _f("cosine", "EAAI family of p(t).", choices=FADE_SCHEDULES)
    start: float = _f(1.0, "p at the first step.", lo=0.0, hi=1.0)
    end: float = _f(0.0, "p after the fade.", lo=0.0, hi=1.0)
    fade_fraction: float = _f(0.8, "Share of training over which p fades; the rest is the autonomous tail.",
                              lo=0.0, hi=1.0, lo_open=True)
    half_life: float = _f(0.2, "Exponential schedule: half-life as a share of training.", lo=0.0, lo_open=True)
    stairs: int = _f(4, "Staircase schedule: number of steps down.", lo=1)
    points: list = _f([[0.0, 1.0], [0.8, 0.0], [1.0, 0.0]],
                      "Custom schedule: [progress, p] control points, progress and p in [0, 1].")
    k_show: int = _f(3, "Candidate routes shown in a hinted prompt.", lo=1, hi=16)
    k_show_min: int = _f(0, "If > 0, the route count fades from k_show to this over the fade.", lo=0, hi=16)
    length_fade: bool = _f(False, "Show a shrinking prefix of each route as p fades.")


@dataclass
class DistillSection:
    learning_rate: float = _f(2e-4, "Learning rate.", lo=0.0, hi=1.0, lo_open=True)
    epochs: float = _f(1.0, "Passes over the positive routes.", lo=0.0, lo_open=True)
    max_steps: int = _f(-1, "Stop after this many steps (-1: run all epochs).", lo=-1)
    batch_size: int = _f(4, "Examples per device per step.", lo=1)
    grad_accum: int = _f(1, "Gradient accumulation steps.", lo=1)
    max_length: int = _f(512, "Longest training example, in tokens.", lo=16)
    max_routes_per_problem: int = _f(2, "Positive routes kept per problem.", lo=1)
    packing: bool = _f(False, "Pack several routes into each max_length row (TRL's best-fit packing; attention never "
                              "crosses routes): no padding, so more tokens per second, and a step sees more routes.")
    save_steps: int = _f(50, "Checkpoint every N steps.", lo=1)


@dataclass
class RLSection:
    learning_rate: float = _f(1e-5, "Learning rate.", lo=0.0, hi=1.0, lo_open=True)
    max_steps: int = _f(200, "Optimizer steps.", lo=1)
    num_generations: int = _f(8, "Completions per prompt (the GRPO group).", lo=2)
    prompts_per_step: int = _f(2, "Distinct prompts per step (batch = prompts x generations).", lo=1)
    max_completion_length: int = _f(0, "Longest completion, in tokens (0: from the data: the 99th percentile of the "
                                       "project's routes plus a verdict line per candidate shown).", lo=0)
    temperature: float = _f(1.0, "Sampling temperature of rollouts.", lo=0.0, lo_open=True)
    top_p: float = _f(1.0, "Nucleus sampling of rollouts: sample only from the smallest set of tokens holding this "
                           "much probability (1: off). Cuts the long tail of a 262k-token vocabulary that a correctness "
                           "reward would otherwise reinforce (docs/EFFICACY.md).", lo=0.0, hi=1.0, lo_open=True)
    top_k: int = _f(0, "Sample rollouts only from the k most likely tokens (0: off).", lo=0)
    beta: float = _f(0.0, "KL coefficient (0: no reference model).", lo=0.0)
    candidate_mix: str = _f("contrastive", "Candidates shown: >=1 positive and >=1 negative, or positives only.",
                            choices=("contrastive", "positives-only"))
    reward_correctness: float = _f(1.0, "Weight of the correctness reward.", lo=0.0)
    reward_format: float = _f(0.1, "Weight of the format reward.", lo=0.0)
    reward_verdict: float = _f(0.0, "Weight of the verdict-accuracy reward (0: off).", lo=0.0)
    reward_language: float = _f(0.2, "Weight of the language-consistency reward: 1 when every letter of a completion "
                                "is in a script its prompt uses, else 0 (0: off). Without it RL pays right answers "
                                "that drift into another language, and spreads them (docs/EFFICACY.md).", lo=0.0)
    save_steps: int = _f(25, "Checkpoint every N steps.", lo=1)
    samples_per_step: int = _f(2, "Completions written as `sample` events per step (best and worst).", lo=0)
    rollout_engine: str = _f("auto", "Who generates rollouts: transformers-compiled (inside the trainer, static KV cache "
                             "+ torch.compile: fast on a GPU after a compile of about 30 s), transformers (inside the "
                             "trainer, eager), auto (compiled on a CUDA GPU unless the model is sharded by DeepSpeed or "
                             "FSDP, eager otherwise), vllm-server (a `trl vllm-serve` process), vllm-colocate (vLLM "
                             "inside each rank). vLLM needs `pip install vllm`.",
                             choices=("auto", "transformers", "transformers-compiled", "vllm-server", "vllm-colocate"))
    vllm_server_url: str = _f("http://localhost:8000", "Base URL of the `trl vllm-serve` server (rollout_engine = vllm-server).")


@dataclass
class EvalSection:
    max_new_tokens: int = _f(0, "Longest answer, in tokens (0: from the data: the 99th percentile of the project's "
                                "routes plus a verdict line per candidate shown).", lo=0)
    batch_size: int = _f(16, "Prompts per generation batch.", lo=1)
    split: str = _f("test", "Problems to evaluate: the held-out split (test), the training split, or all.",
                    choices=EVAL_SPLITS)
    max_problems: int = _f(0, "Evaluate at most this many problems of the split (0: all).", lo=0)
    max_problems_with_routes: int = _f(0, "Of those, answer at most this many again with candidate routes shown "
                                          "(0: all; the with-routes prompts are long, so a CPU run may cap them).", lo=0)
    every_steps: int = _f(0, "During training, evaluate a fixed held-out subset every N optimizer steps and at the end "
                             "of each stage (0: off): the held-out learning curve.", lo=0)
    curve_problems: int = _f(20, "Problems in that subset (the first N of the split, with and without routes).", lo=1)
    keep_best: bool = _f(False, "Keep the checkpoint with the best held-out accuracy (without routes) as the stage's "
                                "result, instead of the last one (needs every_steps > 0).")


@dataclass
class TrainSection:
    report_to: str = _f("none", "Experiment tracker that also gets every metric and the run's evaluation, all local: "
                        "tensorboard (runs/<run>/tensorboard), mlflow (file store mlruns/), trackio (trackio/), "
                        "wandb (offline, runs/<run>/wandb).", choices=TRACKERS)
    optimizer: str = _f("auto", "AdamW implementation: auto (fused single-kernel AdamW on a CUDA GPU, plain elsewhere), "
                        "adamw_torch, adamw_torch_fused.", choices=("auto", "adamw_torch", "adamw_torch_fused"))
    compile: bool = _f(False, "Compile the training forward and backward with torch.compile (a GPU pays the compile "
                       "time, about a minute, back over a long run; rollouts are compiled on their own).")


@dataclass
class Config:
    project: ProjectSection = field(default_factory=ProjectSection)
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    routes: RoutesSection = field(default_factory=RoutesSection)
    fade: FadeSection = field(default_factory=FadeSection)
    distill: DistillSection = field(default_factory=DistillSection)
    rl: RLSection = field(default_factory=RLSection)
    eval: EvalSection = field(default_factory=EvalSection)
    train: TrainSection = field(default_factory=TrainSection)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------- validation



def _check_value(key: str, value: Any, hint, meta: dict) -> tuple[Any, list[str]]:
    """Coerce ``value`` to the field's type and check its constraint; return (value, problems)."""
    origin = get_origin(hint) or hint
    if origin is bool:
        if not isinstance(value, bool):
            return value, [f"{key}: must be true or false, got {value!r}"]
    elif origin is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return value, [f"{key}: must be an integer, got {value!r}"]
    elif origin is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return value, [f"{key}: must be a number, got {value!r}"]
        value = float(value) if abs(value) < 1e308 else math.inf  # float() of a 400-digit int overflows
        if not math.isfinite(value):
            return value, [f"{key}: must be a finite number, got {value!r}"]
    elif origin is str:
        if not isinstance(value, str):
            return value, [f"{key}: must be a string, got {value!r}"]
    elif origin is list:
        if not isinstance(value, list):
            return value, [f"{key}: must be a list, got {value!r}"]
    problems = []
    if meta.get("choices") and value not in meta["choices"]:
        problems.append(f"{key}: must be one of {', '.join(meta['choices'])}, got {value!r}")
    lo, hi = meta.get("lo"), meta.get("hi")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        too_low = lo is not None and (value < lo or (meta.get("lo_open") and value == lo))
        too_high = hi is not None and value > hi
        if too_low or too_high:
            if hi is None:
                bound = f"> {lo}" if meta.get("lo_open") else f">= {lo}"
            else:
                bound = f"in {'(' if meta.get('lo_open') else '['}{lo}, {hi}]"
            problems.append(f"{key}: must be {bound}, got {value}")
    return value, problems


def _cross_checks(cfg: Config) -> list[str]:
    problems = []
    pts = cfg.fade.points
    ok_points = isinstance(pts, list) and len(pts) >= 2 and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in p)
        for p in pts
    )
    if not ok_points:
        problems.append("fade.points: must be a list of at least two [progress, p] pairs of numbers")
    else:
        xs = [float(p[0]) for p in pts]
        if any(not 0.0 <= float(v) <= 1.0 for p in pts for v in p):
            problems.append("fade.points: progress and p must each be in [0, 1]")
        elif any(b <= a for a, b in zip(xs, xs[1:])):
            problems.append("fade.points: progress values must strictly increase")
    if cfg.eval.keep_best and not cfg.eval.every_steps:
        problems.append("eval.keep_best: needs eval.every_steps > 0 (the held-out curve picks the best checkpoint)")
    if cfg.fade.k_show_min > cfg.fade.k_show:
        problems.append(f"fade.k_show_min: must be <= fade.k_show ({cfg.fade.k_show}), got {cfg.fade.k_show_min}")
    if cfg.data.answer_type == "python" and not cfg.data.python_verifier:
        problems.append("data.python_verifier: required when data.answer_type = 'python' (give 'file.py:function')")
    if cfg.data.python_verifier and ":" not in cfg.data.python_verifier:
        problems.append(f"data.python_verifier: must look like 'file.py:function', got {cfg.data.python_verifier!r}")
    if cfg.data.regex:
        try:
            regex.compile(cfg.data.regex)  # the engine that matches it (method.verifiers)
        except regex.error as err:
            problems.append(f"data.regex: not a valid regular expression ({err})")
    return problems


def config_from_dict(raw: dict, source: str = CONFIG_FILE) -> Config:
    """Build a validated Config; raise UserError listing every problem, one per line."""
    cfg, problems = _build(raw)
    if problems:
        raise UserError("\n".join(f"{source}: {p}" for p in problems))
    return cfg


def check_config(cfg: Config) -> dict[str, str]:
    """The loader's verdict on a Config edited in memory, per key: ``{"fade.points": "progress
    values must strictly increase"}``; empty when it would load. The GUI checks every edit with
    this, so what it shows beside a field is exactly what loading the file would say."""
    problems: dict[str, str] = {}
    for problem in _build(cfg.to_dict())[1]:
        key, _, reason = problem.partition(": ")
        problems.setdefault(key, reason)
    return problems


def _build(raw: dict) -> tuple[Config, list[str]]:
    """(Config, every problem as "key: reason"); the Config is only usable when there is none."""
    problems: list[str] = []
    sections = {}
    for sec_field in fields(Config):
        sec_cls = sec_field.type if isinstance(sec_field.type, type) else get_type_hints(Config)[sec_field.name]
        sec_raw = raw.get(sec_field.name, {})
        if not isinstance(sec_raw, dict):
            problems.append(f"{sec_field.name}: must be a table ([{sec_field.name}]), got {sec_raw!r}")
            sec_raw = {}
        hints = get_type_hints(sec_cls)
        values = {}
        known = {f.name for f in fields(sec_cls)}
        for key in sec_raw:
            if key not in known:
                problems.append(f"{sec_field.name}.{shown(key)}: unknown key (known: {', '.join(sorted(known))})")
        for f in fields(sec_cls):
            if f.name in sec_raw:
                value, errs = _check_value(f"{sec_field.name}.{f.name}", sec_raw[f.name], hints[f.name], f.metadata)
                problems.extend(errs)
                values[f.name] = value
        sections[sec_field.name] = sec_cls(**values)
    for key in raw:
        if key not in {f.name for f in fields(Config)}:
            problems.append(f"{shown(key)}: unknown section (known: {', '.join(f.name for f in fields(Config))})")
    cfg = Config(**sections)
    if not problems:
        problems.extend(_cross_checks(cfg))
    return cfg, problems


def load_config(path: str | Path) -> Config:
    path = Path(path)
    if path.is_dir():
        path = path / CONFIG_FILE
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: not found", hint="create a project with `realm-engine init DIR`") from None
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise UserError(f"{path}: cannot read ({err.strerror})") from None
    try:
        raw = tomllib.loads(text)
    except ValueError as err:  # TOMLDecodeError, or an integer of more than 4300 digits
        raise UserError(f"{path}: invalid TOML ({err})") from None
    return config_from_dict(raw, source=str(path))


def config_to_toml(cfg: Config) -> str:
    return tomli_w.dumps(cfg.to_dict())


def save_config(path: str | Path, cfg: Config) -> None:
    path = Path(path)
    if path.is_dir():
        path = path / CONFIG_FILE
    config_from_dict(cfg.to_dict(), source=str(path))  # never write a config we would refuse to load
    atomic_write_text(path, config_to_toml(cfg))


def parse_override(text: str) -> tuple[str, Any]:
    """Parse one ``--set section.key=value`` (the value as a TOML literal, else a string)."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise UserError(f"--set {shown(text)}: expected section.key=value, e.g. rl.max_steps=50")
    key, literal = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {literal}")["v"]
    except ValueError:  # TOMLDecodeError, or an integer of more than 4300 digits
        value = literal
    return key.strip(), value


def apply_overrides(cfg: Config, overrides: list[str]) -> Config:
    """Return a new validated Config with ``section.key=value`` overrides applied."""
    raw = cfg.to_dict()
    for text in overrides:
        key, value = parse_override(text)
        section, _, name = key.partition(".")
        if section not in raw or name not in raw[section]:
            raise UserError(f"--set {shown(text)}: unknown key {key!r}")
        raw[section][name] = value
    return config_from_dict(raw, source="--set")


def describe_fields() -> list[dict]:
    """Every key with its default, help and constraint: used by the GUI's forms and the docs."""
    out = []
    for sec_field in fields(Config):
        sec_cls = get_type_hints(Config)[sec_field.name]
        hints = get_type_hints(sec_cls)
        for f in fields(sec_cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            out.append({"key": f"{sec_field.name}.{f.name}", "type": getattr(hints[f.name], "__name__", str(hints[f.name])),
                        "default": default, **f.metadata})
    return out
