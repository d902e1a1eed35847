"""The transformers backend end to end on a tiny random LLaVA: task -> run -> report (structure only)."""

from __future__ import annotations

import json

import pytest

from mella.models import GenerationError, Request
from mella.eval.report import build_report
from mella.eval.runner import run_tasks
from mella.eval.tasks import write_task


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, data_dir):
    from tiny_models import tiny_llava

    texts = (data_dir / "ntrex" / "newstest2019-ref.ces.txt").read_text(encoding="utf-8").splitlines()
    texts += (data_dir / "ntrex" / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()
    return tiny_llava(tmp_path_factory.mktemp("tiny-llava"), texts)


@pytest.fixture()
def task(tmp_path, data_dir):
    from PIL import Image

    refs = (data_dir / "multi30k" / "test_2016_flickr.cs").read_text(encoding="utf-8").splitlines()[:5]
    items = []
    for n, ref in enumerate(refs):  # synthetic pixels: the model is random anyway
        Image.new("RGB", (40 + 7 * n, 30 + 3 * n), (40 * n, 200 - 30 * n, 90)).save(tmp_path / f"img{n}.jpg")
        items.append({"id": f"i{n}", "lang": "cs", "image": f"img{n}.jpg", "reference": ref})
    return write_task(tmp_path, "tiny_cs", "language", "cs", items)


def test_generator_batches_and_names_bad_images(model_dir, tmp_path):
    from PIL import Image

    from mella.models import get_generator

    Image.new("RGB", (50, 40), (255, 0, 0)).save(tmp_path / "a.png")
    gen = get_generator("transformers", model=str(model_dir), max_new_tokens=6)
    out = gen.generate([Request(str(tmp_path / "a.png"), "Podrobně popište tento obrázek.", "cs"),
                        Request("https://example.com/x.jpg", "x", "cs"), Request(str(tmp_path / "none.jpg"), "x", "cs"),
                        Request(str(tmp_path / "a.png"), "Describe this image in detail.", "en")])
    assert isinstance(out[0], str) and isinstance(out[3], str)
    assert isinstance(out[1], GenerationError) and out[1].kind == "image_not_local"
    assert isinstance(out[2], GenerationError) and out[2].kind == "image_missing"
    assert gen.params()["model"] == str(model_dir) and not gen.is_dummy


def test_full_loop_on_a_tiny_random_model(model_dir, task, tmp_path, monkeypatch):
    monkeypatch.setenv("MELLA_CACHE_DIR", str(tmp_path / "cache"))
    run = tmp_path / "run"
    first = run_tasks([task], run, "transformers", batch_size=2, model=str(model_dir), max_new_tokens=6,
                      log=lambda *_: None)
    assert first["tiny_cs"] == {**first["tiny_cs"], "done": 5, "generated": 5, "errors": 0}
    rows = [json.loads(line) for line in (run / "tiny_cs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [f"i{n}" for n in range(5)] and all(isinstance(r["output"], str) for r in rows)
    again = run_tasks([task], tmp_path / "run2", "transformers", batch_size=5, model=str(model_dir), max_new_tokens=6,
                      log=lambda *_: None)
    assert again["tiny_cs"]["cached"] == 5 and again["tiny_cs"]["generated"] == 0
    report = build_report([run], tmp_path / "report", n_boot=100)
    scores = report["runs"][0]["tasks"]["tiny_cs"]["scores"]
    assert scores["n"] == 5 and 0 <= scores["chrf"] < 100 and not report["runs"][0]["dummy"]
