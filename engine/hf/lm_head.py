"""A CPU path for TRL's fused LM head: score only the labelled tokens, in the weights' dtype.

TRL's trainers (SFT and GRPO alike) ask the model for per-token log-probabilities with
``model(..., labels=labels, fused_lm_head=True)``. On a GPU that runs a Triton kernel. On a CPU
it runs a fallback that scores *every* position (prompt and padding included), upcasts each
32k-wide vocabulary tile and the weight slice to fp32 for the backward products, and folds the
tiles with a dozen element-wise passes. With Gemma 3's 262k-token output layer that fallback is
most of a training step: a distillation step of Gemma 3 270M on 2 cores spent 14 s on 830
tokens (bench/cpu_speed.py measures it).

``install_compact_lm_head`` wraps the model's forward once more and answers those calls itself:
the backbone runs as usual, then only the positions whose label is not -100 go through the
output layer, a few hundred tokens at a time, as one matmul in the weights' dtype (bf16 on a
CPU that has it) with the softmax in fp32. The output is TRL's ``FusedCausalLMOutput`` with the
same fields and the same loss normalisation, so the trainers' losses and metrics are unchanged.
Every other call (generation, plain forwards) goes to the original forward.
"""

from __future__ import annotations

import functools
import types

TOKENS_PER_CHUNK = 256  # rows of logits alive at once in the forward: 256 x 262k x 2 B = 134 MB
ENTROPY_STRIDE = 4


def supports_compact_lm_head(model) -> bool:
    """Whether the output layer is a plain ``hidden @ W.T`` that this path reproduces exactly
    (no bias, no logit scale; a final soft-cap is handled)."""
    config = model.config.get_text_config()
    scaled = any(getattr(config, name, None) not in (None, 1.0)
                 for name in ("logit_scale", "output_multiplier", "lm_head_multiplier", "logits_scaling"))
    head = model.get_output_embeddings()
    return head is not None and getattr(head, "bias", None) is None and not scaled


def install_compact_lm_head(model, temperature: float = 1.0, outputs: tuple[str, ...] = ("log_probs",)) -> bool:
    """Answer ``fused_lm_head=True`` calls of ``model`` (the unwrapped causal LM, patched by TRL
    already) with the compact path. Returns False, changing nothing, when the model's head is
    not one this path reproduces."""
    if not supports_compact_lm_head(model):
        return False
    trl_forward = model.forward
    softcap = getattr(model.config.get_text_config(), "final_logit_softcapping", None)

    @functools.wraps(type(model).forward)
    def forward(self, *args, fused_lm_head=False, labels=None, shift_labels=None, num_items_in_batch=None, **kwargs):
        if not fused_lm_head or shift_labels is not None or kwargs.get("output_router_logits"):
            return trl_forward(*args, fused_lm_head=fused_lm_head, labels=labels, shift_labels=shift_labels,
                               num_items_in_batch=num_items_in_batch, **kwargs)
        kwargs["use_cache"] = False
        hidden = self.base_model(*args, **kwargs).last_hidden_state[:, :-1]
        targets = labels[:, 1:]
        return labelled_token_scores(hidden, targets, self.get_output_embeddings().weight, temperature=temperature,
                                     softcap=softcap, outputs=outputs, num_items_in_batch=num_items_in_batch)

    model.forward = types.MethodType(forward, model)
    return True


def labelled_token_scores(hidden, targets, weight, *, temperature: float = 1.0, softcap: float | None = None,
                          outputs: tuple[str, ...] = ("log_probs",), num_items_in_batch=None):
    """TRL's ``FusedCausalLMOutput`` for ``hidden`` [B, T, H] and next-token ``targets`` [B, T]
    (-100: not scored): log-probabilities with gradient; entropy and top-1 hits without.

    The logits stay in the weights' dtype: in bf16 the softmax and its gradient cost half of the
    fp32 ones (a float copy of 256 x 262k logits alone takes as long as the matmul), and the
    gradient differs from the fp32 one by 0.1 % (bench/cpu_speed.py checks the loss curves).
    The entropy, a logged diagnostic, is computed on every ENTROPY_STRIDE-th scored token and
    that mean stands for the chunk's other tokens: the logged mean is an unbiased estimate at a
    quarter of the cost.
    """
    import torch
    import torch.nn.functional as F
    from trl.trainer.utils import FusedCausalLMOutput

    mask = targets != -100
    rows = hidden[mask]  # [N, H], contiguous: the matmul below takes its fast path
    wanted = targets[mask]
    weight = weight.to(rows.dtype)
    log_probs, entropy, is_top1 = [], [], []
    for start in range(0, rows.shape[0], TOKENS_PER_CHUNK):
        chunk_targets = wanted[start:start + TOKENS_PER_CHUNK]
        logits = rows[start:start + TOKENS_PER_CHUNK] @ weight.T
        if softcap:
            logits = softcap * torch.tanh(logits / softcap)
        if temperature != 1.0:
            logits = logits / temperature
        log_probs.append(-F.cross_entropy(logits, chunk_targets, reduction="none").float())
        with torch.no_grad():
            if "is_top1" in outputs:
                target_logits = logits.gather(-1, chunk_targets.unsqueeze(-1)).squeeze(-1)
                is_top1.append(target_logits >= logits.amax(-1))
            if "entropy" in outputs:
                sampled = logits[::ENTROPY_STRIDE].float()
                p = sampled.softmax(-1)
                estimate = (torch.logsumexp(sampled, -1) - (p * sampled).sum(-1)).mean()
                entropy.append(estimate.expand(len(chunk_targets)))

    def scatter(parts, dtype=torch.float32):
        # with no scored token, rows.sum(-1) is an empty tensor still connected to the graph, so the loss
        # of an all-ignored batch is a differentiable zero
        values = torch.cat(parts) if parts else rows.sum(-1)
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_scatter(mask, values.to(dtype))

    token_log_probs = scatter(log_probs)
    denominator = mask.sum().clamp(min=1) if num_items_in_batch is None else num_items_in_batch
    return FusedCausalLMOutput(
        loss=-token_log_probs.sum() / denominator,
        log_probs=token_log_probs,
        entropy=scatter(entropy) if "entropy" in outputs else None,
        log_sum_sq_probs=None,
        mean_logits=None,
        is_top1=scatter(is_top1, torch.bool) if "is_top1" in outputs else None,
        label_mask=mask,
        aux_loss=None,
    )
