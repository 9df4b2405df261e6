"""Terminal text: the aligned table and the durations the CLI and the demo print."""

from engine.textfmt import EVAL_HEADER, duration, eval_row, table


def test_table_aligns_columns_under_a_rule():
    assert table([["a", 1], ["long name", 22]], ["run", "n"]).splitlines() == [
        "run        n ", "---------  --", "a          1 ", "long name  22"]


def test_eval_row_matches_its_header():
    summary = {"model": "base", "n": 8, "accuracy_without_routes": 0.25, "accuracy_with_routes": 0.5,
               "autonomy_gap": 0.25, "format_failure_rate": 0.125}
    assert eval_row(summary) == ["base", 8, "0.250", "0.500", "+0.250", "0.125"]
    assert len(eval_row(summary)) == len(EVAL_HEADER)


def test_durations():
    assert [duration(s) for s in (5, 65, 3599, 3600, 7325.9)] == ["0m05s", "1m05s", "59m59s", "1h00m", "2h02m"]
