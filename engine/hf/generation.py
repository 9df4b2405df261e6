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


def _generate_kwargs(tokenizer, prompt_len: int, *, max_new_tokens: int, temperature: float,
                     stop_at_answer: bool) -> dict:
    """``model.generate`` settings shared by batch generation and streaming: greedy at temperature 0,
    plain sampling otherwise (no top-k/top-p, as the trainers sample), stopping at the answer line."""
    kwargs = dict(max_new_tokens=max_new_tokens, do_sample=temperature > 0,
                  pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    if stop_at_answer:
        from transformers import StoppingCriteriaList

        kwargs["stopping_criteria"] = StoppingCriteriaList([answer_line_stopper(tokenizer, prompt_len)])
    if temperature > 0:
        kwargs.update(temperature=temperature, top_p=1.0, top_k=0)
    else:
        kwargs.update(temperature=None, top_p=None, top_k=None)
    return kwargs


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
    kwargs = _generate_kwargs(tokenizer, enc["input_ids"].shape[1], max_new_tokens=max_new_tokens,
                              temperature=temperature, stop_at_answer=stop_at_answer)
    with torch.no_grad(), fast_cpu_sampling():
        out = model.generate(**enc, **kwargs, num_return_sequences=num_return_sequences)
    new_tokens = out[:, enc["input_ids"].shape[1]:]
    texts = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
    if stop_at_answer:
        texts = [trim_after_answer(t) for t in texts]
    return [texts[i * num_return_sequences:(i + 1) * num_return_sequences] for i in range(len(prompts))]


def stream_text(model, tokenizer, prompt: str, *, max_new_tokens: int, temperature: float = 0.0,
                seed: int | None = None):
    """Yield one prompt's completion piece by piece as it is generated (the playground's server):
    the same settings as ``generate_texts``, so a streamed greedy reply equals the evaluated one.
    ``generate`` runs in a thread and hands decoded text over through transformers' streamer."""
    import threading

    import torch
    from transformers import TextIteratorStreamer

    if seed is not None:
        torch.manual_seed(seed)
    enc = tokenizer([prompt], return_tensors="pt", add_special_tokens=True).to(model.device)
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    kwargs = _generate_kwargs(tokenizer, enc["input_ids"].shape[1], max_new_tokens=max_new_tokens,
                              temperature=temperature, stop_at_answer=True)
    failure: list[BaseException] = []

    def run():
        try:
            with torch.no_grad(), fast_cpu_sampling():
                model.generate(**enc, **kwargs, streamer=streamer)
        except BaseException as err:  # handed to the reader, who raises it
            failure.append(err)
            streamer.end()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    yield from streamer
    worker.join()
    if failure:
        raise failure[0]
