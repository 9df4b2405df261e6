"""Batched text generation shared by route sampling and evaluation.

Prompts are rendered text (see ``models.render_prompt``); the tokenizer pads on the left so a
batch of prompts of different lengths decodes correctly. Greedy when temperature is 0.
"""

from __future__ import annotations


def generate_texts(model, tokenizer, prompts: list[str], *, max_new_tokens: int, temperature: float = 0.0,
                   num_return_sequences: int = 1, seed: int | None = None) -> list[list[str]]:
    """One list of ``num_return_sequences`` completions per prompt."""
    import torch

    if not prompts:
        return []
    if seed is not None:
        torch.manual_seed(seed)
    enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
    sampling = temperature > 0
    kwargs = dict(max_new_tokens=max_new_tokens, do_sample=sampling, num_return_sequences=num_return_sequences,
                  pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    if sampling:
        kwargs.update(temperature=temperature, top_p=1.0, top_k=0)
    else:
        kwargs.update(temperature=None, top_p=None, top_k=None)
    with torch.no_grad():
        out = model.generate(**enc, **kwargs)
    new_tokens = out[:, enc["input_ids"].shape[1]:]
    texts = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
    return [texts[i * num_return_sequences:(i + 1) * num_return_sequences] for i in range(len(prompts))]
