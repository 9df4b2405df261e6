"""A tiny, local, real causal LM for tests: a byte-level BPE tokenizer trained on a few
sentences and a 2-layer Qwen2 model with random weights. Built in well under a second and
saved as an ordinary HF folder, so every real loading path (``from_pretrained``) is exercised.
"""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "Question: What is the shipping fee for a 3 kg parcel? Answer: 12",
    "Check each candidate step by step. Candidate 1 is wrong at step 2. Answer: B",
    "The rule says parcels over 2 kg pay 4 per kg. 3 * 4 = 12. Answer: 12",
    "Reasoning: first apply the base fee, then the surcharge. Answer: 7.5",
    "A B C D E 0 1 2 3 4 5 6 7 8 9 + - * / = . , : ; ( ) kg EUR % fee tax rule step",
]

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def make_tiny_model(path: str | Path, *, chat_template: bool = False, seed: int = 0,
                    hidden_size: int = 32, num_hidden_layers: int = 2) -> Path:
    """The tiny model at ``path``; the benchmarks pass a bigger shape so a step is not all Python."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    specials = ["<|pad|>", "<|endoftext|>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS * 4, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<|pad|>", eos_token="<|endoftext|>")
    if chat_template:
        fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(path)

    torch.manual_seed(seed)
    cfg = Qwen2Config(vocab_size=len(fast), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                      num_hidden_layers=num_hidden_layers,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                      tie_word_embeddings=True, pad_token_id=fast.pad_token_id,
                      eos_token_id=fast.eos_token_id, bos_token_id=None)
    model = Qwen2ForCausalLM(cfg)
    model.generation_config.pad_token_id = fast.pad_token_id
    model.generation_config.eos_token_id = fast.eos_token_id
    model.save_pretrained(path)
    return path


def make_tiny_llama(path: str | Path, *, seed: int = 0) -> Path:
    """A tiny Llama with a SentencePiece tokenizer: a model llama.cpp's converter knows how to turn
    into GGUF (a custom BPE tokenizer, as ``make_tiny_model`` trains, is refused by its vocabulary check)."""
    import io

    import sentencepiece as spm
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaTokenizer

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(CORPUS * 4), model_writer=buf, vocab_size=400,
                                   model_type="bpe", character_coverage=1.0, byte_fallback=True, unk_id=0, bos_id=1,
                                   eos_id=2, pad_id=3, hard_vocab_limit=False, minloglevel=2)
    (path / "tokenizer.model").write_bytes(buf.getvalue())
    tokenizer = LlamaTokenizer.from_pretrained(str(path))
    tokenizer.pad_token = "<pad>"
    tokenizer.save_pretrained(path)
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                      tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=3)
    LlamaForCausalLM(cfg).save_pretrained(path)
    return path
