"""Generation backends, chosen by name; imported only when used (``import mella`` never imports torch)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from mella.errors import NamedError

REGISTRY = {
    "openai": "mella.eval.backends.openai_compat:OpenAICompatGenerator",
    "transformers": "mella.eval.backends.hf:TransformersGenerator",
    "dummy": "mella.eval.backends.dummy:DummyGenerator",
}


@dataclass
class Request:
    """One generation: an image (local path, http(s) URL or data: URL) and an instruction."""

    image: str
    prompt: str
    lang: str


class GenerationError(NamedError):
    """A request that failed after retries; ``kind`` names the failure (timeout, http_503, ...)."""


def get_generator(name: str, **kwargs):
    """Instantiate the backend ``name``; an unknown name lists the known ones."""
    if name not in REGISTRY:
        raise ValueError(f"unknown backend {name!r}; known: {sorted(REGISTRY)}")
    module, _, cls = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), cls)(**kwargs)


def generate_safely(generator, requests: list[Request]) -> list:
    """``generator.generate(requests)`` whose failures become named, retryable GenerationErrors: a batch
    that fails as a whole (e.g. out of memory) is split in halves until single items fail alone."""
    try:
        return list(generator.generate(requests))
    except Exception as e:  # noqa: BLE001 - any backend failure becomes a recorded, retryable error
        if len(requests) == 1:
            kind = "out_of_memory" if "out of memory" in str(e).lower() else type(e).__name__
            return [GenerationError(kind, str(e)[:300])]
        half = len(requests) // 2
        return generate_safely(generator, requests[:half]) + generate_safely(generator, requests[half:])
