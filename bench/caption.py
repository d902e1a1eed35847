"""Captioning throughput, batched vs one item at a time, with the transformers backend on a randomly
initialised LLaVA built from a config (speed does not depend on the weights; nothing is downloaded).

Presets: ``small`` (CPU-friendly: ~30M parameters, 336 px images -> 576 image tokens), ``llava-7b``
(LLaVA-1.5-7B's shapes: CLIP ViT-L/14-336 + a 7B Llama, fp16; a GPU with >= 20 GB).
Usage: python bench/caption.py [--preset small] [--images 16] [--batch 8] [--new-tokens 32]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

PRESETS = {
    "small": dict(vision=dict(hidden_size=256, intermediate_size=1024, num_hidden_layers=4, num_attention_heads=4,
                              image_size=336, patch_size=14, projection_dim=256),
                  text=dict(hidden_size=512, intermediate_size=1536, num_hidden_layers=6, num_attention_heads=8,
                            num_key_value_heads=8), dtype="float32"),
    "llava-7b": dict(vision=dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                                 image_size=336, patch_size=14, projection_dim=768),
                     text=dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
                               num_key_value_heads=32), dtype="float16"),
}


def build(preset: str, out: Path) -> Path:
    import torch
    from transformers import (CLIPImageProcessor, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                              LlavaForConditionalGeneration, LlavaProcessor)

    from tiny_models import CHAT_TEMPLATE, train_tokenizer

    p = PRESETS[preset]
    texts = (ROOT / "tests" / "data" / "ntrex" / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()
    tok = train_tokenizer(texts, vocab_size=2000)
    size = p["vision"]["image_size"]
    proc = LlavaProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": size},
                                                             crop_size={"height": size, "width": size}),
                          tokenizer=tok, patch_size=p["vision"]["patch_size"], vision_feature_select_strategy="default",
                          chat_template=CHAT_TEMPLATE, num_additional_image_tokens=1)
    cfg = LlavaConfig(vision_config=CLIPVisionConfig(**p["vision"]),
                      text_config=LlamaConfig(vocab_size=len(tok), max_position_embeddings=2048,
                                              pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                                              eos_token_id=tok.eos_token_id, **p["text"]),
                      image_token_index=tok.convert_tokens_to_ids("<image>"), vision_feature_select_strategy="default")
    model = LlavaForConditionalGeneration(cfg).to(getattr(torch, p["dtype"]))
    model.generation_config.eos_token_id = None  # random weights: never stop early, every run makes N tokens
    model.save_pretrained(out)
    proc.save_pretrained(out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="small", choices=sorted(PRESETS))
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--new-tokens", type=int, default=32)
    args = ap.parse_args()
    import torch
    from PIL import Image

    from mella.models import Request
    from mella.models.vlm import TransformersGenerator

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build(args.preset, Path(tmp) / "model")
        paths = []
        for n in range(args.images):
            path = Path(tmp) / f"{n}.jpg"
            Image.new("RGB", (640, 480), (n * 13 % 255, 120, 200)).save(path)
            paths.append(str(path))
        gen = TransformersGenerator(str(model_dir), max_new_tokens=args.new_tokens,
                                    dtype=PRESETS[args.preset]["dtype"])
        params = sum(p.numel() for p in gen.model.parameters())
        reqs = [Request(p, "Describe this image in detail in English.", "en") for p in paths]
        gen.generate(reqs[:1])  # warm-up
        results = {}
        for batch in (1, args.batch):
            start = time.perf_counter()
            for i in range(0, len(reqs), batch):
                gen.generate(reqs[i : i + batch])
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            results[batch] = len(reqs) / (time.perf_counter() - start)
        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({torch.get_num_threads()} threads)"
        print(f"preset {args.preset}: {params / 1e6:.0f}M parameters, {args.images} images, {args.new_tokens} new "
              f"tokens each, {device}")
        print(f"one at a time : {results[1]:7.2f} items/s")
        print(f"batch of {args.batch:<4} : {results[args.batch]:7.2f} items/s  ({results[args.batch] / results[1]:.1f}x)")


if __name__ == "__main__":
    main()
