"""The per-step MRPV + EAAI prompt plan: which prompt groups carry candidate routes.

Called once per generation step with that step's rollout rows (``num_generations`` copies of
each problem). Every decision depends only on (seed, step, problem id), so all copies of a
prompt agree, and a resumed run makes the same decisions as an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..config import FadeSection
from .fade import fade_k, fade_length_fraction, fade_p, hint_decision, progress_of
from .prompts import mrpv_user_text, select_candidates, student_user_text, truncate_route
from .seeded import stable_rng


@dataclass
class GroupPlan:
    problem_id: str
    hinted: bool
    prompt: str
    candidate_labels: list[str]


@dataclass
class StepPlan:
    step: int
    p: float
    groups: dict[str, GroupPlan]

    @property
    def hinted_fraction(self) -> float:
        return sum(g.hinted for g in self.groups.values()) / max(len(self.groups), 1)


class MRPVPlanner:
    """Rewrites rollout rows for one step: hinted groups get K candidate routes, others none."""

    def __init__(self, fade: FadeSection, *, seed: int, max_steps: int, render: Callable[[str], str],
                 questions: dict[str, tuple[str, list[str] | None]], routes: dict[str, list[tuple[str, str]]],
                 positives_only: bool = False):
        self.fade = fade
        self.seed = seed
        self.max_steps = max_steps
        self.render = render  # user text -> the exact prompt text (chat template or plain)
        self.questions = questions  # problem id -> (question, choices)
        self.routes = routes  # problem id -> [(text, label)]
        self.positives_only = positives_only

    def _showable(self, problem_id: str) -> bool:
        labels = {label for _, label in self.routes.get(problem_id, ())}
        return "positive" in labels if self.positives_only else bool(labels & {"positive", "negative"})

    def plan(self, step: int, problem_ids: list[str]) -> StepPlan:
        progress = progress_of(step, self.max_steps)
        p = fade_p(self.fade, progress)
        groups = {}
        for pid in dict.fromkeys(problem_ids):
            question, choices = self.questions[pid]
            hinted = self._showable(pid) and hint_decision(self.seed, step, pid, p)
            if hinted:
                chosen = select_candidates(self.routes[pid], fade_k(self.fade, progress), stable_rng("candidates", self.seed, step, pid),
                                           positives_only=self.positives_only)
                fraction = fade_length_fraction(self.fade, progress)
                texts = [truncate_route(text, fraction) for text, _ in chosen]
                groups[pid] = GroupPlan(pid, True, self.render(mrpv_user_text(question, texts, choices)),
                                        [label for _, label in chosen])
            else:
                groups[pid] = GroupPlan(pid, False, self.render(student_user_text(question, choices)), [])
        return StepPlan(step, p, groups)

    def rewrite(self, rows: list[dict], step: int) -> tuple[list[dict], StepPlan]:
        plan = self.plan(step, [row["problem_id"] for row in rows])
        out = []
        for row in rows:
            group = plan.groups[row["problem_id"]]
            out.append({**row, "prompt": group.prompt, "hinted": group.hinted,
                        "candidate_labels": list(group.candidate_labels)})
        return out, plan
