"""Qt item models over project files (lazy: a cell is computed only when a view paints it)."""
