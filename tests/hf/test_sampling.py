"""Inverse-CDF sampling: the same categorical distribution as torch.multinomial, only while asked for."""

from __future__ import annotations

import threading

import pytest
import torch

from engine.hf.sampling import fast_cpu_sampling, inverse_cdf_sample


def test_samples_follow_the_distribution_row_by_row():
    torch.manual_seed(0)
    probs = torch.tensor([[0.1, 0.2, 0.7, 0.0], [0.0, 0.5, 0.0, 0.5]]).repeat(20_000, 1)
    draws = inverse_cdf_sample(probs).squeeze(1)
    for row, expected in ((0, [0.1, 0.2, 0.7, 0.0]), (1, [0.0, 0.5, 0.0, 0.5])):
        share = torch.bincount(draws[row::2], minlength=4).float() / 20_000
        assert share.tolist() == pytest.approx(expected, abs=0.012)  # 4 standard errors at n = 20,000
        assert share[torch.tensor(expected) == 0].sum() == 0  # a token of probability 0 is never drawn


def test_unnormalised_rows_and_a_seeded_generator_are_honoured():
    probs = torch.tensor([[2.0, 6.0]]).repeat(10_000, 1)  # sums to 8, not 1
    first = inverse_cdf_sample(probs, torch.Generator().manual_seed(3))
    again = inverse_cdf_sample(probs, torch.Generator().manual_seed(3))
    assert torch.equal(first, again)
    assert (first == 1).float().mean().item() == pytest.approx(0.75, abs=0.02)


def test_generation_calls_are_swapped_only_inside_and_restored_after():
    original = torch.multinomial
    probs = torch.tensor([[0.0, 1.0, 0.0]])
    with fast_cpu_sampling():
        assert torch.multinomial is not original
        with fast_cpu_sampling():  # re-entrant
            assert torch.multinomial(probs, 1).tolist() == [[1]]
        assert torch.multinomial is not original
        # anything but one sample per row goes to torch's own
        assert sorted(torch.multinomial(torch.tensor([0.5, 0.5]), 2).tolist()) == [0, 1]
        with pytest.raises(RuntimeError):  # a row without finite mass gets torch's own error
            torch.multinomial(torch.tensor([[float("nan"), 1.0]]), 1)
    assert torch.multinomial is original


def test_concurrent_generations_restore_torch_once_both_are_done():
    original = torch.multinomial
    inside, release = threading.Event(), threading.Event()

    def worker():
        with fast_cpu_sampling():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(5)
    with fast_cpu_sampling():
        pass
    assert torch.multinomial is not original  # the other generation is still running
    release.set()
    thread.join(5)
    assert torch.multinomial is original
