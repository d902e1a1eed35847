"""`mella train` on tiny randomly initialised vision-language models built from configs (no download, CPU):
the label mask token by token, the loss going down, save -> load -> generate, resume after a kill."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import tiny_models
from helpers import make_table
from mella.config import ComposeConfig
from mella.recipes.compose import run_compose
from mella.train.config import TrainConfig
from mella.train.data import load_examples

FAMILIES = ["qwen2_vl", "llava", "idefics3"]
TINY_LORA = {"r": 8, "alpha": 16, "dropout": 0.0}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MELLA_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def texts(data_dir):
    return (data_dir / "ntrex" / "newstest2019-ref.ces.txt").read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A composed dataset of 12 records with both sources (24 samples), 2 records in test."""
    root = tmp_path_factory.mktemp("train-data")
    # captions long enough for caption QA (8 words at least)
    metas = [{"caption.en": "A stone bridge with statues crosses a wide river in the old town.",
              "mt.text": f"Kamenný most se sochami vede přes širokou řeku ve starém městě, snímek {i}.", "mt.lang": "cs",
              "mt.qa.script": "Latn", "mt.qa.lid_label": "cs", "mt.qa.length_ratio": 1.0} for i in range(12)]
    folder = make_table(root / "translated", metas, steps=("mine", "fetch", "caption", "translate"),
                        texts=[f"Karlův most v Praze {i}" for i in range(12)])
    cfg = ComposeConfig.model_validate({"thick": True, "split": {"group_by": ["image"], "test_size": 2, "val_size": 0}})
    run_compose(folder, root / "ds", cfg)
    return root / "ds"


@pytest.fixture(scope="module")
def models(tmp_path_factory, texts):
    root = tmp_path_factory.mktemp("tiny-vlms")
    return {family: getattr(tiny_models, f"tiny_{family}")(root / family, texts) for family in FAMILIES}


@pytest.mark.parametrize("family", FAMILIES)
def test_labels_are_the_answer_only_token_by_token(family, models, dataset):
    from transformers import AutoProcessor

    from mella.train.collate import IGNORE, VLMCollator, image_token_ids

    processor = AutoProcessor.from_pretrained(models[family])
    examples = load_examples(dataset)[:2]
    examples[1].response = examples[1].response + " a ještě delší odpověď, aby se řádky lišily délkou"
    rows = [{"images": [e.image], "instruction": e.instruction, "response": e.response} for e in examples]
    batch = VLMCollator(processor, max_length=512)(rows)
    tokenizer = processor.tokenizer
    image_ids = image_token_ids(processor)
    assert batch["attention_mask"][0].sum() < batch["attention_mask"].shape[1]  # row 0 is padded
    for row, example in enumerate(examples):
        ids, labels = batch["input_ids"][row].tolist(), batch["labels"][row].tolist()
        mask = batch["attention_mask"][row].tolist()
        kept = [i for i, label in enumerate(labels) if label != IGNORE]
        assert kept == list(range(kept[0], kept[-1] + 1))  # one contiguous span: the answer
        for i, (token, label) in enumerate(zip(ids, labels)):
            if i in kept:
                assert label == token and mask[i] == 1 and token not in image_ids
            else:
                assert label == IGNORE  # prompt, image tokens, padding
        answer = tokenizer.decode([ids[i] for i in kept], skip_special_tokens=True)
        assert answer.strip().startswith(example.response)  # then only the template's end-of-turn
        prompt = tokenizer.decode(ids[: kept[0]], skip_special_tokens=False)
        assert example.instruction in prompt and example.response not in prompt
        assert any(token in image_ids for token in ids[: kept[0]])  # the image is in the (masked) prompt
        assert all(mask[i] == 0 for i in range(len(ids)) if i > kept[-1] and ids[i] == tokenizer.pad_token_id)


@pytest.mark.parametrize("family", FAMILIES)
def test_loss_goes_down_then_save_load_generate(family, models, dataset, tmp_path):
    from PIL import Image

    from mella.models import Request
    from mella.models.vlm import TransformersGenerator
    from mella.train.sft import run_train

    examples = load_examples(dataset)[:4]
    cfg = TrainConfig(model=str(models[family]), batch_size=2, grad_accum=1, max_steps=16, learning_rate=5e-3,
                      logging_steps=2, save_steps=8, warmup_ratio=0.0, lora=TINY_LORA, merge=family == "llava")
    info = run_train(cfg, examples, tmp_path / "run", str(dataset))
    if family == "llava":  # merged weights on request: a plain model folder that loads without peft
        from transformers import AutoModelForImageTextToText

        merged = AutoModelForImageTextToText.from_pretrained(tmp_path / "run" / "merged")
        assert not any("lora" in name for name, _ in merged.named_parameters())
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    losses = [row["loss"] for row in log if "loss" in row]
    assert len(losses) == 9 and losses[-1] < losses[0] - 0.2, losses  # step 1, then every 2: the same 4 samples
    assert info["completed"] and info["global_step"] == 16 and info["adapter"] == "adapter"
    manifest = json.loads((tmp_path / "run" / "data_manifest.json").read_text())
    assert manifest["counts"] and len(manifest["ids"]) == 4 and len(manifest["ids"][0]["sha256"]) == 64
    assert (tmp_path / "run" / "loss.png").stat().st_size > 3000 and (tmp_path / "run" / "config.yaml").is_file()
    image = tmp_path / "probe.png"
    Image.new("RGB", (60, 40), (10, 120, 200)).save(image)
    generator = TransformersGenerator(str(tmp_path / "run"), max_new_tokens=4)  # base + adapter, from run.json
    out = generator.generate([Request(str(image), "Co je na obrázku?", "cs")])
    assert isinstance(out[0], str) and out[0]
    again = run_train(cfg, examples, tmp_path / "run", str(dataset))  # done: nothing to do
    assert again["global_step"] == 16


KILL_AT_STEP = """
import os, signal
from transformers import trainer_callback
_original = trainer_callback.CallbackHandler.on_step_end
def _on_step_end(self, args, state, control):
    if state.global_step == 7 and not os.environ.get("MELLA_NO_KILL"):
        os.kill(os.getpid(), signal.SIGKILL)
    return _original(self, args, state, control)
trainer_callback.CallbackHandler.on_step_end = _on_step_end
"""


def test_a_killed_run_resumes_from_its_last_checkpoint(models, dataset, tmp_path):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(KILL_AT_STEP)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "mella.cli", "train", "--data", str(dataset), "--out", str(out), "--model",
           str(models["llava"]), "--max-steps", "10", "--set", "save_steps=3", "--set", "logging_steps=1",
           "--set", "batch_size=2", "--set", "grad_accum=1", "--set", "lora.r=8", "--set", "learning_rate=1e-3"]
    env = dict(os.environ, PYTHONPATH=str(hook), HF_HUB_OFFLINE="1")
    killed = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert (out / "checkpoints" / "checkpoint-6").is_dir() and not (out / "run.json").exists()
    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env | {"MELLA_NO_KILL": "1"})
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming from" in resumed.stdout and "checkpoint-6" in resumed.stdout
    steps = [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()
             if "loss" in json.loads(line)]
    assert steps == list(range(1, 11))  # every step once: the killed run's 1-6, then 7-10
    assert json.loads((out / "run.json").read_text())["global_step"] == 10


def test_train_refuses_what_it_cannot_do(models, dataset, tmp_path):
    base = [sys.executable, "-m", "mella.cli", "train", "--data", str(dataset), "--out", str(tmp_path / "r")]
    for extra, says in ((["--model", str(models["llava"]), "--method", "qlora"], "QLoRA needs"),
                        (["--preset", "gpt-5"], "unknown preset"),
                        (["--model", "nobody/nothing"], "not in the local Hugging Face cache"),
                        (["--model", str(models["llava"]), "--set", "lora.rank=4"], "lora.rank: unknown key"),
                        (["--model", str(models["llava"]), "--set", "lora.target_modules=nothing"], "matches no module")):
        proc = subprocess.run(base + extra, capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, HF_HUB_OFFLINE="1"))
        assert proc.returncode == 2 and says in proc.stderr and "Traceback" not in proc.stderr, (extra, proc.stderr)


def test_every_preset_is_valid():
    from mella.train.config import load_train_config, presets

    names = presets()
    assert {"qwen2-vl-2b", "qwen2-vl-7b", "qwen2.5-vl-3b", "qwen2.5-vl-7b", "internvl3-2b", "llava-1.5-7b",
            "llava-onevision-0.5b", "idefics3-8b", "smolvlm-2b"} <= set(names)
    for name in names:
        cfg = load_train_config(None, {"preset": name})
        assert cfg.model and cfg.method == "lora" and cfg.learning_rate > 0 and cfg.freeze_vision
    assert load_train_config(None, {"preset": "qwen2-vl-2b"}, ["learning_rate=3e-5"]).learning_rate == 3e-5


def test_export_formats_read_back_as_the_same_examples(dataset, tmp_path):
    from mella.recipes.export import run_export

    reference = sorted((e.sample_id, e.instruction, e.response) for e in load_examples(dataset))
    for fmt in ("parquet", "llava", "sharegpt", "swift"):
        run_export(dataset, tmp_path / fmt, fmt, splits=("train",))
        got = load_examples(tmp_path / fmt)
        assert sorted((e.sample_id, e.instruction, e.response) for e in got) == reference, fmt
        assert all(e.digest() for e in got[:2])


def test_the_ablation_runs_end_to_end_and_resumes(models, dataset, tmp_path):
    import yaml

    config = tmp_path / "ablate.yaml"
    config.write_text(yaml.safe_dump({
        "dataset": str(dataset), "out": "ablation",
        "train": {"model": str(models["qwen2_vl"]), "batch_size": 2, "grad_accum": 1, "max_steps": 4,
                  "learning_rate": 1e-3, "logging_steps": 2, "save_steps": 2, "lora": {"r": 8}},
        "eval": {"max_new_tokens": 4, "bootstrap": 100}}), encoding="utf-8")
    cmd = [sys.executable, "-m", "mella.cli", "experiment", "ablate", str(config)]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert first.returncode == 0, first.stderr[-3000:]
    out = tmp_path / "ablation"
    selection = json.loads((out / "selection.json").read_text())
    variants = selection["variants"]
    assert set(variants) == {"d_know", "d_ling", "both"}
    assert len({len(ids) for ids in variants.values()}) == 1  # the same budget for every variant
    assert all(i.endswith(":d_know") for i in variants["d_know"]) and all(i.endswith(":d_ling") for i in variants["d_ling"])
    assert {i.split(":")[-1] for i in variants["both"]} == {"d_know", "d_ling"}
    for variant in variants:
        run = json.loads((out / "runs" / variant / "run.json").read_text())
        assert run["global_step"] == selection["steps"] == 4  # the same steps
        assert (out / "eval" / variant / "culture_cs.jsonl").is_file()
    assert (out / "eval" / "base" / "language_cs.jsonl").is_file()
    report = json.loads((out / "report" / "ablation.json").read_text())
    cs = report["rows"]["cs"]
    assert set(cs) == {"culture", "language"} and set(cs["culture"]) == {"base", "d_know", "d_ling", "both"}
    assert cs["culture"]["base"]["n"] == 2 and "gain_ci" in cs["language"]["d_ling"]
    md = (out / "report" / "ablation.md").read_text()
    assert "| cs | culture (n=2) |" in md and "fewer than 30 test items" in md
    assert (out / "report" / "ablation.png").stat().st_size > 5000 and "<table>" in (out / "report" / "ablation.html").read_text()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert again.returncode == 0 and again.stdout.count("already trained") == 3  # every stage resumes
