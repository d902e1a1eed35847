"""Image-text alignment with a dual encoder (CLIP, SigLIP, SigLIP 2 and other Hugging Face models that
expose ``get_image_features`` / ``get_text_features``): the cosine similarity of the two embeddings.
Scores only; a threshold in config decides (docs/ling.md)."""

from __future__ import annotations

import io
from functools import cache


@cache
def load_dual_encoder(model: str, device: str):
    """(image processor, tokenizer, model), loaded once per process. The image processor and tokenizer
    separately: works for every dual encoder, whatever its processor."""
    from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

    from mella.models import loaded

    loaded()
    return (AutoImageProcessor.from_pretrained(model), AutoTokenizer.from_pretrained(model),
            AutoModel.from_pretrained(model).to(device).eval())


class DualEncoderAligner:
    name = "transformers"

    def __init__(self, model: str, device: str | None = None, max_text_tokens: int = 64):
        try:
            import torch
            import transformers  # noqa: F401
        except ImportError:
            raise ImportError("the aligner needs: pip install 'mella[models]'") from None
        self.model_name, self.max_text_tokens = str(model), max_text_tokens
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")

    # loaded on first use (cached per process): a run served by the cache loads nothing
    @property
    def image_processor(self):
        return load_dual_encoder(self.model_name, self.device)[0]

    @property
    def tokenizer(self):
        return load_dual_encoder(self.model_name, self.device)[1]

    @property
    def model(self):
        return load_dual_encoder(self.model_name, self.device)[2]

    def params(self) -> dict:
        return {"model": self.model_name, "max_text_tokens": self.max_text_tokens}

    def scores(self, images: list[bytes], texts: list[str]) -> list[float | None]:
        """Cosine per (image, text); None for an image that does not decode (the batch goes on)."""
        from PIL import Image

        pixels, ok = [], []
        for n, data in enumerate(images):
            try:
                pixels.append(Image.open(io.BytesIO(data)).convert("RGB"))
                ok.append(n)
            except Exception:  # noqa: BLE001 - a corrupt file in the store costs its own score
                continue
        out: list[float | None] = [None] * len(images)
        if ok:
            for n, score in zip(ok, self._scores(pixels, [texts[n] for n in ok])):
                out[n] = score
        return out

    def _scores(self, pixels: list, texts: list[str]) -> list[float]:
        import torch

        with torch.inference_mode():
            image_inputs = self.image_processor(images=pixels, return_tensors="pt").to(self.device)
            text_inputs = self.tokenizer(texts, padding="max_length", truncation=True, max_length=self.max_text_tokens,
                                         return_tensors="pt").to(self.device)
            img = _features(self.model.get_image_features(**image_inputs))  # (batch, dim)
            txt = _features(self.model.get_text_features(**text_inputs))  # (batch, dim)
            img = img / img.norm(dim=-1, keepdim=True)
            txt = txt / txt.norm(dim=-1, keepdim=True)
            return (img * txt).sum(dim=-1).float().cpu().tolist()


def _features(out):
    """transformers 5 may return a model output instead of a tensor: take its pooled embedding."""
    for name in ("image_embeds", "text_embeds", "pooler_output"):
        if hasattr(out, name) and getattr(out, name) is not None:
            return getattr(out, name)
    return out
