"""Where routes come from: a local model, an OpenAI-compatible endpoint, or a JSONL file.

A source string names one of them:

- ``model:<hub id or folder>`` — sampled here in batches (``model:`` alone: the project's model);
- ``endpoint:<base url>`` — POST ``<url>/v1/completions`` with the plain-text prompt, or
  ``/v1/chat/completions`` when the url ends with ``#chat``. One request per sample, each with
  its own seed, because servers such as llama.cpp silently ignore ``n > 1``;
- ``file:<routes.jsonl>`` — routes written elsewhere, one ``{"problem_id", "text"}`` object a line;
  its other scalar keys (a generator's ``kind``, ``corrupted_step``, …) are kept as the route's ``meta``.

Model and endpoint sources share one method, ``sample(user_texts, seed) -> k texts per text``,
so the driver (``generate.py``) journals, labels and resumes them the same way.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import UserError
from ..events import number
from ..method.prompts import plain_prompt

KINDS = ("model", "endpoint", "file")
REQUEST_TIMEOUT_S = 300.0  # a CPU server writing a long route is slow; a dead one fails at connect


def parse_source(source: str) -> tuple[str, str]:
    """``"endpoint:http://x"`` → ``("endpoint", "http://x")``; unknown kinds are refused."""
    kind, sep, target = (source or "").partition(":")
    if not source:
        raise UserError("no route source: set routes.source in realm.toml (model:…, endpoint:… or file:…)")
    if not sep or kind not in KINDS:
        raise UserError(f"route source {source!r}: expected model:<id-or-path>, endpoint:<url> or file:<routes.jsonl>")
    if kind != "model" and not target.strip():
        raise UserError(f"route source {source!r}: the {kind} is missing after '{kind}:'")
    return kind, target.strip()


# ----------------------------------------------------------------------------- model


class ModelSource:
    """A Hugging Face model sampled locally: ``batch_size`` problems per generate call."""

    def __init__(self, cfg, name: str, *, k: int, temperature: float):
        from ..hf.models import load_model, load_tokenizer, resolve_model

        name = name or cfg.model.name
        # trust_remote_code is granted to the project's model by name, never to another one.
        model_cfg = replace(cfg.model, name=name, trust_remote_code=cfg.model.trust_remote_code and name == cfg.model.name)
        path = resolve_model(name)
        self.tokenizer = load_tokenizer(model_cfg, path)
        self.model = load_model(model_cfg, path)
        self.prompt_format = cfg.model.prompt_format
        self.batch_size = cfg.routes.batch_size
        self.k, self.temperature, self.max_new_tokens = k, temperature, cfg.routes.max_new_tokens

    def sample(self, user_texts: list[str], seed: int) -> list[list[str]]:
        from ..hf.generation import generate_texts
        from ..hf.models import render_prompt

        prompts = [render_prompt(self.tokenizer, text, self.prompt_format) for text in user_texts]
        return generate_texts(self.model, self.tokenizer, prompts, max_new_tokens=self.max_new_tokens,
                              temperature=self.temperature, num_return_sequences=self.k, seed=seed)


# ----------------------------------------------------------------------------- endpoint


class EndpointSource:
    """An OpenAI-compatible server (vLLM, llama.cpp, …) asked one sample per request.

    ``batch_size`` is 1 so progress and stop requests are honoured after every problem. The
    served model's name is read from ``/v1/models`` when the server lists one (vLLM needs it);
    that first request also tells a wrong url apart from a slow server before any sampling.
    An ``OPENAI_API_KEY`` in the environment is sent as a bearer token.
    """

    batch_size = 1

    def __init__(self, url: str, *, k: int, temperature: float, max_new_tokens: int,
                 timeout_s: float = REQUEST_TIMEOUT_S):
        self.url = url
        self.chat = url.endswith("#chat")
        self.base = url.removesuffix("#chat").rstrip("/").removesuffix("/v1")
        if not self.base.startswith(("http://", "https://")):
            raise UserError(f"endpoint {url}: the url must start with http:// or https://")
        self.k, self.temperature, self.max_new_tokens, self.timeout_s = k, temperature, max_new_tokens, timeout_s
        self.model_name = self._served_model()

    def sample(self, user_texts: list[str], seed: int) -> list[list[str]]:
        return [[self._complete(text, seed + i) for i in range(self.k)] for text in user_texts]

    def _served_model(self) -> str | None:
        try:
            listed = self._request("/v1/models").get("data") or []
        except _NotFound:
            return None
        return listed[0].get("id") if listed and isinstance(listed[0], dict) else None

    def _complete(self, user_text: str, seed: int) -> str:
        body = {"max_tokens": self.max_new_tokens, "temperature": self.temperature, "seed": seed, "n": 1}
        if self.model_name:
            body["model"] = self.model_name
        if self.chat:
            body["messages"] = [{"role": "user", "content": user_text}]
            reply = self._request("/v1/chat/completions", body)
        else:
            body["prompt"] = plain_prompt(user_text)
            reply = self._request("/v1/completions", body)
        try:
            choice = reply["choices"][0]
            text = choice["message"]["content"] if self.chat else choice["text"]
        except (KeyError, IndexError, TypeError):
            raise UserError(f"endpoint {self.url}: unexpected reply (no choices[0] text): {str(reply)[:200]}") from None
        return text or ""

    def _request(self, path: str, body: dict | None = None) -> dict:
        headers = {"Content-Type": "application/json"}
        if os.environ.get("OPENAI_API_KEY"):
            headers["Authorization"] = f"Bearer {os.environ['OPENAI_API_KEY']}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as err:
            if err.code == 404 and body is None:
                raise _NotFound() from None
            detail = err.read().decode("utf-8", errors="replace").strip().replace("\n", " ")[:200]
            raise UserError(f"endpoint {self.url}: HTTP {err.code} on {path} ({detail or err.reason})") from None
        except urllib.error.URLError as err:
            raise UserError(f"endpoint {self.url}: {_describe(err.reason, self.timeout_s)}") from None
        except (TimeoutError, socket.timeout, ConnectionError) as err:
            raise UserError(f"endpoint {self.url}: {_describe(err, self.timeout_s)}") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise UserError(f"endpoint {self.url}: reply to {path} is not JSON: {raw[:200]!r}") from None


class _NotFound(Exception):
    """The server has no such path (404 on a GET)."""


def _describe(reason, timeout_s: float) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return f"no answer within {timeout_s:g} s"
    if isinstance(reason, socket.gaierror):
        return "unknown host"
    return f"unreachable ({reason})"


def open_source(cfg, kind: str, target: str, *, k: int, temperature: float):
    """The sampling source for a model or endpoint source string (files are read, not sampled)."""
    if kind == "model":
        return ModelSource(cfg, target, k=k, temperature=temperature)
    return EndpointSource(target, k=k, temperature=temperature, max_new_tokens=cfg.routes.max_new_tokens)


# ----------------------------------------------------------------------------- file


FILE_KEYS = ("problem_id", "text", "temperature", "guided")  # a route line's own keys; the rest is meta


@dataclass
class FileRow:
    problem_id: str
    text: str
    temperature: float | None = None
    guided: bool = False
    meta: dict = field(default_factory=dict)


def resolve_file(project_dir: Path, target: str) -> Path:
    """The file as given (relative to the working folder), else relative to the project."""
    path = Path(target).expanduser()
    if not path.exists() and (project_dir / path).exists():
        path = project_dir / path
    if not path.is_file():
        raise UserError(f"{target}: no such routes file")
    return path


def read_route_file(path: Path, problems_by_id: dict) -> list[FileRow]:
    """Every route line of a JSONL file, or a UserError naming the first bad row and how many
    more there are (nothing is imported from a file with bad rows). Other keys with a scalar value
    (text, number, true/false, null) become the route's ``meta``; lists and objects are ignored."""
    rows, bad = [], []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text (byte {err.start})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        row, reason = _parse_row(line, problems_by_id)
        if reason:
            bad.append(f"{path}:{number}: {reason}")
        else:
            rows.append(row)
    if bad:
        more = f" (and {len(bad) - 1} more bad rows)" if len(bad) > 1 else ""
        raise UserError(bad[0] + more)
    if not rows:
        raise UserError(f"{path}: no routes in the file")
    return rows


def _parse_row(line: str, problems_by_id: dict) -> tuple[FileRow | None, str | None]:
    try:
        obj = json.loads(line)
    except ValueError as err:  # JSONDecodeError, or an integer of more than 4300 digits
        return None, f"not valid JSON ({getattr(err, 'msg', err)})"
    except RecursionError:
        return None, "not valid JSON (nested too deeply)"
    if not isinstance(obj, dict):
        return None, "must be a JSON object"
    problem_id = obj.get("problem_id")
    if isinstance(problem_id, int) and not isinstance(problem_id, bool):
        problem_id = str(problem_id)
    if not isinstance(problem_id, str) or not problem_id:
        return None, "missing problem_id"
    if problem_id not in problems_by_id:
        return None, f"unknown problem id {problem_id!r}"
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        return None, "empty text"
    temperature = obj.get("temperature")
    if temperature is not None:
        temperature = number(temperature)  # None for a wrong type, NaN, infinity or an integer too large for a float
        if temperature is None or temperature < 0:
            return None, f"temperature must be a number from 0 up, got {repr(obj['temperature'])[:40]}"
    guided = obj.get("guided", False)
    if not isinstance(guided, bool):
        return None, f"guided must be true or false, got {guided!r}"
    meta = {k: v for k, v in obj.items() if k not in FILE_KEYS and _storable(v)}
    return FileRow(problem_id, text, temperature, guided, meta), None


def _storable(value) -> bool:
    """Whether an extra field can ride along in routes.parquet as it is (a 64-bit integer, a finite
    float, a string, a null); others are dropped rather than failing the whole import at write time."""
    if isinstance(value, int) and not isinstance(value, bool):
        return -2**63 <= value < 2**63
    return value is None or isinstance(value, (str, bool)) or number(value) is not None
