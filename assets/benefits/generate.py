"""Regenerate the benefits files beside this script: `python assets/benefits/generate.py [FOLDER]`.

The files are a pure function of the seed and counts in engine.demo.benefits, so running this
on an unchanged tree rewrites them byte for byte (a test checks it). FOLDER defaults to here.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a checkout, installed or not

from engine.demo.benefits import DEFAULT_SEED, DEFAULT_TEST, DEFAULT_TRAIN, generate, write_assets  # noqa: E402

if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    write_assets(folder, generate(DEFAULT_SEED, DEFAULT_TRAIN, DEFAULT_TEST))
    print(f"wrote {folder}/problems.jsonl, routes.jsonl, rulebook.md")
