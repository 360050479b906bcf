"""Stage 1 in chunks: the chunking is a memory and speed policy and never changes a result."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import timevqvdm.inference as inference
from timevqvdm import TimeVQVDM

PINNED_MODEL = Path(__file__).parent / "fixtures" / "pinned_tiny_model"


@pytest.fixture(scope="module")
def model():
    return TimeVQVDM.load(PINNED_MODEL, device="cpu")


def test_a_cpu_decodes_in_cache_sized_chunks(model):
    length = model.tokenizer.length
    assert inference.chunk_size(model.tokenizer) == max(16, inference.CPU_DECODE_BUDGET // length)
    assert inference.CPU_DECODE_BUDGET < inference.DECODE_BUDGET


def test_decoding_in_chunks_equals_decoding_at_once(model, monkeypatch):
    g = torch.Generator().manual_seed(0)
    z_lf = torch.randn(40, *model.prior_lf.latent_shape, generator=g)
    z_hf = torch.randn(40, *model.prior_hf.latent_shape, generator=g)
    monkeypatch.setattr(inference, "CPU_DECODE_BUDGET", 10**9)
    whole = inference.decode_latents(model.tokenizer, model.prior_lf, model.prior_hf, z_lf, z_hf)
    monkeypatch.setattr(inference, "CPU_DECODE_BUDGET", 1)  # chunks of 16: three of them
    chunked = inference.decode_latents(model.tokenizer, model.prior_lf, model.prior_hf, z_lf, z_hf)
    for a, b in zip(whole, chunked, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
