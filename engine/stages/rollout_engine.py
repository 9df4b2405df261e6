"""Which engine generates the RL rollouts: transformers inside the trainer, or TRL's vLLM integration.

vLLM is optional (a large CUDA-only install), so the setting ``rl.rollout_engine`` is checked
before any model is loaded: asking for vLLM without it is a one-line error, not a traceback
from deep inside TRL minutes later.
"""

from __future__ import annotations

import importlib.util

from ..config import RLSection
from ..errors import UserError


def rollout_engine_args(rl: RLSection) -> dict:
    """GRPOConfig keyword arguments (TRL 1.16 names) for ``rl.rollout_engine``."""
    if rl.rollout_engine == "transformers":
        return {}
    if importlib.util.find_spec("vllm") is None:
        raise UserError(f"rl.rollout_engine = {rl.rollout_engine!r} needs vLLM: pip install vllm "
                        "(and start `trl vllm-serve --model …` for server mode)")
    mode = rl.rollout_engine.removeprefix("vllm-")
    args = {"use_vllm": True, "vllm_mode": mode}
    if mode == "server":
        args["vllm_server_base_url"] = rl.vllm_server_url
    return args
