"""A distill.max_length that cuts the routes is refused or warned about, never silently truncated."""

import pytest
from stage_testkit import events_of, make_project

from engine.config import load_config
from engine.data.problems import read_problems
from engine.errors import UserError
from engine.hf.models import load_tokenizer
from engine.launch import train
from engine.project import problems_path
from engine.routes.store import read_routes
from engine.runs import RunFolder
from engine.stages.distill import distill_examples, distill_rows


def test_a_max_length_no_example_fits_is_refused_with_the_length_needed(tmp_path, tiny_model_dir):
    project = make_project(tmp_path / "proj", tiny_model_dir, settings={"distill.max_length": 16})
    with pytest.raises(UserError, match=r"distill.max_length = 16 tokens is shorter than every example .*"
                                        r"set distill.max_length to at least \d+"):
        train(project, "rft", "short", overrides=[])


def test_a_max_length_that_cuts_some_examples_is_warned_about(tmp_path, tiny_model_dir):
    project = make_project(tmp_path / "proj", tiny_model_dir)
    tokenizer = load_tokenizer(load_config(project).model, str(tiny_model_dir))
    examples = distill_examples(read_problems(problems_path(project)), read_routes(project), guided_only=False,
                                per_problem=2, seed=0)
    lengths = sorted(len(tokenizer(r["prompt"] + r["completion"])["input_ids"]) for r in distill_rows(examples, tokenizer, "auto"))
    middle = lengths[len(lengths) // 2]
    assert train(project, "rft", "some-cut", overrides=[f"distill.max_length={middle}"]) == "finished"
    warnings = [e["message"] for e in events_of(RunFolder(project, "some-cut").path, "warning")]
    assert any(m.startswith(f"distill.max_length = {middle} tokens cuts") and f"at least {lengths[-1]}" in m
               for m in warnings)
