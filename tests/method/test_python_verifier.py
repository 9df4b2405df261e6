"""A user's Python verifier runs in a worker process with a time limit, and its failures are labels."""

import textwrap

import pytest

from engine.config import DataSection
from engine.data.problems import Problem
from engine.errors import UserError
from engine.method.verifiers import PythonVerifier, verify, verify_problem

USER_FILE = '''
import os

def check(completion, gold):
    """Right when the last line ends with the gold answer; unknown when it says 'skip'."""
    last = completion.strip().splitlines()[-1]
    if "skip" in last:
        return None
    return last.endswith(gold)

def explode(completion, gold):
    raise ValueError("cannot parse the molecule\\nsecond line is not shown")

def spin(completion, gold):
    while True:
        pass

def chatty(completion, gold):
    print("debug output from the user")
    return True

def numpy_like(completion, gold):
    return "yes"

def quit_worker(completion, gold):
    os._exit(3)
'''


@pytest.fixture
def project(tmp_path):
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "verify.py").write_text(textwrap.dedent(USER_FILE))
    return tmp_path


@pytest.mark.parametrize("completion, label", [
    ("Reasoning...\nAnswer: H2O", "positive"),
    ("Reasoning...\nAnswer: CO2", "negative"),
    ("Reasoning...\nskip", "unparsed"),
    ("", "unparsed"),  # empty text never reaches user code
])
def test_the_user_function_decides_the_label(project, completion, label):
    with PythonVerifier(project, "checks/verify.py:check") as verifier:
        verdict = verify(completion, "H2O", "python", python_verifier=verifier)
    assert verdict.label == label


def test_an_exception_in_user_code_is_unparsed_with_its_one_line_message(project):
    with PythonVerifier(project, "checks/verify.py:explode") as verifier:
        verdict = verify("Answer: 3", "3", "python", python_verifier=verifier)
        assert verdict.label == "unparsed"
        assert verdict.reason == "ValueError: cannot parse the molecule"
        assert verifier("Answer: 3", "3") is None  # the worker survives the exception


def test_an_infinite_loop_times_out_and_the_next_call_gets_a_fresh_worker(project):
    with PythonVerifier(project, "checks/verify.py:spin", timeout_s=0.5) as verifier:
        first_worker = verifier._process
        verdict = verify("Answer: 3", "3", "python", python_verifier=verifier)
        assert (verdict.label, verdict.reason) == ("unparsed", "verifier timed out after 0.5s")
        assert not first_worker.is_alive()  # killed, not left spinning
        assert verify("Answer: 3", "3", "python", python_verifier=verifier).reason == "verifier timed out after 0.5s"


def test_a_worker_that_dies_is_reported_and_replaced(project):
    with PythonVerifier(project, "checks/verify.py:quit_worker") as verifier:
        assert verifier.judge("Answer: 3", "3") == (None, "verifier process died (exit code 3)")
        assert verifier.judge("Answer: 3", "3") == (None, "verifier process died (exit code 3)")


def test_a_result_that_is_not_a_truth_value_is_unparsed(project):
    with PythonVerifier(project, "checks/verify.py:numpy_like") as verifier:
        verdict = verify("Answer: 3", "3", "python", python_verifier=verifier)
    assert verdict.label == "unparsed" and "expected True, False or None" in verdict.reason


def test_user_prints_stay_off_the_engine_stdout(project, capfd):
    with PythonVerifier(project, "checks/verify.py:chatty") as verifier:
        assert verifier("Answer: 3", "3") is True
    out, err = capfd.readouterr()
    assert "debug output" not in out and "debug output" in err


@pytest.mark.parametrize("spec, message", [
    ("checks/verify.py:missing", "'checks/verify.py:missing': verify.py has no function 'missing'"),
    ("checks/nope.py:check", "'checks/nope.py:check': file .*nope.py not found"),
    ("checks/verify.py", "'checks/verify.py': must look like 'file.py:function'"),
])
def test_a_missing_file_or_function_is_a_user_error_naming_the_spec(project, spec, message):
    with pytest.raises(UserError, match=message):
        PythonVerifier(project, spec)


def test_a_file_that_fails_to_import_is_a_user_error(project):
    (project / "broken.py").write_text("import not_a_real_module_xyz\n")
    with pytest.raises(UserError, match="'broken.py:check': ModuleNotFoundError"):
        PythonVerifier(project, "broken.py:check")


def test_verify_problem_passes_the_gold_to_the_user_function(project):
    problem = Problem(id="chem-1", question="Formula of water?", answer="H2O", answer_type="python")
    with PythonVerifier(project, "checks/verify.py:check") as verifier:
        assert verify_problem("So...\nAnswer: H2O", problem, DataSection(), verifier).label == "positive"


def test_a_plain_callable_also_works_as_python_verifier():
    verdict = verify("Answer: 7", "7", "python", python_verifier=lambda completion, gold: completion.endswith(gold))
    assert (verdict.label, verdict.extracted) == ("positive", "7")
