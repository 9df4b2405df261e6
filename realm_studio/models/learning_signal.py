"""Is RL learning anything? A GRPO step learns only from prompt groups whose completions got
different rewards; when (nearly) every group scored alike, or the gradient is zero, steps pass
and nothing changes. This watches the logged RL metrics and says so, with what usually helps.
"""

from __future__ import annotations

from collections import deque

from engine.events import number

ZERO_STD_SHARE = 0.9  # frac_reward_zero_std at or above this: (nearly) no group has a signal
STEPS = 5  # that many logged RL steps in a row
ADVICE = ("What usually fixes it: distil first (recipe realm-r1), more completions per prompt "
          "(rl.num_generations), a higher temperature (rl.temperature), longer completions "
          "(rl.max_completion_length).")


class LearningSignal:
    """Feed it each RL ``metrics`` event; ``warning`` is the text to show, or "" while learning."""

    def __init__(self):
        self._recent: deque[tuple[float | None, float | None]] = deque(maxlen=STEPS)
        self.warning = ""

    def add(self, metrics: dict) -> str:
        zero_std, grad = number(metrics.get("frac_reward_zero_std")), number(metrics.get("grad_norm"))
        if zero_std is None and grad is None:
            return self.warning
        self._recent.append((zero_std, grad))
        full = len(self._recent) == STEPS
        if full and all(z is not None and z >= ZERO_STD_SHARE for z, _ in self._recent):
            self.warning = (f"No learning signal: in each of the last {STEPS} steps at least {ZERO_STD_SHARE:.0%} of "
                            f"the prompt groups gave every completion the same reward, so GRPO had nothing to "
                            f"compare. {ADVICE}")
        elif full and all(g is not None and g == 0 for _, g in self._recent):
            self.warning = f"No learning signal: the gradient was zero in each of the last {STEPS} steps. {ADVICE}"
        else:
            self.warning = ""
        return self.warning

    def clear(self) -> None:
        self._recent.clear()
        self.warning = ""
