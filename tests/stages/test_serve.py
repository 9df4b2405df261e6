"""The playground's model server: a real ``realm-engine serve`` process on the tiny model, asked over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from engine.events import parse_line
from engine.runs import pid_alive
from engine.stages.serve import stream_reply
from stage_testkit import make_project

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "TRANSFORMERS_VERBOSITY": "error"}


def start_serve(project: Path, *extra: str) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen([sys.executable, "-m", "engine", "serve", str(project), "--port", "0", "--json", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=ENV)
    for line in proc.stdout:
        event = parse_line(line)
        if event and event["type"] == "serving":
            return proc, event
    proc.wait(10)
    raise AssertionError(f"serve exited with {proc.returncode} before serving")


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read())


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir):
    return make_project(tmp_path_factory.mktemp("serve") / "proj", tiny_model_dir)


@pytest.fixture(scope="module")
def server(project):
    proc, ready = start_serve(project, "--model", "base")
    yield ready
    proc.terminate()
    proc.wait(30)


def test_an_openai_client_gets_the_model_list_and_a_greedy_reply_streamed_and_whole(server):
    url = server["url"]
    assert get(f"{url}/models")["data"][0]["id"] == "base"
    pieces = list(stream_reply(url, "What is 1 + 2?", max_tokens=12))
    final, text = pieces[-1], "".join(pieces[:-1])
    assert text and final["choices"][0]["finish_reason"] in ("stop", "length")
    whole = post(f"{url}/chat/completions", {"messages": [{"role": "user", "content": "What is 1 + 2?"}],
                                             "max_tokens": 12, "temperature": 0})
    assert whole["choices"][0]["message"]["content"] == text  # greedy: streaming changes nothing
    raw = post(f"{url}/completions", {"prompt": "Question: 1 + 2", "max_tokens": 5, "temperature": 0.8, "seed": 3})
    assert isinstance(raw["choices"][0]["text"], str)


def test_a_held_out_problem_comes_with_and_without_its_routes_and_each_reply_gets_a_verdict(server, project):
    base = server["url"].removesuffix("/v1")
    bare = get(f"{base}/realm/prompt?problem_id=q3&routes=0")
    hinted = get(f"{base}/realm/prompt?problem_id=q3&routes=1")
    assert bare["routes_shown"] == 0 and "Candidate" not in bare["user_text"]
    assert hinted["routes_shown"] == 3 and "Candidate 1:" in hinted["user_text"] and "What is 3 + 4?" in hinted["user_text"]
    final = list(stream_reply(server["url"], "Answer: 7\n", max_tokens=4, problem_id="q3"))[-1]
    verdict = final["realm"]["verdict"]
    assert verdict["gold"] == "7" and verdict["label"] in ("positive", "negative", "unparsed")
    with pytest.raises(urllib.error.HTTPError) as err:
        get(f"{base}/realm/prompt?problem_id=nope&routes=0")
    assert "not a held-out problem" in json.loads(err.value.read())["error"]["message"]


def test_sigterm_stops_the_server_and_a_server_whose_parent_dies_stops_too(project):
    proc, _ = start_serve(project, "--model", "base")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    # a parent (here a shell) that is killed outright: its --exit-with-parent server ends by itself
    script = (f"{sys.executable} -m engine serve {project} --port 0 --json --exit-with-parent & echo $!; wait")
    parent = subprocess.Popen(["bash", "-c", script], stdout=subprocess.PIPE, text=True, env=ENV)
    server_pid = int(parent.stdout.readline())
    for line in parent.stdout:
        if (parse_line(line) or {}).get("type") == "serving":
            break
    parent.kill()
    parent.wait(10)
    deadline = time.time() + 20
    while pid_alive(server_pid) and time.time() < deadline:
        time.sleep(0.2)
    assert not pid_alive(server_pid)


def test_chat_in_a_terminal_asks_a_problem_with_routes_and_prints_the_verdict(project):
    proc = subprocess.run([sys.executable, "-m", "engine", "chat", str(project), "--model", "base", "--problem", "q3",
                           "--routes", "--max-tokens", "8", "--json"], capture_output=True, text=True, env=ENV,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    reply = [e for e in map(parse_line, proc.stdout.splitlines()) if e and e["type"] == "chat_reply"][0]
    assert reply["verdict"]["problem_id"] == "q3" and reply["model"] == "base"
    bad = subprocess.run([sys.executable, "-m", "engine", "chat", str(project), "--model", "run:nope", "--prompt", "hi"],
                         capture_output=True, text=True, env=ENV, timeout=300)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1] == \
        "error: run 'nope': no such run in " + str(project / "runs")


def test_a_run_is_served_from_its_final_result_or_while_it_trains_from_its_newest_checkpoint(project):
    from engine.launch import train
    from engine.runs import COMPLETE, RunFolder, latest_weights

    assert train(project, "rft", "tried", overrides=[]) == "finished"
    assert latest_weights(project, "tried")[0] == "final"
    (RunFolder(project, "tried").final_dir("distill") / COMPLETE).unlink()  # as if it were still training
    label, _, chain = latest_weights(project, "tried")
    assert label == "distill/checkpoint-2" and chain[-1].name == "checkpoint-2"
    proc, ready = start_serve(project, "--model", "run:tried")
    try:
        assert ready["model"] == "run:tried (distill/checkpoint-2)"
        assert "".join(list(stream_reply(ready["url"], "What is 1 + 2?", max_tokens=4))[:-1]) is not None
    finally:
        proc.terminate()
        proc.wait(30)
