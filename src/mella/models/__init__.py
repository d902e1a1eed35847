"""The model layer: every model mella runs, chosen by name from small registries with lazy imports
(``import mella`` never imports torch), used by caption, translate, align, eval and train.

- generators (image + prompt -> text): ``openai`` (any OpenAI-compatible server), ``transformers`` (a
  local vision-language model, a hub id in the cache, or a trained run = base + adapter), ``dummy`` (tests)
- translators (English -> target language): ``transformers`` (NLLB/M2M100/MADLAD), ``openai`` (an LLM)
- the dual encoder for alignment (``dual_encoder.DualEncoderAligner``)

A backend takes exactly its options: a misspelt or foreign option is an error that lists the real ones.
Local models load once per process (``vlm.load_vlm``, ``translators.load_seq2seq`` and
``dual_encoder.load_dual_encoder`` cache them; ``LOADS`` counts the loads, which the model steps report
as ``model_loads``).
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass

from mella.errors import NamedError

LOADS = {"count": 0}  # models this process loaded (a cached one is not counted again)


def loaded(n: int = 1) -> None:
    LOADS["count"] += n


def load_count() -> int:
    return LOADS["count"]


REGISTRY = {
    "openai": "mella.models.openai_compat:OpenAICompatGenerator",
    "transformers": "mella.models.vlm:TransformersGenerator",
    "dummy": "mella.models.dummy:DummyGenerator",
}
TRANSLATORS = {
    "transformers": "mella.models.translators:Seq2SeqTranslator",
    "openai": "mella.models.translators:LLMTranslator",
}


@dataclass
class Request:
    """One generation: an image (local path, http(s) URL or data: URL) and an instruction."""

    image: str
    prompt: str
    lang: str


class GenerationError(NamedError):
    """A request that failed after retries; ``kind`` names the failure (timeout, http_503, ...)."""


def build(registry: dict[str, str], what: str, name: str, **kwargs):
    """Instantiates ``name`` from ``registry``; an unknown name or option is a ValueError naming the known."""
    if name not in registry:
        raise ValueError(f"unknown {what} {name!r}; known: {', '.join(sorted(registry))}")
    module, _, attr = registry[name].partition(":")
    cls = getattr(importlib.import_module(module), attr)
    accepted = [p for p in inspect.signature(cls).parameters if p != "self"]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ValueError(f"the {name} {what} has no option {', '.join(unknown)}; its options: {', '.join(accepted)}")
    return cls(**kwargs)


def get_generator(name: str, **kwargs):
    """The generation backend ``name`` (openai, transformers, dummy)."""
    return build(REGISTRY, "backend", name, **kwargs)


def get_translator(name: str, **kwargs):
    """The translator ``name`` (transformers, openai)."""
    return build(TRANSLATORS, "translator", name, **kwargs)


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
              timeout: float = 10.0, kind: str | None = None) -> None:
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
        check_local_model(model, kind)


# what each job needs of a model (``check_local_model``'s kind)
KIND_WORDS = {"vlm": "a vision-language model (image + text -> text: Qwen2-VL, LLaVA, Idefics3, ...)",
              "dual_encoder": "a dual encoder (CLIP, SigLIP, SigLIP 2, ...)",
              "seq2seq": "a translation model (seq2seq: NLLB, M2M100, MADLAD, ...)"}
DUAL_ENCODER_TYPES = {"clip", "siglip", "siglip2", "chinese_clip", "altclip", "align", "metaclip_2"}


def check_local_model(model: str, kind: str | None = None) -> None:
    """A model directory, or a hub id already in the local Hugging Face cache (nothing is downloaded);
    with ``kind``, also a model of that kind (by its config's ``model_type``), so that a wrong model is one
    message before any work rather than a loader's error in the middle of a run."""
    from pathlib import Path

    if not model:
        raise ValueError("no model given (--model: a local model folder, or a hub id in the local cache)")
    path = Path(model)
    if path.is_dir():
        if not (path / "config.json").is_file() and not (path / "run.json").is_file():
            raise ValueError(f"{model} is a folder without config.json (nor a `mella train` run.json): not a model")
        if kind and (path / "config.json").is_file():
            _check_kind(model, path / "config.json", kind)
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
    if kind:
        _check_kind(model, Path(cached), kind)


def _check_kind(model: str, config_json, kind: str) -> None:
    import json

    try:
        model_type = json.loads(config_json.read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError):
        raise ValueError(f"{model}: its config.json is not readable JSON") from None
    try:
        from transformers.models.auto import modeling_auto as auto
    except ImportError:
        return  # the backend names the missing package itself
    ok = {"vlm": model_type in auto.MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES,
          "dual_encoder": model_type in DUAL_ENCODER_TYPES,
          "seq2seq": model_type in auto.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES}[kind]
    if not ok:
        raise ValueError(f"{model} is a {model_type or 'model of unknown type'} model, not {KIND_WORDS[kind]}; "
                         "give a model of that kind")
