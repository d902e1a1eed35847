"""Training throughput: samples/s, tokens/s and peak memory per optimizer step.

Two modes:
- ``--tiny`` (CPU, the default without a GPU): the tiny random Qwen2-VL, LLaVA and Idefics3 of the tests,
  trained through mella's own path (processor, chat template, VLMCollator, TRL SFTTrainer, LoRA).
- ``--real`` (a CUDA GPU): each preset's real architecture built from its config with random weights (no
  download; speed does not depend on the weights), LoRA on the language model as the preset says, one
  image and a 256-token answer per sample, bf16; ``--shrink K`` divides widths and depths by K (to check
  the code path on a CPU).

Usage: python bench/train.py [--tiny] [--real --presets qwen2-vl-2b,llava-1.5-7b] [--steps 10] [--shrink 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

# real architectures (published configs of the checkpoints the presets name), text and vision towers
REAL = {
    "qwen2-vl-2b": ("qwen2_vl", dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                                     num_key_value_heads=2), dict(depth=32, embed_dim=1280, hidden_size=1536, num_heads=16)),
    "qwen2-vl-7b": ("qwen2_vl", dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                                     num_key_value_heads=4), dict(depth=32, embed_dim=1280, hidden_size=3584, num_heads=16)),
    "qwen2.5-vl-3b": ("qwen2_5_vl", dict(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36,
                                         num_attention_heads=16, num_key_value_heads=2),
                      dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16)),
    "qwen2.5-vl-7b": ("qwen2_5_vl", dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
                                         num_attention_heads=28, num_key_value_heads=4),
                      dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16)),
    "smolvlm-2b": ("idefics3", dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=24, num_attention_heads=32,
                                    num_key_value_heads=32, vocab_size=49155),
                   dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16,
                        image_size=384, patch_size=14, scale_factor=3)),
    "internvl3-2b": ("internvl", dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                                      num_key_value_heads=2, vocab_size=151674),
                     dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16)),
    "llava-onevision-0.5b": ("llava_onevision", dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                                                     num_attention_heads=14, num_key_value_heads=2, vocab_size=151647),
                             dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=26, num_attention_heads=16,
                                  image_size=384, patch_size=14)),
    "llava-1.5-7b": ("llava", dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
                                   num_key_value_heads=32), dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                                                                 num_attention_heads=16, image_size=336, patch_size=14)),
    "idefics3-8b": ("idefics3", dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                                     num_key_value_heads=8), dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27,
                                                                  num_attention_heads=16, image_size=364, patch_size=14)),
}


def _shrunk(d: dict, k: int) -> dict:
    keys = ("hidden_size", "intermediate_size", "num_hidden_layers", "depth", "embed_dim")
    out = {key: max(2, v // k) if key in keys else v for key, v in d.items()}
    for heads in ("num_attention_heads", "num_key_value_heads", "num_heads"):
        if heads in out:
            out[heads] = max(1, out[heads] // k)
    if "hidden_size" in out and "num_attention_heads" in out:
        out["hidden_size"] = out["num_attention_heads"] * max(8, out["hidden_size"] // out["num_attention_heads"] // 2 * 2)
    if "embed_dim" in out and "num_heads" in out:
        out["embed_dim"] = out["num_heads"] * max(8, out["embed_dim"] // out["num_heads"] // 2 * 2)
    return out


def real_model(preset: str, shrink: int):
    """(model, inputs maker) for a preset's architecture with random weights."""
    import torch
    from transformers import (Idefics3Config, Idefics3ForConditionalGeneration, LlavaConfig, LlavaForConditionalGeneration,
                              Qwen2VLConfig, Qwen2VLForConditionalGeneration)

    if preset not in REAL:
        raise SystemExit(f"no real-size architecture for {preset} in bench/train.py yet (its model class needs "
                         f"its own input builder); available: {', '.join(REAL)}")
    family, text, vision = REAL[preset]
    text, vision = _shrunk(dict(text), shrink), _shrunk(dict(vision), shrink)
    vocab = text.pop("vocab_size", 151936 if family.startswith("qwen") else 32000)
    image_id = vocab - 1
    if family == "qwen2_5_vl":
        from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

        head = text["hidden_size"] // text["num_attention_heads"]
        section = [head // 8, head // 8 * 3 // 2, head // 2 - head // 8 - head // 8 * 3 // 2]
        depth = vision["depth"]
        full = sorted({min(depth - 1, i * depth // 4 + depth // 4 - 1) for i in range(4)})  # 7, 15, 23, 31 at 32
        cfg = Qwen2_5_VLConfig(text_config=dict(vocab_size=vocab, max_position_embeddings=4096,
                                                rope_scaling={"type": "mrope", "mrope_section": section}, **text),
                               vision_config=dict(patch_size=14, spatial_merge_size=2, temporal_patch_size=2,
                                                  window_size=112, fullatt_block_indexes=full,
                                                  out_hidden_size=text["hidden_size"], **vision),
                               image_token_id=image_id, video_token_id=image_id - 1, vision_start_token_id=image_id - 2,
                               vision_end_token_id=image_id - 3)
        model = Qwen2_5_VLForConditionalGeneration(cfg)
        inputs = _qwen_inputs(vocab, image_id)
    elif family in ("internvl", "llava_onevision"):
        model, inputs = _tiled_model(family, text, vision, vocab)
    elif family == "qwen2_vl":
        head = text["hidden_size"] // text["num_attention_heads"]
        section = [head // 8, head // 8 * 3 // 2, head // 2 - head // 8 - head // 8 * 3 // 2]
        cfg = Qwen2VLConfig(text_config=dict(vocab_size=vocab, max_position_embeddings=4096,
                                             rope_scaling={"type": "mrope", "mrope_section": section}, **text),
                            vision_config=dict(patch_size=14, spatial_merge_size=2, temporal_patch_size=2, **vision),
                            image_token_id=image_id, video_token_id=image_id - 1, vision_start_token_id=image_id - 2,
                            vision_end_token_id=image_id - 3)
        model = Qwen2VLForConditionalGeneration(cfg)
        inputs = _qwen_inputs(vocab, image_id)
    elif family == "llava":
        from transformers import CLIPVisionConfig, LlamaConfig

        cfg = LlavaConfig(vision_config=CLIPVisionConfig(**vision), text_config=LlamaConfig(vocab_size=vocab, **text),
                          image_token_index=image_id)
        model = LlavaForConditionalGeneration(cfg)
        side = vision["image_size"]
        n_img = (side // vision["patch_size"]) ** 2

        def inputs(batch: int, answer: int):
            ids = torch.randint(0, vocab - 10, (batch, 16 + n_img + answer))
            ids[:, 8:8 + n_img] = image_id
            return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids.clone(),
                    "pixel_values": torch.randn(batch, 3, side, side)}
    else:
        scale = vision.pop("scale_factor", 2)
        cfg = Idefics3Config(vision_config=vision, text_config=dict(vocab_size=vocab, **text), scale_factor=scale,
                             image_token_id=image_id)
        model = Idefics3ForConditionalGeneration(cfg)
        side = vision["image_size"]
        n_img = (side // vision["patch_size"]) ** 2 // scale ** 2

        def inputs(batch: int, answer: int):
            ids = torch.randint(0, vocab - 10, (batch, 16 + n_img + answer))
            ids[:, 8:8 + n_img] = image_id
            return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids.clone(),
                    "pixel_values": torch.randn(batch, 1, 3, side, side),
                    "pixel_attention_mask": torch.ones(batch, 1, side, side, dtype=torch.bool)}
    return model, inputs


def _qwen_inputs(vocab: int, image_id: int, grid: int = 32):
    """Qwen2-VL / Qwen2.5-VL inputs: a 448 x 448 image is 32 x 32 patches of 14, merged 2 x 2 -> 256 tokens."""
    import torch

    def inputs(batch: int, answer: int):
        n_img = grid * grid // 4
        ids = torch.randint(0, vocab - 10, (batch, 16 + n_img + answer))
        ids[:, 8:8 + n_img] = image_id
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids.clone(),
                "mm_token_type_ids": (ids == image_id).long(),
                "pixel_values": torch.randn(batch * grid * grid, 3 * 2 * 14 * 14),
                "image_grid_thw": torch.tensor([[1, grid, grid]] * batch)}
    return inputs


def _tiled_model(family: str, text: dict, vision: dict, vocab: int):
    """InternVL (one 448 x 448 tile per image) and LLaVA-OneVision (one 384 x 384 image, anyres): the
    number of image tokens is what the model's own vision tower makes of one image."""
    import torch

    image_id = vocab - 1
    if family == "internvl":
        from transformers import InternVLConfig, InternVLForConditionalGeneration

        cfg = InternVLConfig(vision_config=dict(image_size=448, patch_size=14, **vision),
                             text_config=dict(model_type="qwen2", vocab_size=vocab, **text), image_token_id=image_id)
        model = InternVLForConditionalGeneration(cfg)
        pixels = lambda batch: {"pixel_values": torch.randn(batch, 3, 448, 448)}  # noqa: E731
    else:
        from transformers import LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration

        cfg = LlavaOnevisionConfig(vision_config=dict(model_type="siglip_vision_model", **vision),
                                   text_config=dict(model_type="qwen2", vocab_size=vocab, **text),
                                   image_token_index=image_id, video_token_index=image_id - 1)
        model = LlavaOnevisionForConditionalGeneration(cfg)
        side = vision["image_size"]
        pixels = lambda batch: {"pixel_values": torch.randn(batch, 2, 3, side, side),  # noqa: E731
                                "image_sizes": torch.tensor([[side, side]] * batch)}
    with torch.no_grad():
        probe = pixels(1)
        feats = model.model.get_image_features(**probe)
        feats = getattr(feats, "pooler_output", feats)
        n_img = sum(f.shape[0] for f in feats) if isinstance(feats, (list, tuple)) else feats.reshape(-1, feats.shape[-1]).shape[0]

    def inputs(batch: int, answer: int):
        ids = torch.randint(0, vocab - 10, (batch, 16 + n_img + answer))
        ids[:, 8:8 + n_img] = image_id
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids.clone(), **pixels(batch)}
    return model, inputs


def bench_real(presets: list[str], steps: int, batch: int, shrink: int) -> list[dict]:
    import torch
    from peft import LoraConfig, get_peft_model

    from mella.train.config import load_train_config

    device = "cuda" if torch.cuda.is_available() else "cpu"
    unknown = [p for p in presets if p not in REAL]
    if unknown:  # before any model is built
        raise SystemExit(f"no real-size architecture for {', '.join(unknown)} in bench/train.py yet; available: "
                         f"{', '.join(REAL)}")
    rows = []
    for name in presets:
        cfg = load_train_config(None, {"preset": name})
        model, make = real_model(name, shrink)
        dtype = torch.bfloat16 if device == "cuda" else torch.float32
        model = model.to(device=device, dtype=dtype)
        model = get_peft_model(model, LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha,
                                                 target_modules=cfg.lora.target_modules, task_type="CAUSAL_LM"))
        model.train()
        optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        times, tokens = [], 0
        for step in range(steps + 2):  # 2 warm-up steps
            data = {k: (v.to(device=device, dtype=dtype) if v.is_floating_point() else v.to(device))
                    for k, v in make(batch, 256).items()}
            if device == "cuda":
                torch.cuda.synchronize()
            started = time.perf_counter()
            loss = model(**data).loss
            loss.backward()
            optim.step()
            optim.zero_grad()
            if device == "cuda":
                torch.cuda.synchronize()
            if step >= 2:
                times.append(time.perf_counter() - started)
                tokens += int(data["attention_mask"].sum())
        if device == "cuda":
            peak = torch.cuda.max_memory_allocated() / 2**30
        else:  # the process's resident memory after the steps (CPU: no allocator peak to read)
            import psutil

            peak = psutil.Process().memory_info().rss / 2**30
        rows.append({"preset": name, "device": device, "shrink": shrink, "batch": batch,
                     "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
                     "samples_per_s": round(batch * len(times) / sum(times), 2),
                     "tokens_per_s": round(tokens / sum(times)), "peak_gib": round(peak, 1)})
        del model, optim
        if device == "cuda":
            torch.cuda.empty_cache()
    return rows


def bench_tiny(steps: int) -> list[dict]:
    import psutil

    import tiny_models
    from helpers import make_table
    from mella.config import ComposeConfig
    from mella.recipes.compose import run_compose
    from mella.train.config import TrainConfig
    from mella.train.data import load_examples
    from mella.train.sft import run_train

    texts = (ROOT / "tests" / "data" / "ntrex" / "newstest2019-ref.ces.txt").read_text(encoding="utf-8").splitlines()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        metas = [{"caption.en": "A bridge.", "mt.text": texts[i], "mt.lang": "cs", "mt.qa.script": "Latn",
                  "mt.qa.lid_label": "cs", "mt.qa.length_ratio": 1.0} for i in range(32)]
        folder = make_table(tmp / "t", metas, steps=("mine", "fetch", "caption", "translate"), texts=texts[32:64])
        run_compose(folder, tmp / "ds", ComposeConfig.model_validate({"thick": True, "split": {"test_size": 0, "val_size": 0}}))
        examples = load_examples(tmp / "ds")
        for family in ("qwen2_vl", "llava", "idefics3"):
            model = getattr(tiny_models, f"tiny_{family}")(tmp / family, texts)
            cfg = TrainConfig(model=str(model), batch_size=4, grad_accum=1, max_steps=steps, logging_steps=1,
                              save_steps=10_000, lora={"r": 8})
            started = time.perf_counter()
            run_train(cfg, examples, tmp / f"run-{family}", "bench", log=lambda *_: None)
            wall = time.perf_counter() - started
            log = [json.loads(line) for line in (tmp / f"run-{family}" / "log.jsonl").read_text().splitlines()]
            final = [r for r in log if "train_runtime" in r][-1]
            tokens = max(r.get("num_tokens", 0) for r in log)
            rows.append({"model": f"tiny {family}", "device": "cpu", "steps": steps,
                         "samples_per_s": round(final["train_samples_per_second"], 1),
                         "tokens_per_s": round(tokens / final["train_runtime"]), "wall_s_incl_load": round(wall, 1),
                         "peak_rss_mib": psutil.Process().memory_info().rss // 2**20})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--real", action="store_true")
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--presets", default="qwen2-vl-2b,qwen2-vl-7b,llava-1.5-7b,idefics3-8b")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--shrink", type=int, default=1)
    args = ap.parse_args()
    import torch

    real = args.real or (torch.cuda.is_available() and not args.tiny)
    rows = bench_real(args.presets.split(","), args.steps, args.batch, args.shrink) if real else bench_tiny(args.steps)
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
