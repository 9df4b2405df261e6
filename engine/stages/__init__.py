"""Training and evaluation stages (torch, transformers, peft, trl). Imported lazily by the CLI."""
