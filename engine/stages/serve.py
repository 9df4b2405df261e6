"""``realm-engine serve``: one model behind an OpenAI-compatible HTTP server (the playground's backend).

The GUI never loads a model (it never imports torch): it starts this server as a child process
and talks HTTP to it, as any OpenAI client would. ``realm-engine chat`` does the same in a terminal.

- Models: ``base`` (the project's model), ``run:NAME`` (the run's newest weights: its final
  result, or its newest complete checkpoint while it trains), ``export:NAME`` (an export folder:
  its safetensors, or its one GGUF file) and ``gguf:PATH``. Hugging Face weights run on
  transformers, GGUF files on llama.cpp (llama-cpp-python), behind the same endpoints.
- ``POST /v1/chat/completions`` renders the last user message exactly as the engine renders a
  training prompt (the model's chat template, or the plain prompt; ``docs/METHOD.md`` §2): the
  method trains single-turn prompts, so earlier turns are not part of the prompt.
  ``POST /v1/completions`` takes an already rendered prompt. Both stream (``"stream": true``,
  server-sent events), stop at the answer line like evaluation, are greedy at temperature 0, and
  take ``seed``.
- Playground extras: ``GET /realm/prompt?problem_id=ID&routes=1`` gives a held-out problem's
  user text, with the candidate routes evaluation shows it when ``routes=1``; a chat request
  carrying ``"realm": {"problem_id": ID}`` ends with the verifier's verdict on the reply (the
  project's verifier, a Python one included, runs here in the engine, never in the GUI).

Requests are served one at a time (one model, one generation). The server stops on SIGTERM or
Ctrl-C, and with ``exit_with_parent`` when the process that started it is gone, so a GUI killed
outright leaves no model server behind.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from ..config import Config, load_config
from ..errors import UserError
from ..method.markers import COMPLETE_ANSWER_LINE
from ..method.prompts import plain_prompt
from ..project import exports_dir, problems_path, routes_path
from ..runs import latest_weights

MODEL_KINDS = ("base", "run:NAME", "export:NAME", "gguf:PATH")
DEFAULT_MAX_TOKENS = 256


# ----------------------------------------------------------------------------- backends


class HFBackend:
    """Hugging Face weights (the base model with a run's chain applied, or an export folder)."""

    def __init__(self, cfg: Config, chain: list[Path], path: str | None = None):
        from ..hf.models import load_model, load_tokenizer, pick_device, resolve_model
        from ..hf.trained import load_chain

        path = path or resolve_model(cfg.model.name)
        device = pick_device(cfg.model)
        self.tokenizer = load_tokenizer(cfg.model, path)
        self.model = load_chain(load_model(cfg.model, path, device=device), chain)
        self.prompt_format = cfg.model.prompt_format

    def render(self, user_text: str) -> str:
        from ..hf.models import render_prompt

        return render_prompt(self.tokenizer, user_text, self.prompt_format)

    def sample(self, user_texts: list[str], k: int, *, max_tokens: int, temperature: float, seed: int) -> list[list[str]]:
        """``k`` completions per user text, batched, running to EOS or ``max_tokens`` as GRPO rollouts do."""
        from ..hf.generation import generate_texts

        return generate_texts(self.model, self.tokenizer, [self.render(u) for u in user_texts], max_new_tokens=max_tokens,
                              temperature=temperature, num_return_sequences=k, seed=seed, stop_at_answer=False)

    def stream(self, prompt: str, *, max_tokens: int, temperature: float, seed: int | None):
        from ..hf.generation import stream_text

        yield from stream_text(self.model, self.tokenizer, prompt, max_new_tokens=max_tokens,
                               temperature=temperature, seed=seed)


class GGUFBackend:
    """A GGUF file on llama.cpp. Sampling is set to match transformers': llama-cpp-python's own
    defaults (repeat penalty 1.1, min-p 0.05, top-k 40) would make its greedy replies differ."""

    def __init__(self, gguf_path: Path, prompt_format: str, threads: int | None = None):
        try:
            from llama_cpp import Llama
        except ImportError:
            raise UserError("serving a GGUF file needs llama-cpp-python",
                            hint='pip install "realm-studio[endpoint]"') from None
        self.llm = Llama(str(gguf_path), n_ctx=4096, n_threads=threads or os.cpu_count() or 1, verbose=False)
        template = self.llm.metadata.get("tokenizer.chat_template")
        self.template = template if template and prompt_format != "plain" else None

    def render(self, user_text: str) -> str:
        if self.template is None:
            return plain_prompt(user_text)
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        bos = self.llm.detokenize([self.llm.token_bos()]).decode("utf-8", "replace")
        eos = self.llm.detokenize([self.llm.token_eos()]).decode("utf-8", "replace")
        text = Jinja2ChatFormatter(self.template, eos_token=eos, bos_token=bos)(
            messages=[{"role": "user", "content": user_text}]).prompt
        return text[len(bos):] if bos and text.startswith(bos) else text  # llama.cpp adds the BOS itself

    def close(self) -> None:
        self.llm.close()

    def sample(self, user_texts: list[str], k: int, *, max_tokens: int, temperature: float, seed: int) -> list[list[str]]:
        """``k`` completions per user text (llama.cpp serves one at a time), to EOS or ``max_tokens``."""
        return [[self.llm.create_completion(self.render(u), max_tokens=max_tokens, temperature=temperature, top_p=1.0,
                                            top_k=0, min_p=0.0, repeat_penalty=1.0, seed=seed + i)["choices"][0]["text"]
                 for i in range(k)] for u in user_texts]

    def stream(self, prompt: str, *, max_tokens: int, temperature: float, seed: int | None):
        chunks = self.llm.create_completion(prompt, max_tokens=max_tokens, temperature=temperature, top_p=1.0,
                                            top_k=0, min_p=0.0, repeat_penalty=1.0, seed=seed, stream=True)
        written = ""
        for chunk in chunks:
            piece = chunk["choices"][0]["text"]
            match = COMPLETE_ANSWER_LINE.search(written + piece)
            if match:  # stop at the answer line, as transformers' side does
                yield (written + piece)[len(written):match.end()]
                return
            written += piece
            yield piece


def open_model(project: Path, spec: str):
    """(backend, label, config) for a model spec of ``MODEL_KINDS``; the config gives the verifier settings."""
    project = Path(project)
    kind, _, name = spec.partition(":")
    cfg = load_config(project)
    if spec == "base":
        return HFBackend(cfg, []), "base", cfg
    if kind == "run" and name:
        label, run_cfg, chain = latest_weights(project, name)
        return HFBackend(run_cfg, chain), f"run:{name} ({label})", run_cfg
    if kind == "export" and name:
        folder = exports_dir(project) / name if not Path(name).is_absolute() else Path(name)
        if (folder / "config.json").exists():
            return HFBackend(cfg, [], path=str(folder)), f"export:{name}", cfg
        ggufs = sorted(folder.glob("*.gguf"))
        if len(ggufs) != 1:
            found = ", ".join(p.name for p in ggufs) or "neither config.json nor a .gguf file"
            raise UserError(f"export {name!r}: expected one model in {folder} (found {found})",
                            hint="name a GGUF file with --model gguf:PATH")
        return GGUFBackend(ggufs[0], cfg.model.prompt_format), f"export:{name}", cfg
    if kind == "gguf" and name:
        path = Path(name).expanduser()
        if not path.is_file():
            raise UserError(f"gguf:{name}: no such file")
        return GGUFBackend(path, cfg.model.prompt_format), f"gguf:{path.name}", cfg
    raise UserError(f"--model {spec!r}: expected one of {', '.join(MODEL_KINDS)}")


# ----------------------------------------------------------------------------- held-out problems


class ProblemBench:
    """The project's held-out problems: their prompts (with or without routes) and the verifier."""

    def __init__(self, project: Path, cfg: Config):
        from ..data.problems import read_problems

        self.project, self.cfg = project, cfg
        path = problems_path(project)
        self.problems = {p.id: p for p in read_problems(path) if p.split == "test"} if path.exists() else {}
        self._routes: dict | None = None
        self._verifier = None
        self._lock = threading.Lock()

    def prompt(self, problem_id: str, with_routes: bool) -> dict:
        """The user text evaluation asks this problem (the same candidates, fixed seed)."""
        from .evaluate import eval_prompts

        problem = self.problem(problem_id)
        bare, hinted, labels = eval_prompts(self.cfg, [problem], self._routes_by_id())[0]
        text = hinted if with_routes and hinted is not None else bare
        return {"problem_id": problem.id, "user_text": text, "answer": problem.answer,
                "routes_shown": len(labels) if text is hinted else 0}

    def verdict(self, problem_id: str, reply: str) -> dict:
        from ..method.verifiers import PythonVerifier, verify_problem

        problem = self.problem(problem_id)
        with self._lock:
            if self._verifier is None and self.cfg.data.python_verifier:
                self._verifier = PythonVerifier(self.project, self.cfg.data.python_verifier,
                                                self.cfg.data.verifier_timeout_s)
            v = verify_problem(reply, problem, self.cfg.data, self._verifier)
        return {"problem_id": problem.id, "label": v.label, "correct": v.correct, "extracted": v.extracted,
                "gold": problem.answer}

    def close(self) -> None:
        if self._verifier is not None:
            self._verifier.close()

    def problem(self, problem_id: str):
        if problem_id not in self.problems:
            raise UserError(f"problem {problem_id!r}: not a held-out problem of this project")
        return self.problems[problem_id]

    def _routes_by_id(self) -> dict:
        if self._routes is None:
            from ..routes.store import read_routes

            self._routes = {}
            for r in read_routes(self.project) if routes_path(self.project).exists() else []:
                self._routes.setdefault(r.problem_id, []).append((r.text, r.label))
        return self._routes


# ----------------------------------------------------------------------------- HTTP


class ModelServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, backend, label: str, bench: ProblemBench):
        super().__init__(address, _Handler)
        self.backend, self.label, self.bench = backend, label, bench
        self.generation = threading.Lock()  # one model, one generation at a time

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: ModelServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet: the playground shows replies, not access logs
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server name)
        url = urlparse(self.path)
        if url.path in ("/v1/models", "/models"):
            self._json(200, {"object": "list", "data": [{"id": self.server.label, "object": "model",
                                                          "owned_by": "realm-studio"}]})
        elif url.path == "/health":
            self._json(200, {"status": "ok", "model": self.server.label})
        elif url.path == "/realm/prompt":
            query = parse_qs(url.query)
            self._guarded(lambda: self._json(200, self.server.bench.prompt(
                query.get("problem_id", [""])[0], query.get("routes", ["0"])[0] in ("1", "true"))))
        else:
            self._json(404, {"error": {"message": f"no such path: {url.path}"}})

    def do_POST(self) -> None:  # noqa: N802
        path = urlparse(self.path).path
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        except ValueError:
            return self._json(400, {"error": {"message": "the request body is not JSON"}})
        if path in ("/v1/chat/completions", "/chat/completions"):
            messages = [m for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
            if not messages:
                return self._json(400, {"error": {"message": "messages: no user message"}})
            self._guarded(lambda: self._complete(body, self.server.backend.render(str(messages[-1].get("content") or "")),
                                                 chat=True))
        elif path in ("/v1/completions", "/completions"):
            self._guarded(lambda: self._complete(body, str(body.get("prompt") or ""), chat=False))
        else:
            self._json(404, {"error": {"message": f"no such path: {path}"}})

    def _guarded(self, action) -> None:
        try:
            action()
        except UserError as err:
            self._json(400, {"error": {"message": str(err)}})

    def _complete(self, body: dict, prompt: str, *, chat: bool) -> None:
        try:
            max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or DEFAULT_MAX_TOKENS)
            temperature = float(body.get("temperature", 0.0) or 0.0)
            seed = None if body.get("seed") is None else int(body["seed"])
        except (TypeError, ValueError):
            return self._json(400, {"error": {"message": "max_tokens, temperature and seed must be numbers"}})
        realm = body.get("realm") if isinstance(body.get("realm"), dict) else {}
        if realm.get("problem_id"):
            self.server.bench.problem(str(realm["problem_id"]))  # an unknown problem fails before generating
        rid, created = f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex[:12]}", int(time.time())
        kind = "chat.completion" if chat else "text_completion"

        def choice(text: str, finish: str | None, *, delta: bool) -> dict:
            if not chat:
                return {"index": 0, "text": text, "finish_reason": finish}
            key = "delta" if delta else "message"
            return {"index": 0, key: {"role": "assistant", "content": text}, "finish_reason": finish}

        stream = bool(body.get("stream"))
        if stream:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
        text = ""
        with self.server.generation:
            for piece in self.server.backend.stream(prompt, max_tokens=max_tokens, temperature=temperature, seed=seed):
                text += piece
                if stream and piece:
                    self._event({"id": rid, "object": f"{kind}.chunk" if chat else kind, "created": created,
                                 "model": self.server.label, "choices": [choice(piece, None, delta=True)]})
        finish = "stop" if COMPLETE_ANSWER_LINE.search(text) else "length"  # no answer line: cut by max_tokens, or EOS
        final = {"id": rid, "object": f"{kind}.chunk" if (chat and stream) else kind, "created": created,
                 "model": self.server.label, "choices": [choice("" if stream else text, finish, delta=stream)]}
        if realm.get("problem_id"):
            final["realm"] = {"verdict": self.server.bench.verdict(str(realm["problem_id"]), text)}
        if stream:
            self._event(final)
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        else:
            self._json(200, final)

    def _event(self, payload: dict) -> None:
        self.wfile.write(b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n")
        self.wfile.flush()

    def _json(self, code: int, payload: dict) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def start_server(project: Path, spec: str, *, host: str = "127.0.0.1", port: int = 0) -> ModelServer:
    """Load the model and bind the server (port 0: a free port); ``serve_forever`` serves it."""
    backend, label, cfg = open_model(project, spec)
    return ModelServer((host, port), backend, label, ProblemBench(Path(project), cfg))


# ----------------------------------------------------------------------------- client


def stream_reply(url: str, user_text: str, *, temperature: float = 0.0, max_tokens: int = DEFAULT_MAX_TOKENS,
                 seed: int | None = None, problem_id: str | None = None, timeout_s: float = 600.0):
    """Ask a server of this kind (or any OpenAI-compatible one) for a streamed chat reply.

    Yields each text piece as it arrives, then one dict: the final chunk (with ``realm.verdict``
    when ``problem_id`` is given). ``realm-engine chat`` prints with it; tests read with it.
    """
    import urllib.error
    import urllib.request

    body = {"messages": [{"role": "user", "content": user_text}], "stream": True, "temperature": temperature,
            "max_tokens": max_tokens, "seed": seed}
    if problem_id:
        body["realm"] = {"problem_id": problem_id}
    request = urllib.request.Request(url.rstrip("/") + "/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    final: dict = {}
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            for raw in response:
                line = raw.decode("utf-8").strip()
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[len("data: "):])
                piece = (chunk["choices"][0].get("delta") or {}).get("content") or ""
                if piece:
                    yield piece
                final = chunk
    except urllib.error.HTTPError as err:
        try:
            detail = json.loads(err.read())["error"]["message"]
        except (ValueError, KeyError, TypeError):
            detail = f"HTTP {err.code}"
        raise UserError(detail) from None
    except OSError as err:
        raise UserError(f"model server {url}: {err}") from None
    yield final
