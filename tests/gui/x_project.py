"""The project the real-X scenarios work on: the bundled demo's problems, its routes file beside
them (imported by the user on the Routes page, or already, for screenshots), the tiny model, and
settings that make every engine verb take seconds.

``python tests/gui/x_project.py FOLDER [--with-routes]`` makes one (with the tiny model inside).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.config import load_config, save_config  # noqa: E402
from engine.data.importers import import_problems  # noqa: E402
from engine.project import DEMO_DIR, init_project  # noqa: E402

SETTINGS = {
    "model.device": "cpu", "distill.max_steps": 6, "distill.batch_size": 2, "distill.max_length": 512,
    "distill.save_steps": 2, "rl.max_steps": 30, "rl.num_generations": 2, "rl.prompts_per_step": 2,
    "rl.max_completion_length": 16, "rl.save_steps": 2, "rl.learning_rate": 1e-3, "fade.k_show": 1,
    "eval.max_problems": 4, "eval.max_new_tokens": 16, "eval.batch_size": 4, "data.rulebook": "",
}


def make_x_project(folder: Path, model_dir: Path, *, with_routes: bool = False) -> Path:
    init_project(folder, name="northwind-x", model=str(model_dir), answer_type="number")
    cfg = load_config(folder)
    for key, value in SETTINGS.items():
        section, name = key.split(".")
        setattr(getattr(cfg, section), name, value)
    save_config(folder, cfg)
    import_problems(folder, str(DEMO_DIR / "problems.jsonl"))
    shutil.copy(DEMO_DIR / "routes.jsonl", folder / "routes.jsonl")
    if with_routes:
        from engine.routes.generate import generate_routes

        generate_routes(folder, f"file:{folder / 'routes.jsonl'}")
    return folder.resolve()


if __name__ == "__main__":
    from tiny_model import make_tiny_model

    target = Path(sys.argv[1])
    print(make_x_project(target / "proj", make_tiny_model(target / "model"), with_routes="--with-routes" in sys.argv))
