"""Batches for supervised fine-tuning with the model's own processor and chat template.

Labels are the token ids of the assistant's answer (and the template's end-of-turn tokens after it);
everything else is -100: the prompt (system text, the user's instruction), the image placeholder
tokens, and the padding. The prompt's length is where the chat template, rendered with the generation
prompt, stops matching the full conversation; the tests check the mask token by token.
"""

from __future__ import annotations

import io

IGNORE = -100
SEQUENCE_KEYS = ("input_ids", "attention_mask", "labels", "mm_token_type_ids", "token_type_ids")


def open_image(image, max_pixels: int | None = None):
    """A PIL RGB image from a path or bytes, scaled down to at most ``max_pixels`` (aspect kept)."""
    from PIL import Image

    img = Image.open(io.BytesIO(image) if isinstance(image, bytes) else image).convert("RGB")
    if max_pixels and img.width * img.height > max_pixels:
        scale = (max_pixels / (img.width * img.height)) ** 0.5
        img = img.resize((max(1, int(img.width * scale)), max(1, int(img.height * scale))))
    return img


def image_token_ids(processor) -> set[int]:
    """The ids of the image placeholder tokens (and the vision start/end markers where the family has them)."""
    tokenizer = processor.tokenizer
    names = {getattr(processor, "image_token", None), getattr(tokenizer, "image_token", None), "<image>",
             "<|image_pad|>", "<|vision_start|>", "<|vision_end|>", "<fake_token_around_image>", "<global-img>",
             "<IMG_CONTEXT>", "<img>", "</img>"}
    ids = set()
    for name in names - {None}:
        token_id = tokenizer.convert_tokens_to_ids(name)
        if isinstance(token_id, int) and token_id != tokenizer.unk_token_id:
            ids.add(token_id)
    return ids


class VLMCollator:
    """examples (dicts: ``images``, ``instruction``, ``response``) -> model inputs with masked labels."""

    def __init__(self, processor, max_length: int = 2048, max_pixels: int | None = None, min_pixels: int | None = None):
        self.processor, self.max_length, self.max_pixels = processor, max_length, max_pixels
        image_processor = getattr(processor, "image_processor", None)
        for attr, value in (("max_pixels", max_pixels), ("min_pixels", min_pixels)):
            if value and image_processor is not None and hasattr(image_processor, attr):  # Qwen2-VL family
                setattr(image_processor, attr, value)
        self.masked_ids = image_token_ids(processor)
        self.pad_id = processor.tokenizer.pad_token_id

    def _texts(self, ex: dict) -> tuple[str, str]:
        from mella.models.vlm import assistant_turn, user_turn

        prompt_turns = [user_turn(ex["instruction"])]
        full = self.processor.apply_chat_template(prompt_turns + [assistant_turn(ex["response"])], tokenize=False)
        prompt = self.processor.apply_chat_template(prompt_turns, add_generation_prompt=True, tokenize=False)
        return prompt, full

    def __call__(self, examples: list[dict]) -> dict:
        import torch

        self.processor.tokenizer.padding_side = "right"
        images = [[open_image(ex["images"][0], self.max_pixels)] for ex in examples]
        prompts, fulls = zip(*(self._texts(ex) for ex in examples))
        batch = self.processor(text=list(fulls), images=images, return_tensors="pt", padding=True)
        labels = batch["input_ids"].clone()
        for row, (prompt, image) in enumerate(zip(prompts, images)):
            prompt_ids = self.processor(text=[prompt], images=[image], return_tensors="pt")["input_ids"][0]
            full_ids = batch["input_ids"][row]
            n = min(len(prompt_ids), len(full_ids))
            same = (full_ids[:n] == prompt_ids[:n]).long()
            cut = n if bool(same.all()) else int(same.argmin())  # where the prompt stops matching
            if cut >= self.max_length:
                raise ValueError(f"a prompt of {cut} tokens (its image included) does not fit max_length "
                                 f"{self.max_length}: lower image_max_pixels or raise max_length")
            labels[row, :cut] = IGNORE
        labels[batch["attention_mask"] == 0] = IGNORE
        for token_id in self.masked_ids:
            labels[labels == token_id] = IGNORE
        if self.pad_id is not None:
            labels[batch["input_ids"] == self.pad_id] = IGNORE
        batch["labels"] = labels
        if batch["input_ids"].shape[1] > self.max_length:  # answers beyond max_length are cut, never the image
            for key in SEQUENCE_KEYS:
                if key in batch and isinstance(batch[key], torch.Tensor) and batch[key].dim() == 2:
                    batch[key] = batch[key][:, : self.max_length]
        return dict(batch)
