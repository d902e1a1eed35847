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


def preflight(backend: str, model: str, base_url: str | None = None, known: tuple[str, ...] = (),
              timeout: float = 10.0) -> None:
    """Fails fast, before any record is read, with one clear message: an unknown backend, a local model
    that is neither a folder nor in the Hugging Face cache, or a server that cannot be reached."""
    import urllib.error
    import urllib.request

    if known and backend not in known:
        raise ValueError(f"unknown backend {backend!r}; known: {', '.join(known)}")
    if backend == "openai":
        url = f"{(base_url or '').rstrip('/')}/models"
        try:
            with urllib.request.urlopen(urllib.request.Request(url), timeout=timeout):
                pass
        except urllib.error.HTTPError:
            pass  # the server answered (some have no /models): reachable
        except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError) as e:
            reason = getattr(e, "reason", e)
            raise ValueError(f"cannot reach the OpenAI-compatible server at {base_url} ({reason}); start it "
                             "(e.g. `vllm serve MODEL`) or fix --base-url") from None
    elif backend == "transformers":
        check_local_model(model)


def check_local_model(model: str) -> None:
    """A model directory, or a hub id already in the local Hugging Face cache (nothing is downloaded)."""
    from pathlib import Path

    if not model:
        raise ValueError("no model given (--model: a local model folder, or a hub id in the local cache)")
    path = Path(model)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ValueError(f"{model} is a folder without config.json: not a Hugging Face model folder")
        return
    if path.exists() or model.startswith((".", "/")) or model.count("/") != 1:
        raise ValueError(f"model {model!r} not found: give a model folder or a hub id like org/name")
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        raise ImportError("local models need: pip install 'mella[models]'") from None
    cached = try_to_load_from_cache(model, "config.json")
    if not isinstance(cached, str):
        raise ValueError(f"model {model!r} is not in the local Hugging Face cache and mella downloads nothing: "
                         f"fetch it first (`huggingface-cli download {model}`) or give a local folder")
