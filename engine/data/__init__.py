"""Problems: the canonical table every stage reads, and the importers that fill it."""
