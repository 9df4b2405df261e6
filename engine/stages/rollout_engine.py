"""Which engine generates the RL rollouts, and how: eager transformers, compiled transformers, or vLLM.

Generation is nearly all of a GRPO step on a GPU (measured on an H200 with plain TRL 1.16:
6.49 s of a 6.75 s step), and eager ``generate`` with a dynamic KV cache is bound by Python
overhead per decode step. A static KV cache lets transformers compile the decode step
(``torch.compile``), which ran 5-10x more tokens per second there. TRL turns that off
(``disable_compile=True``), so ``MRPVTrainer`` turns it back on when this module says so.

The compiled decode step has one shape as long as the cache length stays the same, so the
cache is sized in buckets of ``CACHE_BUCKET`` tokens: prompts of any length up to the bucket
reuse one compiled graph, and a longer prompt costs one more compile, not one per step.

vLLM is optional (a large CUDA-only install), so the setting ``rl.rollout_engine`` is checked
before any model is loaded: asking for vLLM without it is a one-line error, not a traceback
from deep inside TRL minutes later.
"""

from __future__ import annotations

import importlib.util

from ..config import RLSection
from ..errors import UserError

CACHE_BUCKET = 256  # tokens; the static cache's length is a multiple of this
# torch.compile backend of the compiled decode step; tests swap in a cheaper one
COMPILE_BACKEND = "inductor"


def rollout_engine_args(rl: RLSection) -> dict:
    """GRPOConfig keyword arguments (TRL 1.16 names) for ``rl.rollout_engine``."""
    if not rl.rollout_engine.startswith("vllm"):
        return {}
    if importlib.util.find_spec("vllm") is None:
        raise UserError(f"rl.rollout_engine = {rl.rollout_engine!r} needs vLLM: pip install vllm "
                        "(and start `trl vllm-serve --model …` for server mode)")
    mode = rl.rollout_engine.removeprefix("vllm-")
    args = {"use_vllm": True, "vllm_mode": mode}
    if mode == "server":
        args["vllm_server_base_url"] = rl.vllm_server_url
    return args


def compiles_rollouts(rollout_engine: str, device_type: str, sharded: bool) -> bool:
    """Whether rollouts use the compiled static-cache path.

    ``auto`` compiles on a CUDA GPU only, and not when DeepSpeed ZeRO or FSDP shard the model:
    their weights are gathered into fresh tensors for every generation, which a compiled graph
    would have to re-record each step.
    """
    if rollout_engine == "transformers-compiled":
        return True
    return rollout_engine == "auto" and device_type == "cuda" and not sharded


def cache_length(longest_prompt: int, max_new_tokens: int) -> int:
    """Static cache length for a batch: prompt plus completion, rounded up to the bucket."""
    needed = longest_prompt + max_new_tokens
    return -(-needed // CACHE_BUCKET) * CACHE_BUCKET


def enable_compiled_generation(generation_config, device_type: str) -> None:
    """Switch a GenerationConfig (TRL's, built with compile disabled) to static cache + compile.

    On a GPU transformers' default compile settings apply (CUDA graphs); elsewhere the plain
    compile mode is used, and transformers must be told that compiling off-GPU is intended.
    """
    from transformers.generation.configuration_utils import CompileConfig

    on_gpu = device_type == "cuda"
    mode = ("reduce-overhead" if on_gpu else "default") if COMPILE_BACKEND == "inductor" else None  # modes are inductor's
    compile_config = CompileConfig(backend=COMPILE_BACKEND, mode=mode)
    compile_config._compile_all_devices = not on_gpu  # transformers' own switch for CPU compiling
    generation_config.cache_implementation = "static"
    generation_config.disable_compile = False
    generation_config.compile_config = compile_config


def disable_compiled_generation(generation_config) -> None:
    """Back to TRL's eager dynamic-cache generation (the fallback)."""
    generation_config.cache_implementation = None
    generation_config.disable_compile = True
    generation_config.compile_config = None
    generation_config.max_cache_len = None


def compiler_error(error: BaseException) -> BaseException:
    """The compiler's own error under dynamo's wrappers (``BackendCompilerFailed`` and the like)."""
    seen = {id(error)}
    while (inner := error.__cause__ or getattr(error, "inner_exception", None)) is not None and id(inner) not in seen:
        seen.add(id(inner))
        error = inner
    return error
