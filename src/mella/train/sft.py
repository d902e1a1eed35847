"""`mella train`: supervised fine-tuning of a vision-language model on mella samples with TRL's SFTTrainer.

    model = base model (hub id in the local cache, or a folder)   + LoRA on the language model (default)
                                                                  | QLoRA (4-bit base; CUDA + bitsandbytes)
                                                                  | full fine-tuning (vision tower frozen)
    batches = VLMCollator: the model's processor and chat template, labels on the answer only

The run folder: ``run.json`` (what to load: base model + adapter, or weights), ``adapter/`` (or
``model/``; ``merged/`` on request), ``config.yaml`` (the resolved config), ``data_manifest.json``
(every sample id with its content hash, counts per language x source), ``log.jsonl`` (loss and learning
rate per logging step, written as they come) and ``loss.png``; ``checkpoints/`` lets a rerun resume.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mella.train.config import VISION_PARTS, TrainConfig
from mella.train.data import Example, manifest


def as_dataset(examples: list[Example]):
    """Examples as the Trainer reads them (an ``images`` column marks a vision dataset for TRL)."""
    from datasets import Dataset

    return Dataset.from_list([{"images": [e.image], "instruction": e.instruction, "response": e.response,
                               "id": e.sample_id} for e in examples])


def last_checkpoint(folder: Path) -> str | None:
    steps = [(int(p.name.split("-")[1]), p) for p in folder.glob("checkpoint-*") if p.name.split("-")[1].isdigit()
             and (p / "trainer_state.json").is_file()]
    return str(max(steps)[1]) if steps else None


def trainable_model(cfg: TrainConfig, device: str):
    """(processor, model) ready to train: LoRA / QLoRA adapters or full weights, vision tower frozen."""
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(cfg.model)
    kwargs = {}
    if cfg.method == "qlora":
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise ValueError("QLoRA needs bitsandbytes and a CUDA GPU: pip install bitsandbytes, or use "
                             "method: lora") from None
        if device != "cuda":
            raise ValueError("QLoRA needs a CUDA GPU; on this machine use method: lora")
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                           bnb_4bit_compute_dtype=torch.bfloat16)
    dtype = {"auto": "auto", "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[cfg.dtype]
    model = AutoModelForImageTextToText.from_pretrained(cfg.model, dtype=dtype, **kwargs)
    if cfg.method == "full":
        if cfg.freeze_vision:
            for name, param in model.named_parameters():
                if any(part in name.split(".") for part in VISION_PARTS):
                    param.requires_grad = False
        return processor, model
    from peft import LoraConfig, get_peft_model

    if cfg.method == "qlora":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.gradient_checkpointing)
    targets = [n for n, _ in model.named_modules() if re.fullmatch(cfg.lora.target_modules, n)]
    if not targets:
        raise ValueError(f"lora.target_modules {cfg.lora.target_modules!r} matches no module of {cfg.model}")
    peft_cfg = LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                          target_modules=cfg.lora.target_modules, task_type="CAUSAL_LM")
    return processor, get_peft_model(model, peft_cfg)


def _callback(log_path: Path, echo):
    from transformers import TrainerCallback

    class JsonlLog(TrainerCallback):
        """Every log line (loss, learning rate...) appended as it comes, and a short line on the terminal;
        on resume, lines after the checkpoint's step are dropped (they are about to be made again)."""

        def on_train_begin(self, args, state, control, **kwargs):
            if log_path.is_file():
                kept = [line for line in log_path.read_text(encoding="utf-8").splitlines()
                        if line.strip() and json.loads(line)["step"] <= state.global_step]
                log_path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")

        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = logs or {}
            with open(log_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"step": state.global_step, **logs}) + "\n")
            shown = [f"{k} {logs[k]:.4g}" for k in ("loss", "eval_loss", "learning_rate") if k in logs]
            if shown:
                echo(f"  step {state.global_step}/{state.max_steps}: " + ", ".join(shown))

    return JsonlLog()


def run_train(cfg: TrainConfig, examples: list[Example], out: str | Path, data_ref: str,
              eval_examples: list[Example] | None = None, log=print) -> dict:
    """Trains (or resumes, or finds done) the run in ``out``; returns run.json's content."""
    import torch
    import yaml

    from mella.models import check_local_model
    from mella.recipes.common import atomic_json, open_output

    if not examples:
        raise ValueError(f"no training samples in {data_ref} for splits {cfg.splits} and sources {cfg.sources}")
    check_local_model(cfg.model, "vlm")
    out = Path(out)
    with open_output(out, [data_ref], cfg.model_dump(), kind="run"):
        run_file = out / "run.json"
        if run_file.is_file() and json.loads(run_file.read_text(encoding="utf-8")).get("completed"):
            log(f"{out}: already trained (run.json); nothing to do")
            return json.loads(run_file.read_text(encoding="utf-8"))
        (out / "config.yaml").write_text(yaml.safe_dump(cfg.model_dump(), allow_unicode=True, sort_keys=False),
                                         encoding="utf-8")
        atomic_json(out / "data_manifest.json", manifest(examples, data_ref))
        device = "cuda" if torch.cuda.is_available() else "cpu"
        processor, model = trainable_model(cfg, device)
        trainer = _trainer(cfg, model, processor, examples, eval_examples, out, device, log)
        resume = last_checkpoint(out / "checkpoints")
        if resume:
            log(f"resuming from {resume}")
        result = trainer.train(resume_from_checkpoint=resume)
        saved = _save(cfg, trainer.model, processor, out)
        plot_loss(out / "log.jsonl", out / "loss.png")
        info = {"base_model": cfg.model, "preset": cfg.preset, "method": cfg.method, **saved, "completed": True,
                "global_step": trainer.state.global_step, "train_loss": result.training_loss,
                "samples": len(examples), "data": data_ref, "device": device}
        atomic_json(run_file, info)
        return info


def _trainer(cfg: TrainConfig, model, processor, examples, eval_examples, out: Path, device: str, log=print):
    import torch
    from transformers.trainer_callback import PrinterCallback, ProgressCallback
    from trl import SFTConfig, SFTTrainer

    from mella.train.collate import VLMCollator

    bf16 = device == "cuda" and torch.cuda.is_bf16_supported() and cfg.dtype in ("auto", "bfloat16")
    has_eval = bool(eval_examples)
    args = SFTConfig(
        output_dir=str(out / "checkpoints"), per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size, gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.learning_rate, num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
        warmup_steps=cfg.warmup_ratio, weight_decay=cfg.weight_decay,  # warmup_steps < 1: a share of the steps
        logging_steps=min(cfg.logging_steps, cfg.max_steps) if cfg.max_steps > 0 else cfg.logging_steps,
        logging_first_step=True,  # a short run still logs its loss (and gets loss.png)
        save_steps=cfg.save_steps, save_total_limit=cfg.save_total_limit, seed=cfg.seed, data_seed=cfg.seed,
        eval_strategy="steps" if has_eval else "no", eval_steps=cfg.save_steps if has_eval else None,
        remove_unused_columns=False, dataset_kwargs={"skip_prepare_dataset": True}, report_to=[],
        bf16=bf16, fp16=False, use_cpu=device != "cuda", gradient_checkpointing=cfg.gradient_checkpointing,
        max_length=None, dataloader_num_workers=0, disable_tqdm=True)
    collator = VLMCollator(processor, cfg.max_length, cfg.image_max_pixels, cfg.image_min_pixels)
    trainer = SFTTrainer(model=model, args=args, data_collator=collator, train_dataset=as_dataset(examples),
                         eval_dataset=as_dataset(eval_examples) if has_eval else None, processing_class=processor,
                         callbacks=[_callback(out / "log.jsonl", log)])
    for noisy in (PrinterCallback, ProgressCallback):  # the log file and our one line per log step say it
        trainer.remove_callback(noisy)
    return trainer


def _save(cfg: TrainConfig, model, processor, out: Path) -> dict:
    """Adapter (or full weights) + processor; merged weights on request. Written under temporary names."""
    import shutil

    def write(folder: str, m) -> None:
        tmp = out / f".{folder}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        m.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        shutil.rmtree(out / folder, ignore_errors=True)
        tmp.rename(out / folder)

    if cfg.method == "full":
        write("model", model)
        return {"adapter": None, "weights": "model"}
    write("adapter", model)
    saved = {"adapter": "adapter", "weights": None}
    if cfg.merge:
        write("merged", model.merge_and_unload())
        saved["merged"] = "merged"
    return saved


def plot_loss(log_path: Path, png: Path) -> Path | None:
    """Training (and validation) loss and the learning rate per step."""
    if not log_path.is_file():
        return None
    from mella.report.plots import _plt, _save as save_png

    rows = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    train = [(r["step"], r["loss"]) for r in rows if "loss" in r]
    evals = [(r["step"], r["eval_loss"]) for r in rows if "eval_loss" in r]
    lr = [(r["step"], r["learning_rate"]) for r in rows if "learning_rate" in r]
    if not train:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(*zip(*train), "o-" if len(train) < 20 else "-", label="train loss", color="#4c72b0", markersize=3)
    if evals:
        ax.plot(*zip(*evals), "o-", label="validation loss", color="#c44e52")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if lr:
        ax2 = ax.twinx()
        ax2.plot(*zip(*lr), ":", color="#55a868", label="learning rate")
        ax2.set_ylabel("learning rate")
    ax.legend(loc="upper right", fontsize=8)
    save_png(fig, png)
    return png
