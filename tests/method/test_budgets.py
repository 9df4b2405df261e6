"""Generation budgets from the data: 0 becomes what the routes need; a shorter one is warned about."""

from engine.config import Config
from engine.method.budgets import NO_ROUTES_ANSWER, NO_ROUTES_ROUTE, VERDICT_TOKENS, apply_budgets, needed_budgets, percentile


def test_percentile_is_nearest_rank():
    assert percentile([]) == 0
    assert percentile(list(range(1, 101))) == 99
    assert percentile([5] * 98 + [300, 400]) == 300  # the longest 1 % is allowed to be cut


def test_needed_budgets_cover_the_routes_and_the_verdict_lines():
    lengths = [150] * 90 + [204] * 10  # the demo: gold routes ~181, p95 204
    needed = needed_budgets(lengths, k_show=3)
    assert needed["answer"] >= 204 + 3 * VERDICT_TOKENS and needed["answer"] % 16 == 0
    assert needed["route"] >= 1.5 * 204
    assert needed_budgets([], k_show=3) == {"answer": NO_ROUTES_ANSWER, "route": NO_ROUTES_ROUTE}


def test_zero_means_from_the_data_and_a_short_budget_is_warned_about_with_numbers():
    cfg = Config()
    cfg.eval.max_new_tokens, cfg.rl.max_completion_length, cfg.routes.max_new_tokens = 0, 96, 0
    resolved, warnings = apply_budgets(cfg, [181] * 100)
    assert resolved.eval.max_new_tokens == needed_budgets([181], cfg.fade.k_show)["answer"]
    assert resolved.routes.max_new_tokens == needed_budgets([181], cfg.fade.k_show)["route"]
    assert resolved.rl.max_completion_length == 96  # the user's value is kept ...
    assert len(warnings) == 1 and warnings[0].startswith("rl.max_completion_length = 96 is shorter")
    assert "181 tokens" in warnings[0] and "earn no reward" in warnings[0]  # ... and explained
    assert cfg.eval.max_new_tokens == 0  # the input is not changed


def test_without_routes_nothing_is_warned_and_defaults_apply():
    cfg = Config()
    cfg.eval.max_new_tokens = 12
    resolved, warnings = apply_budgets(cfg, [])
    assert warnings == [] and resolved.eval.max_new_tokens == 12
    assert resolved.rl.max_completion_length == NO_ROUTES_ANSWER
