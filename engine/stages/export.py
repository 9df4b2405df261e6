"""Export a run's model: merged safetensors (or the adapters) + tokenizer + model card, verified.

The export is built in a temp folder beside the destination and renamed into place, so a kill
never leaves half an export. It is then reloaded from disk and re-scored on held-out problems
against the in-memory model: an export that answers differently is reported as unverified.
Local paths never leak into it (config ``_name_or_path`` and the card use plain names).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from ..errors import DiskFull, UserError, first_line
from ..fsutil import ensure_free_space, file_digest, folder_bytes, is_disk_full
from ..method.fade import curve
from ..method.prompts import student_user_text
from ..project import EVAL_SUMMARY, problems_path
from ..runs import COMPLETE, RunFolder, finished_run, pid_alive
from ..textfmt import EVAL_HEADER, eval_row

VERIFY_PROBLEMS = 4
VERIFY_TOKENS = 32


def _public_name(name: str) -> str:
    """A model name safe to publish: a hub id as is, a local folder by its last part only."""
    return Path(name).name if (os.sep in name and Path(name).expanduser().exists()) or name.startswith(("/", "~", ".")) else name


def model_card(run: RunFolder, recipe: str, cfg, data_digest: str) -> str:
    xs, ys = curve(cfg.fade, n=11)
    fade_rows = "\n".join(f"| {x:.1f} | {y:.3f} |" for x, y in zip(xs, ys))
    eval_table = "not evaluated (run `realm-engine eval --run NAME` before exporting)"
    summary_path = run.eval_dir / EVAL_SUMMARY
    if summary_path.exists():
        s = json.loads(summary_path.read_text(encoding="utf-8"))
        eval_table = ("| " + " | ".join(EVAL_HEADER) + " |\n|" + "---|" * len(EVAL_HEADER) + "\n"
                      "| " + " | ".join(str(cell) for cell in eval_row(s)) + " |")
    return f"""# {run.name}

Trained with [ReaLM Studio](https://arxiv.org/abs/2508.12387) — recipe **{recipe}**.

- base model: `{_public_name(cfg.model.name)}`
- fine-tuning: {"LoRA r=%d (merged)" % cfg.model.lora_r if cfg.model.lora else "full"}
- RL steps: {cfg.rl.max_steps}, group size {cfg.rl.num_generations}, beta {cfg.rl.beta}
- data digest (problems.parquet, sha256/16): `{data_digest}`
- exported: {time.strftime('%Y-%m-%d')}

## EAAI fade curve ({cfg.fade.schedule})
| training progress | p(routes shown) |
|---|---|
{fade_rows}

## Evaluation
{eval_table}

Prompt format: the question, then reasoning, ending with a line `Answer: <final answer>`.
"""


def export_run(project: Path, run_name: str, out: Path, *, adapter_only: bool = False, progress=None) -> dict:
    from ..data.problems import read_problems
    from ..hf.generation import generate_texts
    from ..hf.models import SAVE_SLACK_BYTES, load_model, load_tokenizer, render_prompt, weights_bytes
    from ..hf.trained import load_chain, load_trained

    project, out = Path(project), Path(out)
    run, recipe, cfg, chain = finished_run(project, run_name, "export")
    if adapter_only and not all((c / "adapter_config.json").exists() for c in chain):
        raise UserError("--adapter-only: this run trained all weights (model.lora = false); export it merged")
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out}: exists and is not empty", hint="choose a new --out folder")
    step = lambda i, n=5: progress(i, n, None) if progress else None  # noqa: E731

    model, tokenizer, path, device = load_trained(cfg, chain)
    step(1)
    needed = sum(map(folder_bytes, chain)) if adapter_only else weights_bytes(model) + SAVE_SLACK_BYTES
    ensure_free_space(out.parent, needed, f"exporting {run_name}", hint="free some space there, or choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    with staging(out, f"while exporting {run_name}", hint="free some space there, or choose another --out") as tmp:
        if adapter_only:
            for final in chain:
                shutil.copytree(final, tmp / f"adapter-{final.parent.name}",
                                ignore=shutil.ignore_patterns(COMPLETE, "tokenizer*", "special_tokens_map.json", "chat_template*"))
        else:
            model.config._name_or_path = _public_name(cfg.model.name)
            model.save_pretrained(tmp, safe_serialization=True)
            model.generation_config.save_pretrained(tmp)
        tokenizer.name_or_path = _public_name(cfg.model.name)
        tokenizer.save_pretrained(tmp)
        (tmp / "README.md").write_text(model_card(run, recipe, cfg, file_digest(problems_path(project))), encoding="utf-8")
        _scrub_paths(tmp, [str(project.resolve()), str(Path.home()), str(Path(path).resolve())])
        step(2)
        publish(tmp, out)
    step(3)

    # reload from disk and re-score against the in-memory model
    test = [p for p in read_problems(problems_path(project)) if p.split == "test"][:VERIFY_PROBLEMS]
    prompts = [render_prompt(tokenizer, student_user_text(p.question, p.choices), cfg.model.prompt_format) for p in test]
    before = [o[0] for o in generate_texts(model, tokenizer, prompts, max_new_tokens=VERIFY_TOKENS)]
    del model
    if adapter_only:
        reloaded = load_model(cfg.model, path, device=device)
        reloaded = load_chain(reloaded, [out / f"adapter-{final.parent.name}" for final in chain])
    else:
        reloaded = load_model(cfg.model, str(out), device=device)
    after = [o[0] for o in generate_texts(reloaded, load_tokenizer(cfg.model, str(out)), prompts, max_new_tokens=VERIFY_TOKENS)]
    step(5)
    agree = sum(a == b for a, b in zip(before, after))
    return {"path": str(out), "adapter_only": adapter_only, "verified": agree == len(test),
            "rescore": {"agree": agree, "total": len(test)}, "files": sorted(p.name for p in out.iterdir())}


@contextmanager
def staging(out: Path, doing: str, hint: str):
    """A temp folder beside ``out`` to write an export into (then ``publish`` it), removed whatever
    happens; a disk that fills up meanwhile becomes one line: "<folder>: the disk filled up <doing>"."""
    tmp = _partial_folder(out)
    try:
        yield tmp
    except Exception as err:
        if is_disk_full(err):
            raise DiskFull(f"{out.parent}: the disk filled up {doing} ({first_line(err)})", hint=hint) from None
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _partial_folder(out: Path) -> Path:
    """A fresh temp folder beside ``out``, named by our pid; those of dead exports are removed first
    (a kill -9 mid-export leaves one behind, and a real model's is gigabytes)."""
    for stale in out.parent.glob(f".{out.name}.*.partial"):
        pid = stale.name[len(out.name) + 2:].split(".")[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    tmp = out.parent / f".{out.name}.{os.getpid()}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    return tmp


def publish(tmp: Path, out: Path) -> None:
    """Give the finished export in ``tmp`` shareable permissions and rename it to ``out`` in one step."""
    _normal_permissions(tmp)
    if out.exists():
        out.rmdir()  # empty: checked before the export started
    os.replace(tmp, out)


def _normal_permissions(folder: Path) -> None:
    """Some writers make 0600 files: an export is meant to be shared."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for item in folder.rglob("*"):
        item.chmod((0o777 if item.is_dir() else 0o666) & ~umask)


def _scrub_paths(folder: Path, paths: list[str]) -> None:
    """Remove local absolute paths (and so user names) from the export's text files."""
    for file in folder.rglob("*"):
        if file.suffix in (".json", ".md", ".txt", ".jinja") and file.is_file():
            text = file.read_text(encoding="utf-8", errors="replace")
            cleaned = text
            for p in sorted(set(paths), key=len, reverse=True):
                if len(p) > 1:
                    cleaned = cleaned.replace(p, Path(p).name)
            if cleaned != text:
                file.write_text(cleaned, encoding="utf-8")
