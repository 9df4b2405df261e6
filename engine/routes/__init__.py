"""Reasoning routes: sources (model, endpoint, file), labelling, and ``routes/routes.parquet``."""
