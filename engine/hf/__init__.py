"""Hugging Face models in and text out: loading, device and dtype, prompts, generation.

Route sampling (``routes``), training (``stages``), evaluation and export all load and prompt a
model the same way, so that code sits here, below both: ``routes`` and ``stages`` import it,
it imports neither (nor anything above ``method``). It needs torch and transformers, always
imported inside the functions that use them, so importing this package stays cheap.
"""
