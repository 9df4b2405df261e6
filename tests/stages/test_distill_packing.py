"""distill.packing: routes packed into shared rows train in fewer steps, and never attend to each other."""

from __future__ import annotations

import pytest
import torch
from stage_testkit import events_of, make_project

from engine.launch import train
from engine.runs import RunFolder


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir):
    settings = {"distill.max_steps": -1, "distill.epochs": 1.0, "distill.batch_size": 2, "distill.max_length": 512}
    return make_project(tmp_path_factory.mktemp("packing") / "proj", tiny_model_dir, settings=settings)


def _distill(project, run_name: str, packing: bool) -> tuple[int, float]:
    """(steps, tokens trained: TRL's num_tokens, padding excluded)."""
    assert train(project, "rft", run_name, overrides=[f"distill.packing={str(packing).lower()}"]) == "finished"
    run_dir = RunFolder(project, run_name).path
    tokens = [e["metrics"]["num_tokens"] for e in events_of(run_dir, "metrics") if "num_tokens" in e["metrics"]]
    return events_of(run_dir, "stage_finished")[-1]["step"], tokens[-1]


def test_packing_trains_the_same_routes_in_fewer_steps(project):
    (unpacked_steps, unpacked_tokens), (packed_steps, packed_tokens) = (
        _distill(project, "unpacked", False), _distill(project, "packed", True))
    assert unpacked_steps == 6  # 6 train problems x 2 positive routes, 2 per step
    assert 1 <= packed_steps < unpacked_steps
    assert packed_tokens == unpacked_tokens, "every route is trained on, none cut"


def test_a_packed_row_gives_each_route_the_logits_it_has_alone(tiny_model_dir):
    """TRL's padding-free collation (what packing feeds the model) under this transformers'
    attention: a route in a packed row must not see the route before it."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    routes = ["Step 1: 3 + 4 = 7.\nAnswer: 7", "Step 1: add 5 and 6.\nStep 2: that is 11.\nAnswer: 11"]
    examples = [{"input_ids": tokenizer(text)["input_ids"]} for text in routes]
    batch = DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id, padding_free=True)(examples)
    assert batch["input_ids"].shape[0] == 1, "one packed row"
    with torch.no_grad():
        # use_cache=False as SFTTrainer.compute_loss passes it: with a cache, transformers does not look
        # for packed rows in position_ids, and the routes would see each other
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        start = 0
        for example in examples:
            ids = torch.tensor([example["input_ids"]])
            alone = model(input_ids=ids).logits[0]
            torch.testing.assert_close(packed[start:start + ids.shape[1]], alone, atol=1e-5, rtol=1e-4)
            start += ids.shape[1]
