"""Each benchmark runs in a tiny configuration and returns well-formed figures.

No timing is asserted (figures depend on the machine and its load); what is checked is that
every benchmark still drives the real code paths and reports finite, positive numbers, so a
refactor of the engine or the GUI that breaks the suite is caught here and not on release day.
"""

from __future__ import annotations

import math

import pytest

from bench import cold_start, fuzz, gui_ingest, memory, rl_overhead, routes_scale, soak, verifier_speed
from bench.common import Row
from bench.run_all import BENCHMARKS, format_table, parse_args


def positive(value) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value > 0


def test_rl_overhead_times_both_trainers():
    result = rl_overhead.measure(rounds=1, steps=1, warmup=0, hidden_size=32, num_hidden_layers=1,
                                 completion_length=4)
    figures = ("ours_s", "plain_s", "ratios", "ours_hooks_s", "plain_hooks_s")
    assert all(len(result[key]) == 1 and positive(result[key][0]) for key in figures)
    # every step's completion length (2 steps: the timed one and the one whose start ends it)
    assert all(len(result[key]) == 2 and all(map(positive, result[key])) for key in ("ours_lengths", "plain_lengths"))


def test_plain_reward_scores_the_last_number():
    assert rl_overhead.plain_correctness(["3 + 4 = 7", "Answer: 8", "no idea"], ["7", "7", "7"]) == [1.0, 0.0, 0.0]


def test_verifier_rates_every_answer_type_and_every_attack():
    result = verifier_speed.measure(n=20, adversarial_bytes=2000)
    assert set(result["completions_per_s"]) == {"number", "choice", "text", "regex", "python"}
    assert set(result["adversarial_s"]) == set(verifier_speed.ADVERSARIAL)
    assert all(positive(v) for v in [*result["completions_per_s"].values(), *result["adversarial_s"].values()])


@pytest.mark.parametrize("answer_type", ["number", "choice", "text"])
def test_realistic_completions_mix_right_wrong_and_unparsed(answer_type):
    from engine.method.verifiers import verify

    choices = verifier_speed.CHOICES if answer_type == "choice" else None
    labels = {verify(text, gold, answer_type, choices=choices).label
              for text, gold in verifier_speed.realistic(answer_type, 60)}
    assert labels == {"positive", "negative", "unparsed"}


def test_gui_ingest_draws_every_event_of_the_log():
    result = gui_ingest.measure(n_events=300)
    assert all(positive(result[key]) for key in ("first_plot_s", "all_s", "events_per_s", "peak_rss_mb", "log_mb"))
    assert result["first_plot_s"] <= result["all_s"]


def test_soak_follows_replays_and_checks_a_short_run():
    result = soak.measure(steps=300)
    assert result["events"] == result["replayed"] > 5 * 300 and result["status_mismatches"] == 0
    assert result["final_state"] == "finished"
    for gui in ("gui_live", "gui_reattach"):
        assert result[gui]["last_step"] == 300 and positive(result[gui]["peak_rss_mb"])


def test_fuzz_times_every_case_of_a_fuzz_test():
    result = fuzz.measure(scale=0.1, paths=("tests/fuzz/test_fuzz_answers.py",))
    assert result["returncode"] == 0 and len(result["tests"]) == 6
    assert all(t["cases"] > 0 and t["failed"] == 0 and positive(t["slowest_s"]) for t in result["tests"].values())


def test_routes_browser_loads_filters_and_selects(tmp_path):
    result = routes_scale.measure(tmp_path, n_routes=2000)
    assert result["problems"] == 2000 // routes_scale.ROUTES_PER_PROBLEM
    assert 0 < result["contrastive_rows"] < result["problems"]  # the filter really filters
    assert all(positive(result[key]) for key in ("store_load_s", "open_s", "filter_contrastive_s",
                                                 "filter_text_s", "select_s", "peak_rss_mb"))


def test_cold_start_times_each_command():
    result = cold_start.measure(repeats=1)
    assert {"python -m engine --help", "import realm_studio.app", "main window shown (offscreen)"} <= set(result)
    assert all(positive(v) for v in result.values())


@pytest.mark.slow  # a whole (tiny) training run in a fresh process
def test_memory_reports_the_engine_run_and_the_gui(tmp_path):
    routes_project = routes_scale.make_routes_project(tmp_path / "routes", n_routes=500)
    result = memory.measure(routes_project)
    assert result["engine"]["state"] == "finished"
    assert result["gui"]["opened"] and result["gui"]["problems_shown"] == 500 // routes_scale.ROUTES_PER_PROBLEM
    assert positive(result["engine"]["peak_rss_mb"]) and positive(result["gui"]["peak_rss_mb"])


def test_table_states_the_machine_and_every_row():
    info = {"cpu": "Test CPU", "cores": 2, "python": "3.11", "torch": "2.13", "transformers": "5", "trl": "1.16",
            "pyside6": "6.11", "date": "2026-11-26", "load_avg_1m": 0.5, "load_avg_end": 0.7, "elapsed_s": 12.0}
    rows = [Row("verifier", "number completions", 2256.1, "/s"), Row("rl_overhead", "ratio", 1.0234, "x", "ok")]
    table = format_table(rows, info)
    assert "Test CPU, 2 cores" in table and "torch 2.13" in table and "2026-11-26" in table
    assert "| verifier | number completions | 2,256 | /s |  |" in table
    assert "| rl_overhead | ratio | 1.02 | x | ok |" in table


def test_only_accepts_known_benchmarks_and_out_defaults_to_bench_results():
    args = parse_args(["--only", "verifier", "--only", "memory", "--out"])
    assert args.only == ["verifier", "memory"]
    assert args.out.name == "results.json" and args.out.parent.name == "bench"
    assert parse_args([]).out is None
    with pytest.raises(SystemExit):
        parse_args(["--only", "nonsense"])
    assert set(BENCHMARKS) == {"rl_overhead", "verifier", "gui_ingest", "routes_browser", "cold_start", "memory", "soak",
                               "fuzz"}


class _FakeTrainer:
    """Stands in for a Trainer: calls the lockstep's step hook `steps` times, logging each step."""

    def __init__(self, lockstep, name, log, steps, fail_at=None):
        self.lockstep, self.name, self.log, self.steps, self.fail_at = lockstep, name, log, steps, fail_at

    def train(self):
        for step in range(self.steps):
            self.lockstep.step_begins(self.name)
            if step == self.fail_at:
                raise RuntimeError(f"{self.name} broke")
            self.log.append(self.name)


def test_lockstep_trainers_take_turns_one_step_each():
    lockstep = rl_overhead.Lockstep(["ours", "plain"])
    log: list[str] = []
    trainers = {"ours": _FakeTrainer(lockstep, "ours", log, 4), "plain": _FakeTrainer(lockstep, "plain", log, 2)}
    lockstep.run(trainers, threads=1)
    assert log == ["ours", "plain", "ours", "plain", "ours", "ours"]  # plain ends first: ours goes on alone
    assert len(lockstep.seconds["ours"]) == 3 and len(lockstep.seconds["plain"]) == 1


def test_lockstep_reraises_a_failure_without_leaving_the_other_waiting():
    lockstep = rl_overhead.Lockstep(["plain", "ours"])
    log: list[str] = []
    trainers = {"ours": _FakeTrainer(lockstep, "ours", log, 3, fail_at=1), "plain": _FakeTrainer(lockstep, "plain", log, 3)}
    with pytest.raises(RuntimeError, match="ours broke"):
        lockstep.run(trainers, threads=1)
    assert log == ["plain", "ours", "plain", "plain"]


def test_median_interval_brackets_the_median_and_narrows_with_more_data():
    few = [0.9, 1.0, 1.1, 1.2, 0.95]
    many = few * 40
    low_few, high_few = rl_overhead.median_interval(few)
    low_many, high_many = rl_overhead.median_interval(many)
    assert low_few <= 1.0 <= high_few and low_many <= 1.0 <= high_many
    assert high_many - low_many < high_few - low_few


@pytest.mark.slow
def test_gpu_check_runs_every_section_side_by_side_on_a_tiny_shape(tmp_path):
    """The GPU script's own code path, on the CPU: a GPU session should only have to run it."""
    import json

    from bench import gpu_check

    out = tmp_path / "gpu_check.json"
    assert gpu_check.main(["--tiny", "--work", str(tmp_path / "work"), "--out", str(out)]) == 0
    results = json.loads(out.read_text())["results"]
    assert set(results) == {"peak", "grpo_plain", "grpo_ours", "sft_plain", "sft_ours"}
    assert results["grpo_ours"]["state"] == results["sft_ours"]["state"] == "finished"
    assert not results["grpo_ours"]["compiled"], "auto compiles rollouts on a CUDA GPU only"
    for section in ("grpo_plain", "grpo_ours"):
        assert positive(results[section]["step_s_median"]) and positive(results[section]["gen_tok_s"])
    for section in ("sft_plain", "sft_ours"):
        assert positive(results[section]["tok_s"]) and positive(results[section]["mfu"])
    assert results["sft_plain"]["tokens_per_step"] == results["sft_ours"]["tokens_per_step"], "the same rows"


@pytest.mark.slow
def test_gpu_check_sft_tuning_measures_every_variant_on_the_same_rows(tmp_path):
    import json

    from bench import gpu_check

    out = tmp_path / "gpu_check.json"
    assert gpu_check.main(["--tiny", "--work", str(tmp_path / "work"), "--out", str(out), "--sections", "sft_tuning"]) == 0
    variants = json.loads(out.read_text())["results"]["sft_tuning"]
    assert list(variants) == ["b2_plain_adamw", "b2_fused_adamw", "b8_fused_adamw", "b8_plain_trl",
                              "b8_fused_adamw_compiled", "section_s"]
    assert all(positive(variants[label]["tok_s"]) for label in variants if label != "section_s")
    assert variants["b8_plain_trl"]["tokens_per_step"] == variants["b8_fused_adamw"]["tokens_per_step"]


def test_cpu_speed_measures_every_configuration_and_checks_the_loss(tiny_model_dir, tmp_path):
    from bench import cpu_speed

    result = cpu_speed.measure(steps=3, rl_steps=1, eval_problems=2, model=str(tiny_model_dir), folder=tmp_path)
    assert set(result) == set(cpu_speed.VARIANTS)
    for figures in result.values():
        assert positive(figures["distill_tokens_per_s"]) and positive(figures["rl_step_s"])
        assert positive(figures["eval_problems_per_s"]) and len(figures["losses"]) == 3
    check = cpu_speed.loss_check(result)
    assert math.isfinite(check["max_relative_difference"]) and check["step_noise"] >= 0
    names = [row.metric for row in cpu_speed.rows(result)]
    assert "distill_tokens_per_s: default / before" in names and any(n.startswith("loss:") for n in names)


def test_efficacy_trains_every_variant_from_one_distillation_and_reports_them(tmp_path, tiny_model_dir):
    """bench/efficacy.py on the bundled domain with the tiny model: each RL variant branches from
    the shared distillation, every variant is evaluated on the same problems, the report has a row
    and a paired comparison for each, and a second call reuses what is done."""
    from bench import efficacy

    from engine.runs import RunFolder, run_origin

    project, out = tmp_path / "eff", tmp_path / "EFFICACY.md"
    sets = [f"model.name={tiny_model_dir}", "model.device=cpu", "distill.max_steps=2", "distill.max_length=512",
            "rl.max_steps=2", "rl.num_generations=2", "rl.max_completion_length=8", "eval.max_new_tokens=8",
            "eval.max_problems=6", "eval.max_problems_with_routes=3", "eval.every_steps=1", "eval.curve_problems=2"]
    argv = ["--project", str(project), "--size", "quick", "--out", str(out), *sum((["--set", s] for s in sets), [])]
    assert efficacy.main(argv) == 0

    names = efficacy.run_names()
    for variant in efficacy.VARIANTS:
        if variant.branched:
            assert run_origin(RunFolder(project, names[variant.name])) == (efficacy.SHARED, "distill")
    text = out.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| variant")]
    assert [r.split(" | ")[0].strip("| ") for r in rows] == [v.name for v in efficacy.VARIANTS]
    assert all("%" in r for r in rows) and "(paired" in text
    assert (tmp_path / "efficacy-parcels-quick.png").stat().st_size > 1000  # the curves were drawn

    before = {name: RunFolder(project, name).events.stat().st_mtime for name in names.values()}
    # a second call reuses every trained and evaluated variant, and a finished run can stand in for one
    assert efficacy.main([*argv, "--only", "rft", "grpo", "--reuse", "grpo=eff-always-routes"]) == 0
    assert before == {name: RunFolder(project, name).events.stat().st_mtime for name in names.values()}
    rows = [line.split(" | ")[0].strip("| ") for line in out.read_text().splitlines() if line.startswith("| ")]
    assert rows == ["variant", "rft", "grpo"]
