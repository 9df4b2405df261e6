"""The compact CPU LM head gives TRL's fused-head output: same log-probs, loss, gradients and metrics."""

from __future__ import annotations

import pytest
import torch

from engine.hf import lm_head
from engine.hf.lm_head import install_compact_lm_head, labelled_token_scores


def _model(tiny_model_dir, dtype=torch.float32):
    from transformers import AutoModelForCausalLM
    from trl.trainer.utils import add_fused_lm_head

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=dtype)
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))  # what TRL's trainers do first
    return model


def _batch(vocab: int, prompt: int = 5):
    torch.manual_seed(1)
    ids = torch.randint(3, vocab, (3, 12))
    attention = torch.ones_like(ids)
    attention[2, :4] = 0  # a left-padded row
    labels = ids.masked_fill(attention == 0, -100)
    labels[:, :prompt] = -100  # the prompt is never scored
    return ids, attention, labels


def _fused(model, ids, attention, labels):
    model.zero_grad()
    out = model(input_ids=ids, attention_mask=attention, labels=labels, fused_lm_head=True)
    out.loss.backward()
    grads = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    return out, grads


def test_the_compact_head_reproduces_trls_fused_head(tiny_model_dir, monkeypatch):
    monkeypatch.setattr(lm_head, "ENTROPY_STRIDE", 1)  # exact per-token entropy for the comparison
    model = _model(tiny_model_dir)
    batch = _batch(model.config.vocab_size)
    trl_out, trl_grads = _fused(model, *batch)
    assert install_compact_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    ours, our_grads = _fused(model, *batch)

    mask = trl_out.label_mask
    assert torch.equal(ours.label_mask, mask)
    torch.testing.assert_close(ours.log_probs, trl_out.log_probs, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours.loss, trl_out.loss, rtol=1e-5, atol=1e-6)
    assert torch.equal(ours.is_top1, trl_out.is_top1)
    # the entropy metric is a per-chunk mean, which is what the trainers log
    assert ours.entropy[mask].mean().item() == pytest.approx(trl_out.entropy[mask].mean().item(), rel=1e-4)
    assert len(our_grads) == len(trl_grads) > 0
    for ours_g, theirs_g in zip(our_grads, trl_grads):
        torch.testing.assert_close(ours_g, theirs_g, rtol=1e-4, atol=1e-6)


def test_the_entropy_estimate_samples_every_fourth_token(tiny_model_dir):
    torch.manual_seed(0)
    hidden = torch.randn(2, 40, 8)
    weight = torch.randn(50, 8)
    targets = torch.randint(0, 50, (2, 40))
    targets[0, :10] = -100
    exact = labelled_token_scores(hidden, targets, weight, outputs=("log_probs", "entropy"))
    logp = (hidden[targets != -100] @ weight.T).log_softmax(-1)
    true_mean = -(logp.exp() * logp).sum(-1).mean().item()
    estimate = exact.entropy[targets != -100].mean().item()
    assert estimate == pytest.approx(true_mean, rel=0.05)
    sampled = -(logp.exp() * logp).sum(-1)[::lm_head.ENTROPY_STRIDE].mean().item()
    assert estimate == pytest.approx(sampled, rel=1e-5)


def test_bf16_logits_keep_the_gradient_within_a_tenth_of_a_percent():
    torch.manual_seed(0)
    weight = torch.randn(4096, 64) * 0.05
    hidden = torch.randn(1, 300, 64)
    targets = torch.randint(0, 4096, (1, 300))

    def grad(dtype):
        h = hidden.to(dtype).detach().requires_grad_()
        labelled_token_scores(h, targets, weight.to(dtype)).loss.backward()
        return h.grad.float()

    fp32, bf16 = grad(torch.float32), grad(torch.bfloat16)
    assert ((bf16 - fp32).norm() / fp32.norm()).item() < 0.02  # bf16 inputs: ~3 significant digits


def test_a_batch_with_no_scored_token_is_a_differentiable_zero():
    hidden = torch.randn(1, 6, 8, requires_grad=True)
    targets = torch.full((1, 6), -100)
    out = labelled_token_scores(hidden, targets, torch.randn(20, 8), outputs=("log_probs", "entropy", "is_top1"))
    out.loss.backward()
    assert out.loss.item() == 0.0 and hidden.grad is not None and not out.label_mask.any()


def test_other_calls_reach_the_original_forward(tiny_model_dir):
    model = _model(tiny_model_dir)
    ids, attention, _ = _batch(model.config.vocab_size)
    before = model(input_ids=ids, attention_mask=attention).logits
    install_compact_lm_head(model)
    torch.testing.assert_close(model(input_ids=ids, attention_mask=attention).logits, before)


def test_a_head_it_cannot_reproduce_is_left_to_trl(tiny_model_dir):
    model = _model(tiny_model_dir)
    model.config.logit_scale = 0.5
    forward = model.forward
    assert install_compact_lm_head(model) is False
    assert model.forward == forward
