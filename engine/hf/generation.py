"""Batched text generation shared by route sampling and evaluation.

Prompts are rendered text (see ``models.render_prompt``); the tokenizer pads on the left so a
batch of prompts of different lengths decodes correctly. Greedy when temperature is 0.

A completion ends at its ``Answer: …`` line: base models rarely emit EOS and would otherwise
ramble to ``max_new_tokens`` — on a CPU that is most of the evaluation's time.
"""

from __future__ import annotations

from ..method.markers import COMPLETE_ANSWER_LINE as ANSWER_LINE  # the answer line every reader takes
from .sampling import fast_cpu_sampling

TAIL_TOKENS = 48  # an answer line fits in this many tokens


def answer_line_stopper(tokenizer, prompt_len: int):
    """A StoppingCriteria that ends each sequence once it has written a complete answer line."""
    import torch
    from transformers import StoppingCriteria

    class _AnswerLine(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            tails = tokenizer.batch_decode(input_ids[:, max(prompt_len, input_ids.shape[1] - TAIL_TOKENS):],
                                           skip_special_tokens=True)
            return torch.tensor([bool(ANSWER_LINE.search(t)) for t in tails], device=input_ids.device)

    return _AnswerLine()


def trim_after_answer(text: str) -> str:
    """Keep a completion up to (and including) its first complete answer line."""
    match = ANSWER_LINE.search(text)
    return text[: match.end()].rstrip("\n") if match else text


def generate_texts(model, tokenizer, prompts: list[str], *, max_new_tokens: int, temperature: float = 0.0,
                   num_return_sequences: int = 1, seed: int | None = None,
                   stop_at_answer: bool = True) -> list[list[str]]:
    """One list of ``num_return_sequences`` completions per prompt."""
    import torch

    if not prompts:
        return []
    if seed is not None:
        torch.manual_seed(seed)
    # add_special_tokens=True, as TRL's trainers tokenize: a model trained with a BOS (Gemma) sees one here too
    enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=True).to(model.device)
    sampling = temperature > 0
    kwargs = dict(max_new_tokens=max_new_tokens, do_sample=sampling, num_return_sequences=num_return_sequences,
                  pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    if stop_at_answer:
        from transformers import StoppingCriteriaList

        kwargs["stopping_criteria"] = StoppingCriteriaList([answer_line_stopper(tokenizer, enc["input_ids"].shape[1])])
    if sampling:
        kwargs.update(temperature=temperature, top_p=1.0, top_k=0)
    else:
        kwargs.update(temperature=None, top_p=None, top_k=None)
    with torch.no_grad(), fast_cpu_sampling():
        out = model.generate(**enc, **kwargs)
    new_tokens = out[:, enc["input_ids"].shape[1]:]
    texts = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
    if stop_at_answer:
        texts = [trim_after_answer(t) for t in texts]
    return [texts[i * num_return_sequences:(i + 1) * num_return_sequences] for i in range(len(prompts))]
