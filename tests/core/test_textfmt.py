"""Terminal text: the aligned table and the durations the CLI and the demo print."""

from engine.textfmt import EVAL_HEADER, duration, eval_row, table


def test_table_aligns_columns_under_a_rule():
    assert table([["a", 1], ["long name", 22]], ["run", "n"]).splitlines() == [
        "run        n ", "---------  --", "a          1 ", "long name  22"]


def test_eval_row_shows_each_accuracy_with_its_interval():
    summary = {"model": "base", "n": 60, "accuracy_without_routes": 0.35, "accuracy_with_routes": 0.5,
               "without_routes": {"correct": 21, "n": 60, "accuracy": 0.35, "interval": [0.2406, 0.4776]},
               "with_routes": {"correct": 10, "n": 20, "accuracy": 0.5, "interval": [0.2993, 0.7007]},
               "autonomy_gap": 0.15, "format_failure_rate": 0.0167}
    assert eval_row(summary) == ["base", 60, "35.0 % [24.1, 47.8]", "50.0 % [29.9, 70.1] (n=20)", "+15.0 pts", "1.7 %"]
    assert len(eval_row(summary)) == len(EVAL_HEADER)


def test_eval_row_of_a_summary_without_routes_or_intervals():
    no_routes = {"model": "r", "n": 8, "without_routes": {"correct": 2, "n": 8, "accuracy": 0.25, "interval": [0.07, 0.59]},
                 "with_routes": {"correct": 0, "n": 0, "accuracy": None, "interval": [0.0, 1.0]},
                 "autonomy_gap": None, "format_failure_rate": 0.0}
    assert eval_row(no_routes)[2:5] == ["25.0 % [7.0, 59.0]", "n/a", "n/a"]
    older = {"model": "r", "n": 8, "accuracy_without_routes": 0.25, "accuracy_with_routes": 0.5, "autonomy_gap": 0.25,
             "format_failure_rate": 0.125}  # summary.json written before intervals were recorded
    assert eval_row(older) == ["r", 8, "25.0 %", "50.0 %", "+25.0 pts", "12.5 %"]


def test_durations():
    assert [duration(s) for s in (5, 65, 3599, 3600, 7325.9)] == ["0m05s", "1m05s", "59m59s", "1h00m", "2h02m"]
