"""``realm-engine``: every action of the studio as a command-line verb.

Exit codes: 0 ok; 2 a user error, shown as one line (no traceback); 1 an internal error, whose
traceback is saved under the project's ``logs/`` and whose path is printed. ``--json`` makes a
verb print its events (the events.jsonl schema) on stdout, one per line: that is how the GUI
follows short verbs; training runs are followed through their ``events.jsonl``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

from . import __version__
from .config import ANSWER_TYPES, EVAL_SPLITS, EXPORT_FORMATS, GGUF_QUANTS, IMPORT_FORMATS, RECIPES
from .errors import UserError
from .textfmt import EVAL_HEADER, REWARD_HEADER, duration, eval_row, reward_rows, table
from .events import (CHAT_REPLY, CONTROL_SENT, DETACHED, ERROR, EVAL_DONE, EXPORT_DONE, IMPORT_DONE, IMPORT_PREVIEW,
                     INIT_DONE, LOG, PREFLIGHT_DONE, PROGRESS, REWARDS_DONE, ROUTES_DONE, RUNS, SCHEMA_VERSION, SERVING, WARNING)


class Reporter:
    """Progress and results for one CLI call: JSON events (``--json``) or human lines on stderr."""

    def __init__(self, as_json: bool):
        self.as_json = as_json
        self._last = 0.0
        self._bar_open = False  # a progress bar drawn without its newline yet

    def event(self, type: str, **fields) -> None:
        if self.as_json:
            print(json.dumps({"v": SCHEMA_VERSION, "ts": round(time.time(), 3), "type": type, **fields}, default=str), flush=True)

    def info(self, message: str) -> None:
        if self.as_json:
            self.event(LOG, level="info", message=message)
        else:
            print(message, file=sys.stderr, flush=True)

    def progress(self, stage: str, done: int, total: int, eta_s: float | None = None) -> None:
        self.event(PROGRESS, stage=stage, step=done, total=total, eta_s=eta_s)
        if not self.as_json and (time.time() - self._last > 0.5 or done >= total):
            self._last = time.time()
            eta = f"  ETA {duration(eta_s)}" if eta_s is not None and done < total else ""
            bar = "#" * int(30 * done / max(total, 1))
            end = "\n" if done >= total else ""
            print(f"\r{stage:8s} [{bar:30s}] {done}/{total}{eta}   ", end=end, file=sys.stderr, flush=True)
            self._bar_open = not end

    def end_bar(self) -> None:
        """End an unfinished progress bar's line, so a message after it starts a line of its own."""
        if self._bar_open:
            print(file=sys.stderr, flush=True)
            self._bar_open = False


# ----------------------------------------------------------------------------- verbs


def cmd_init(args, rep: Reporter) -> int:
    from .project import init_project

    path = init_project(args.dir, name=args.name, model=args.model, answer_type=args.answer_type)
    rep.event(INIT_DONE, path=str(path))
    rep.info(f"created project {path} (edit {path / 'realm.toml'}, then `realm-engine import {path} FILE`)")
    return 0


def cmd_import(args, rep: Reporter) -> int:
    from .data.importers import import_problems, parse_mapping, undo_import
    from .project import DataLock, open_project

    project, cfg = open_project(args.dir)
    if args.undo:
        with DataLock(project, "import --undo"):
            return _undone(rep, IMPORT_DONE, "imported", "problems", "data/history/", *undo_import(project))
    if not args.file:
        raise UserError("import: give the FILE to import (or --undo)")
    mode = "append" if args.append else "replace"
    with contextlib.nullcontext() if args.dry_run else DataLock(project, "import"):
        report = import_problems(project, args.file, fmt=args.format, mapping=parse_mapping(args.map),
                                 answer_type=args.answer_type, test_fraction=args.test_fraction,
                                 skip_bad=args.skip_bad, seed=cfg.project.seed, dry_run=args.dry_run, mode=mode)
    rejected = [{"file": f, "row": r, "reason": why} for f, r, why in report.rejected]
    if args.dry_run:
        rep.event(IMPORT_PREVIEW, fmt=report.fmt, problems=[_problem_dict(p) for p in report.problems[:50]],
                  rejected=rejected[:200], counts={"ok": len(report.problems), "rejected": len(rejected),
                                                   "existing": report.existing, "clashes": report.clashes})
        if not rep.as_json:
            print(f"{report.fmt}: {len(report.problems)} problems would be imported, {len(rejected)} refused")
            for r in rejected[:20]:
                print(f"  {r['file']}:{r['row']}: {r['reason']}")
        return 0
    rep.event(IMPORT_DONE, imported=report.imported, train=report.train, test=report.test, rejected=rejected[:200],
              rejects_path=str(report.rejects_path) if report.rejects_path else None, mode=mode,
              existing=report.existing, kept=str(report.kept) if report.kept else None)
    if not rep.as_json:
        print(f"imported {report.imported} problems ({report.train} train, {report.test} test) from {args.file} [{report.fmt}]")
        if report.kept:
            how = "added to" if mode == "append" else "replaced"
            print(f"{how} the {report.existing} problems the project had (kept in {report.kept}; "
                  f"`realm-engine import {args.dir} --undo` puts them back)")
        if report.rejected:
            print(f"refused {len(report.rejected)} rows; see {report.rejects_path}")
    return 0


def _undone(rep: Reporter, event: str, field: str, what: str, history: str, before: int, after: int) -> int:
    """Report an ``--undo``: the table that came back, and where the one it replaced is kept."""
    rep.event(event, undo=True, before=before, **{field: after})
    rep.info(f"undone: the project has {after} {what} again (it had {before}; they are kept in {history})")
    return 0


def _problem_dict(p) -> dict:
    return {k: getattr(p, k) for k in ("id", "question", "answer", "answer_type", "choices", "rules", "split")}


def cmd_routes(args, rep: Reporter) -> int:
    from .project import DataLock, open_project
    from .routes.generate import generate_routes
    from .routes.store import undo_routes

    project, _ = open_project(args.dir)
    if args.undo:
        with DataLock(project, "routes --undo"):
            return _undone(rep, ROUTES_DONE, "routes", "routes", "routes/history/", *undo_routes(project))
    if not args.source:
        raise UserError("routes: give --source model:…, endpoint:… or file:… (or --undo)")
    stop = _stop_flag()  # SIGTERM/Ctrl-C: finish the batch, keep everything sampled, exit
    with DataLock(project, "routes"):
        summary = generate_routes(project, args.source, k=args.k, temperature=args.temperature,
                                  guided=True if args.guided else None, should_stop=stop.is_set, append=args.append,
                                  progress=lambda done, total, eta: rep.progress("routes", done, total, eta))
    fields = {k: getattr(summary, k) for k in ("problems", "routes", "positives", "negatives", "unparsed", "contrastive",
                                               "remaining")}
    rep.event(ROUTES_DONE, **fields)
    if not rep.as_json:
        print(table([[fields[k] for k in fields]], list(fields)))
    return 0


def _stop_flag():
    """An Event set by SIGTERM or Ctrl-C, so a long verb can end cleanly between batches."""
    import signal
    import threading

    flag = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: flag.set())
    return flag


def _detach(argv: list[str], project: Path, run: str, rep: Reporter) -> int:
    """Re-run this command (``argv``: the arguments ``main`` was given) in its own session, without
    ``--detach``: the run outlives the terminal or the GUI."""
    from .runs import RunFolder

    folder = RunFolder(project, run)
    folder.path.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "engine", *[a for a in argv if a != "--detach"]]
    if "--run" not in cmd:
        cmd += ["--run", run]
    with open(folder.engine_log, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=os.getcwd())
    rep.event(DETACHED, run=run, pid=proc.pid)
    if not rep.as_json:
        print(f"run {run} started in the background (pid {proc.pid}); follow it with "
              f"`realm-engine runs {shlex.quote(str(project))}`")
    return 0


def cmd_train(args, rep: Reporter) -> int:
    from .project import open_project
    from .runs import check_run_name

    project, _ = open_project(args.dir)
    run = check_run_name(args.run or f"{args.recipe}-{time.strftime('%Y%m%d-%H%M%S')}")
    from .launch import train

    settings = dict(overrides=args.set or [], max_steps=args.max_steps, launcher=args.launcher,
                    num_processes=args.num_processes, accelerate_config=args.accelerate_config, origin=args.origin)
    if args.detach:  # refused here, in one line to the caller, before the run's folder (and log) exist
        train(project, args.recipe, run, check_only=True, **settings)
        return _detach(args.argv, project, run, rep)
    since = _log_end(project, run)
    state = train(project, args.recipe, run, echo=rep.as_json, on_warning=lambda line: rep.info(f"warning: {line}"),
                  **settings)
    return _run_ended(project, run, state, since, rep)


def cmd_resume(args, rep: Reporter) -> int:
    from .project import open_project

    project, _ = open_project(args.dir)
    if args.detach:
        return _detach(args.argv, project, args.run, rep)
    from .launch import resume

    since = _log_end(project, args.run)
    state = resume(project, args.run, echo=rep.as_json)
    return _run_ended(project, args.run, state, since, rep)


def _log_end(project: Path, run_name: str):
    """A reader of what the run logs from now on (across rotations of its log)."""
    from .events import EventTailer
    from .runs import RunFolder

    return EventTailer.at_end(RunFolder(project, run_name).events)


def _run_ended(project: Path, run_name: str, state: str, since, rep: Reporter) -> int:
    """Exit code of a train/resume; in human mode, first the warnings and errors this launch
    logged (``since``: a tailer from before it started; with --json they were already printed as
    events) and where the run stands."""
    from .runs import RunFolder

    run = RunFolder(project, run_name)
    if not rep.as_json:
        rep.end_bar()
        for event in since.drain():
            if event["type"] in (WARNING, ERROR):
                rep.info(f"{event['type']}: {event['message']}")
        rep.info(f"run {run_name}: {state} ({run.path})")
    return 0 if state in ("finished", "paused") else (130 if state == "cancelled" else 1)


def cmd_control(args, rep: Reporter) -> int:
    from .project import open_project
    from .runs import RunFolder

    project, _ = open_project(args.dir)
    run = RunFolder(project, args.run)
    if not run.exists():
        raise UserError(f"run {args.run!r}: no such run in {run.path.parent}")
    status = run.read_status()
    if status["state"] not in ("running", "queued", "stopping"):
        raise UserError(f"run {args.run!r} is not running (state: {status['state']})")
    run.request(args.verb)
    rep.event(CONTROL_SENT, run=args.run, action=args.verb)
    if not rep.as_json:
        print(f"{args.verb} requested for run {args.run} (engine pid {status.get('pid')})")
    return 0


def cmd_eval(args, rep: Reporter) -> int:
    from .project import open_project
    from .stages.evaluate import evaluate

    project, _ = open_project(args.dir)
    if args.like and not args.base:
        raise UserError("eval --like RUN goes with --base: it evaluates the base model with RUN's settings")
    overrides = [*(args.set or []), *([f"eval.max_problems={args.max_problems}"] if args.max_problems is not None else []),
                 *([f"eval.split={args.split}"] if args.split else [])]
    summary = evaluate(project, run=None if args.base else args.run, overrides=overrides, like=args.like,
                       progress=lambda done, total, eta: rep.progress("eval", done, total, eta),
                       on_warning=lambda line: rep.info(f"warning: {line}"))
    rep.event(EVAL_DONE, **summary)
    if not rep.as_json:
        print(table([eval_row(summary)], EVAL_HEADER))
    return 0


def cmd_export(args, rep: Reporter) -> int:
    from .project import open_project
    from .stages.export import export_run

    project, _ = open_project(args.dir)
    if args.format == "gguf":
        return _export_gguf(project, args, rep)
    result = export_run(project, args.run, Path(args.out), adapter_only=args.adapter_only,
                        progress=lambda done, total, eta: rep.progress("export", done, total, eta))
    rep.event(EXPORT_DONE, **result)
    if not rep.as_json:
        verdict = "verified" if result["verified"] else "VERIFICATION FAILED"
        print(f"exported {args.run} to {result['path']} ({verdict}: {result['rescore']['agree']}/"
              f"{result['rescore']['total']} re-scored answers agree)")
    return 0 if result["verified"] else 1


def _export_gguf(project: Path, args, rep: Reporter) -> int:
    from .stages.gguf import export_gguf

    if args.adapter_only:
        raise UserError("--adapter-only: a GGUF file holds merged weights; leave out --adapter-only or --format gguf")
    result = export_gguf(project, args.run, Path(args.out), quant=args.quant, verify_problems=args.verify_problems,
                         progress=lambda done, total, eta: rep.progress("export", done, total, eta))
    rep.event(EXPORT_DONE, **result)
    if not rep.as_json:
        a = result["agreement"]
        verdict = "verified" if result["verified"] else "VERIFICATION FAILED"
        print(f"exported {args.run} to {Path(result['path']) / result['file']} ({verdict}: on {a['total']} held-out "
              f"problems {a['answers_agree']} final answers and {a['texts_agree']} whole replies agree with the "
              f"safetensors model); Ollama: {Path(result['path']) / 'Modelfile'}")
    return 0 if result["verified"] else 1


def cmd_rewards(args, rep: Reporter) -> int:
    from .project import open_project, reward_bench_path
    from .stages.reward_bench import bench_rewards

    project, _ = open_project(args.dir)
    result = bench_rewards(project, samples=args.samples, model=args.model, max_routes=args.max_routes,
                           progress=lambda done, total, eta: rep.progress("rewards", done, total, eta))
    rep.event(REWARDS_DONE, **result)
    for warning in result["warnings"]:
        rep.event(WARNING, message=warning)
    if not rep.as_json:
        rep.end_bar()
        print(table(reward_rows(result), REWARD_HEADER))
        for warning in result["warnings"]:
            print(f"warning: {warning}")
        print(f"(written to {reward_bench_path(project)})")
    return 0


def cmd_preflight(args, rep: Reporter) -> int:
    from .project import open_project
    from .stages.preflight import preflight

    project, _ = open_project(args.dir)
    overrides = [*(args.set or []), *([f"rl.max_steps={args.max_steps}"] if args.max_steps else [])]
    result = preflight(project, args.recipe, overrides,
                       progress=lambda done, total, eta: rep.progress("preflight", done, total, eta))
    rep.event(PREFLIGHT_DONE, **result)
    if not rep.as_json:
        rep.end_bar()
        rows = [[r["stage"], "-" if r["seconds_per_step"] is None else f"{r['seconds_per_step']:.1f}", r["steps"],
                 "-" if r["seconds_per_step"] is None else duration(r["seconds_per_step"] * r["steps"]),
                 f"{r['peak_gib']:.2f} of {result['device_memory_gib']:.1f}", "yes" if r["fits"] else "NO"]
                for r in result["stages"]]
        print(table(rows, ["stage", "s/step (worst case)", "steps", "stage time", f"peak GiB ({result['device']})", "fits"]))
        print(f"ETA for the whole run: {duration(result['eta_s'])} (at most)" if result["eta_s"] is not None
              else "will not fit as set:")
        for warning in result["warnings"]:
            print(f"warning: {warning}")
    return 0 if not result["warnings"] else 1


def cmd_runs(args, rep: Reporter) -> int:
    from .project import open_project
    from .runs import list_runs

    project, _ = open_project(args.dir)
    runs = list_runs(project)
    if rep.as_json:
        rep.event(RUNS, runs=runs)
        return 0
    if not runs:
        print(f"no runs yet in {project} (start one with `realm-engine train {project} --recipe realm-r1`)")
        return 0
    print(table([[r["name"], r.get("state"), r.get("recipe", ""), r.get("stage", ""),
                   f"{r.get('step', 0)}/{r.get('total_steps', '?')}", (r["checkpoints"] or ["-"])[-1]] for r in runs],
                 ["run", "state", "recipe", "stage", "step", "last checkpoint"]))
    return 0


def cmd_serve(args, rep: Reporter) -> int:
    import signal

    from .project import open_project
    from .stages.serve import start_server

    project, _ = open_project(args.dir)
    server = start_server(project, args.model, host=args.host, port=args.port)
    stop = lambda *_: threading.Thread(target=server.shutdown, daemon=True).start()  # noqa: E731
    signal.signal(signal.SIGTERM, stop)
    if args.exit_with_parent:
        _exit_with_parent(stop)
    rep.event(SERVING, url=server.url, model=server.label, pid=os.getpid())
    rep.info(f"serving {server.label} at {server.url} (OpenAI-compatible; Ctrl-C stops it)")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        server.bench.close()
    return 0


def cmd_tensorboard(args, rep: Reporter) -> int:
    from .project import open_project, run_folder, runs_dir
    from .stages.trackers import launch_tensorboard, tensorboard_dir

    project, _ = open_project(args.dir)
    logdir = tensorboard_dir(run_folder(project, args.run)) if args.run else runs_dir(project)
    stop = _stop_flag()
    url = launch_tensorboard(logdir, args.port)
    if args.exit_with_parent:
        _exit_with_parent(lambda: stop.set())
    rep.event(SERVING, url=url, model="tensorboard", pid=os.getpid())
    rep.info(f"TensorBoard on {logdir} at {url} (Ctrl-C stops it)")
    while not stop.wait(0.5):
        pass
    return 0


def _exit_with_parent(stop) -> None:
    """Call ``stop`` once the process that started us is gone (we are then re-parented), so a
    GUI killed outright leaves no server behind."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        stop()

    threading.Thread(target=watch, daemon=True).start()


def cmd_chat(args, rep: Reporter) -> int:
    from .project import open_project
    from .stages.serve import stream_reply

    project, _ = open_project(args.dir)
    server, url = _start_model_server(project, args.model, rep)
    try:
        texts = [args.prompt] if args.prompt else []
        if args.problem:
            texts = [_fetch_json(f"{url.removesuffix('/v1')}/realm/prompt?problem_id={args.problem}"
                                 f"&routes={int(args.routes)}")["user_text"]]
            if not rep.as_json:
                print(texts[0] + "\n", flush=True)
        interactive = not texts
        while True:
            if interactive:
                try:
                    line = input("> ")
                except EOFError:
                    break
                if not line.strip():
                    break
                texts = [line]
            if not texts:
                break
            reply, final = "", {}
            for piece in stream_reply(url, texts.pop(0), temperature=args.temperature, max_tokens=args.max_tokens,
                                      seed=args.seed, problem_id=args.problem):
                if isinstance(piece, dict):
                    final = piece
                    continue
                reply += piece
                if not rep.as_json:
                    print(piece, end="", flush=True)
            verdict = (final.get("realm") or {}).get("verdict")
            rep.event(CHAT_REPLY, model=final.get("model"), text=reply, verdict=verdict)
            if not rep.as_json:
                print()
                if verdict:
                    print(f"[{verdict['label']}: answer {verdict['extracted']!r}, gold {verdict['gold']!r}]", flush=True)
            if not interactive:
                break
    finally:
        server.terminate()
        server.wait(30)
    return 0


def _start_model_server(project: Path, model: str, rep: Reporter):
    """``realm-engine serve`` as a child process (ended with us); returns (process, its /v1 url)."""
    from .events import parse_line

    cmd = [sys.executable, "-m", "engine", "serve", str(project), "--model", model, "--port", "0", "--json",
           "--exit-with-parent"]
    rep.info(f"loading {model} …")
    errors = tempfile.TemporaryFile("w+")  # a file, not a pipe: a chatty loader never blocks on a full pipe
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        event = parse_line(line)
        if event and event["type"] == SERVING:
            return proc, event["url"]
        if event and event["type"] == ERROR:
            proc.wait(30)
            raise UserError(event["message"])
    proc.wait(30)
    errors.seek(0)
    last = (errors.read().strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
    raise UserError(f"the model server did not start: {last}")


def _fetch_json(url: str) -> dict:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as err:
        raise UserError(json.loads(err.read()).get("error", {}).get("message", f"HTTP {err.code}")) from None


def cmd_demo(args, rep: Reporter) -> int:
    from .demo.run import run_demo

    result = run_demo(Path(args.dir) if args.dir else None, size="quick" if args.quick else args.size,
                      domain=args.domain, reporter=rep, rl_steps=args.max_steps)
    return 0 if "after" in result else 1


# ----------------------------------------------------------------------------- parser


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors on one line, like every other refusal (its own print the
    whole usage first)."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="realm-engine", description="ReaLM Studio engine: import data, sample reasoning "
                                "routes, train with MRPV + EAAI, evaluate and export.")
    p.add_argument("--version", action="version", version=f"realm-engine {__version__}")
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name, help, func):
        sp = sub.add_parser(name, help=help, description=help)
        sp.add_argument("--json", action="store_true", help="print events as JSON lines on stdout")
        sp.set_defaults(func=func)
        return sp

    sp = verb("init", "create a project folder with a default realm.toml", cmd_init)
    sp.add_argument("dir")
    sp.add_argument("--name")
    sp.add_argument("--model", help="HF hub id or local folder (default: the bundled Gemma 3 270M)")
    sp.add_argument("--answer-type", choices=ANSWER_TYPES)

    sp = verb("import", "import problems into data/problems.parquet", cmd_import)
    sp.add_argument("dir")
    sp.add_argument("file", nargs="?", help="jsonl, csv, parquet, a BIG-bench task.json, an HF datasets folder or hub id")
    sp.add_argument("--format", default="auto", choices=("auto", *IMPORT_FORMATS))
    sp.add_argument("--map", help="column mapping, e.g. question=prompt,answer=label,choices=options")
    sp.add_argument("--answer-type", choices=ANSWER_TYPES)
    sp.add_argument("--test-fraction", type=float)
    sp.add_argument("--skip-bad", action="store_true", help="import the good rows, report the bad ones")
    sp.add_argument("--dry-run", action="store_true", help="parse and report, write nothing")
    mode = sp.add_mutually_exclusive_group()
    mode.add_argument("--replace", action="store_true",
                      help="the file's problems replace the project's (the default; the old table is kept in data/history/)")
    mode.add_argument("--append", action="store_true", help="add the file's problems to the project's (new ids only)")
    mode.add_argument("--undo", action="store_true", help="put back the problem table the last import replaced")

    sp = verb("routes", "sample and label reasoning routes into routes/routes.parquet", cmd_routes)
    sp.add_argument("dir")
    sp.add_argument("--source", help="model:<hf-id-or-path> | endpoint:<url> | file:<routes.jsonl>")
    sp.add_argument("--k", type=int)
    sp.add_argument("--temperature", type=float)
    sp.add_argument("--guided", action="store_true", help="put the rules in the prompt (teacher-guided routes)")
    sp.add_argument("--append", action="store_true",
                    help="file sources: add to the routes imported from this file before, instead of replacing them")
    sp.add_argument("--undo", action="store_true", help="put back the route table the last routes import replaced")

    for name, help, func in (("train", "start a training run", cmd_train), ("resume", "resume a stopped or killed run", cmd_resume)):
        sp = verb(name, help, func)
        sp.add_argument("dir")
        if name == "train":
            sp.add_argument("--recipe", required=True, choices=RECIPES)
            sp.add_argument("--run", help="run name (default: <recipe>-<date>-<time>)")
            sp.add_argument("--max-steps", type=int, help="RL steps (shortcut for --set rl.max_steps=N)")
            sp.add_argument("--from", dest="origin", metavar="RUN:STAGE",
                            help="start from another run's finished stage (e.g. base:distill): this run trains only "
                                 "the recipe's later stages, so variants branch from the same model")
            sp.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key, e.g. rl.beta=0.02")
            sp.add_argument("--launcher", default="python", choices=("python", "accelerate"))
            sp.add_argument("--num-processes", type=int, default=1)
            sp.add_argument("--accelerate-config", help="accelerate config file (see assets/accelerate/)")
        else:
            sp.add_argument("--run", required=True)
        sp.add_argument("--detach", action="store_true", help="run in the background, outliving this terminal")

    for name, help in (("stop", "checkpoint, then end a run"), ("cancel", "end a run now, keeping its last checkpoint")):
        sp = verb(name, help, cmd_control)
        sp.add_argument("dir")
        sp.add_argument("--run", required=True)

    sp = verb("eval", "evaluate on the held-out split (with and without routes)", cmd_eval)
    sp.add_argument("dir")
    who = sp.add_mutually_exclusive_group(required=True)
    who.add_argument("--run")
    who.add_argument("--base", action="store_true", help="evaluate the untrained base model")
    sp.add_argument("--like", metavar="RUN", help="with --base: use exactly RUN's settings (model, problems, budget), "
                    "so the two evaluations compare problem by problem")
    sp.add_argument("--set", action="append", metavar="KEY=VALUE", help="override an eval.* key or fade.k_show, "
                    "e.g. eval.max_new_tokens=300")
    sp.add_argument("--max-problems", type=int, help="evaluate at most N problems (shortcut for --set eval.max_problems=N)")
    sp.add_argument("--split", choices=EVAL_SPLITS, help="which problems: test (default), train or all")

    sp = verb("export", "export a run's model (merged safetensors, or the adapter)", cmd_export)
    sp.add_argument("dir")
    sp.add_argument("--run", required=True)
    sp.add_argument("--out", required=True)
    sp.add_argument("--adapter-only", action="store_true")
    sp.add_argument("--format", default="safetensors", choices=EXPORT_FORMATS,
                    help="gguf: one GGUF file for llama.cpp and an Ollama Modelfile")
    sp.add_argument("--quant", default="q8_0", choices=GGUF_QUANTS, help="GGUF weights (with --format gguf)")
    sp.add_argument("--verify-problems", type=int, default=4,
                    help="held-out problems on which the GGUF's answers are compared with the safetensors model's")

    sp = verb("preflight", "one dry step per stage at its worst case: seconds per step, peak memory, ETA", cmd_preflight)
    sp.add_argument("dir")
    sp.add_argument("--recipe", required=True, choices=RECIPES)
    sp.add_argument("--max-steps", type=int, help="RL steps (as train's --max-steps)")
    sp.add_argument("--set", action="append", metavar="KEY=VALUE", help="the settings the run will use, as train's --set")

    sp = verb("rewards", "test the reward functions on the stored routes (and fresh samples) before training", cmd_rewards)
    sp.add_argument("dir")
    sp.add_argument("--samples", type=int, default=0, help="also score N fresh completions of --model")
    sp.add_argument("--model", default="base", help="base | run:NAME | export:NAME | gguf:PATH (with --samples)")
    sp.add_argument("--max-routes", type=int, default=2000, help="score at most this many stored routes (a seeded sample)")

    sp = verb("runs", "list a project's runs and their state", cmd_runs)
    sp.add_argument("dir")

    sp = verb("serve", "serve a model over an OpenAI-compatible HTTP API (the playground's backend)", cmd_serve)
    sp.add_argument("dir")
    sp.add_argument("--model", default="base", help="base | run:NAME | export:NAME | gguf:PATH")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8000, help="0: any free port (printed when ready)")
    sp.add_argument("--exit-with-parent", action="store_true", help="stop when the process that started it ends")

    sp = verb("tensorboard", "show the runs' TensorBoard logs (train.report_to = tensorboard)", cmd_tensorboard)
    sp.add_argument("dir")
    sp.add_argument("--run", help="one run (default: every run of the project)")
    sp.add_argument("--port", type=int, default=0, help="0: any free port (printed when ready)")
    sp.add_argument("--exit-with-parent", action="store_true", help="stop when the process that started it ends")

    sp = verb("chat", "chat with a model in the terminal (a held-out problem, with or without its routes)", cmd_chat)
    sp.add_argument("dir")
    sp.add_argument("--model", default="base", help="base | run:NAME | export:NAME | gguf:PATH")
    sp.add_argument("--problem", help="ask this held-out problem (its student prompt) and show the verifier's verdict")
    sp.add_argument("--routes", action="store_true", help="with --problem: show its candidate routes (the MRPV prompt)")
    sp.add_argument("--prompt", help="ask this once and exit (default: read prompts from the terminal)")
    sp.add_argument("--temperature", type=float, default=0.0, help="0: greedy")
    sp.add_argument("--max-tokens", type=int, default=256)
    sp.add_argument("--seed", type=int)

    sp = verb("demo", "create the demo project, train, evaluate and print a before/after table", cmd_demo)
    sp.add_argument("--dir", help="where to create the demo project (default: ./realm-demo)")
    sp.add_argument("--size", choices=("quick", "medium", "full"), default="full",
                    help="quick: ~15 min on a 2-core CPU; medium: ~30 min on a 2-core CPU; full: wants a GPU")
    sp.add_argument("--quick", action="store_true", help="the same as --size quick")
    sp.add_argument("--domain", choices=("parcels", "benefits"), default="parcels",
                    help="parcels: Northwind Parcel fees (numbers); benefits: Harbor City housing benefit (multiple choice)")
    sp.add_argument("--max-steps", type=int, default=None, metavar="N",
                    help="RL steps instead of the size's own (a shorter demo; the table says how many ran)")
    return p


def _save_traceback(args) -> Path:
    """The traceback in the project's logs/ (the cache's, outside a project); returns its path."""
    from .project import crash_logs_dir

    folder = crash_logs_dir(getattr(args, "dir", None) or ".")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
    path.write_text(f"realm-engine {__version__}\nargv: {args.argv}\n\n{traceback.format_exc()}", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what --detach re-runs, and a crash log records
    rep = Reporter(args.json)
    try:
        return args.func(args, rep)
    except UserError as err:
        rep.end_bar()
        rep.event(ERROR, message=str(err))
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # our bug: keep the evidence, show one line
        rep.end_bar()
        path = _save_traceback(args)
        rep.event(ERROR, message=f"internal error: {type(err).__name__}: {err}", traceback_path=str(path))
        print(f"internal error: {type(err).__name__}: {str(err)[:300]}\ntraceback saved to {path}", file=sys.stderr)
        return 1
