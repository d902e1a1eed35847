"""Local Hugging Face vision-language models through the Auto classes and their chat templates
(Qwen2-VL/2.5-VL, LLaVA, Idefics3/SmolVLM, InternVL...), batched, greedy decoding.

Needs ``pip install 'mella[models]'``. Images must be local files or data: URLs (fetch remote images
first); a model id is loaded from the local Hugging Face cache or a directory.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

from mella.eval.backends import GenerationError, Request


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


class TransformersGenerator:
    name = "transformers"
    is_dummy = False

    def __init__(self, model: str, max_new_tokens: int = 256, device: str | None = None, dtype: str = "auto", **_):
        try:
            import torch
            from transformers import AutoModelForImageTextToText, AutoProcessor
        except ImportError:
            raise ImportError("the transformers backend needs: pip install 'mella[models]'") from None
        self.model_name = str(model)
        self.max_new_tokens = max_new_tokens
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.processor = AutoProcessor.from_pretrained(model)
        tokenizer = getattr(self.processor, "tokenizer", None)
        if tokenizer is not None:
            tokenizer.padding_side = "left"  # batched generation continues every row at its end
        torch_dtype = getattr(torch, dtype) if dtype != "auto" else "auto"
        self.model = AutoModelForImageTextToText.from_pretrained(model, dtype=torch_dtype).to(self.device).eval()

    def params(self) -> dict:
        return {"model": self.model_name, "max_new_tokens": self.max_new_tokens, "do_sample": False}

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
            messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": req.prompt}]}]
            texts.append(self.processor.apply_chat_template(messages, add_generation_prompt=True))
            rows.append(n)
        if rows:
            inputs = self.processor(text=texts, images=images, return_tensors="pt", padding=True).to(self.device)
            with torch.inference_mode():
                out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
            new_tokens = out[:, inputs["input_ids"].shape[1]:]  # (batch, generated)
            decoded = self.processor.batch_decode(new_tokens, skip_special_tokens=True)
            for n, text in zip(rows, decoded):
                results[n] = text.strip() if text.strip() else GenerationError("empty_output")
        return results
