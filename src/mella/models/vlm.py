"""Local Hugging Face vision-language models through the Auto classes and their chat templates
(Qwen2-VL/2.5-VL, LLaVA, Idefics3/SmolVLM, InternVL...): loading (a hub id in the local cache, a folder, or a
`mella train` run = base + adapter), the chat turns, batched greedy generation.

Needs ``pip install 'mella[models]'``. Images must be local files or data: URLs (fetch remote images
first); nothing is downloaded.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

from mella.models import GenerationError, Request


def load_image(image: str):
    from PIL import Image

    if image.startswith("data:"):
        data = base64.b64decode(image.split(",", 1)[1])
        return Image.open(io.BytesIO(data)).convert("RGB")
    if image.startswith(("http://", "https://")):
        raise GenerationError("image_not_local", f"{image} (fetch images first; the transformers backend reads files)")
    path = Path(image)
    if not path.is_file():
        raise GenerationError("image_missing", image)
    with Image.open(path) as img:
        return img.convert("RGB")


RUN_FILE = "run.json"  # a folder made by `mella train`


def user_turn(prompt: str) -> dict:
    """The user message of one image + one instruction, in the chat-template form every processor reads."""
    return {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}


def assistant_turn(text: str) -> dict:
    return {"role": "assistant", "content": [{"type": "text", "text": text}]}


def resolve(ref: str | Path) -> dict:
    """What to load for a model reference: a hub id or folder as it is, or a `mella train` run folder as
    its base model + adapter (or its full weights)."""
    import json

    path = Path(ref)
    run = path / RUN_FILE
    if not run.is_file():
        return {"model": str(ref), "adapter": None, "processor": str(ref)}
    meta = json.loads(run.read_text(encoding="utf-8"))
    if meta.get("method") == "full" or meta.get("merged"):
        weights = str(path / (meta.get("merged") or meta["weights"]))
        return {"model": weights, "adapter": None, "processor": weights}
    base = meta["base_model"]
    base = str((path / base).resolve()) if (path / base).exists() else base
    return {"model": base, "adapter": str(path / meta["adapter"]), "processor": str(path / meta["adapter"])}


_LOADED: dict = {}


def load_vlm(ref: str | Path, device: str | None = None, dtype: str = "auto", cached: bool = True):
    """(processor, model) for inference, loaded once per process and reference: a hub id in the local
    cache, a model folder, or a trained run (the adapter merged into its base for speed)."""
    try:
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor
    except ImportError:
        raise ImportError("local vision-language models need: pip install 'mella[models]'") from None
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    key = (str(ref), device, dtype)
    if cached and key in _LOADED:
        return _LOADED[key]
    what = resolve(ref)
    processor = AutoProcessor.from_pretrained(what["processor"])
    torch_dtype = getattr(torch, dtype) if dtype != "auto" else "auto"
    model = AutoModelForImageTextToText.from_pretrained(what["model"], dtype=torch_dtype)
    if what["adapter"]:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, what["adapter"]).merge_and_unload()
    model = model.to(device).eval()
    from mella.models import loaded

    loaded()
    if cached:
        _LOADED[key] = (processor, model)
    return processor, model


def unload_all() -> None:
    """Forget the loaded models (and free their memory): one model at a time when several are evaluated."""
    import gc

    _LOADED.clear()
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


def fingerprint(ref: str | Path) -> str | None:
    """For a trained run, a hash of its adapter (or weights) files: cached generations of an earlier run in
    the same folder are not taken for this one's. None for other references (their path names them)."""
    import hashlib

    what = resolve(ref)
    folder = what["adapter"] or (what["model"] if (Path(ref) / RUN_FILE).is_file() else None)
    if folder is None:
        return None
    h = hashlib.sha256()
    for f in sorted(Path(folder).glob("*.safetensors")):
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


class TransformersGenerator:
    name = "transformers"
    is_dummy = False

    def __init__(self, model: str, max_new_tokens: int = 256, device: str | None = None, dtype: str = "auto"):
        import torch

        self.model_name = str(model)
        self.max_new_tokens = max_new_tokens
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._ref, self._dtype, self._loaded = model, dtype, None

    # loaded on first use: a run whose outputs all come from the cache loads nothing
    def _load(self):
        if self._loaded is None:
            self._loaded = load_vlm(self._ref, self.device, self._dtype)
        return self._loaded

    @property
    def processor(self):
        return self._load()[0]

    @property
    def model(self):
        return self._load()[1]

    def params(self) -> dict:
        params = {"model": self.model_name, "max_new_tokens": self.max_new_tokens, "do_sample": False}
        weights = fingerprint(self.model_name)
        return params | ({"weights": weights} if weights else {})

    def generate(self, batch: list[Request]) -> list[str | GenerationError]:
        import torch

        results: list[str | GenerationError | None] = [None] * len(batch)
        images, texts, rows = [], [], []
        for n, req in enumerate(batch):
            try:
                images.append([load_image(req.image)])
            except (GenerationError, OSError) as e:
                results[n] = e if isinstance(e, GenerationError) else GenerationError("bad_image", str(e))
                continue
            texts.append(self.processor.apply_chat_template([user_turn(req.prompt)], add_generation_prompt=True))
            rows.append(n)
        if rows:
            tokenizer = getattr(self.processor, "tokenizer", None)
            if tokenizer is not None:
                tokenizer.padding_side = "left"  # batched generation continues every row at its end
            inputs = self.processor(text=texts, images=images, return_tensors="pt", padding=True).to(self.device)
            with torch.inference_mode():
                out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
            new_tokens = out[:, inputs["input_ids"].shape[1]:]  # (batch, generated)
            decoded = self.processor.batch_decode(new_tokens, skip_special_tokens=True)
            for n, text in zip(rows, decoded):
                results[n] = text.strip() if text.strip() else GenerationError("empty_output")
        return results
