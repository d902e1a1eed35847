"""Build tasks -> run a backend (dummy; a local OpenAI-compatible HTTP server) -> report."""

from __future__ import annotations

import json

import pytest

from chat_server import ChatServer
from mella.config import ComposeConfig, MineConfig
from mella.eval import build
from mella.eval.report import build_report
from mella.eval.runner import read_outputs, run_tasks
from mella.eval.tasks import load_task
from mella.recipes.compose import run_compose
from mella.recipes.mine import run_mine


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MELLA_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def tasks(tmp_path_factory, data_dir):
    root = tmp_path_factory.mktemp("tasks")
    mined = root / "mined"
    run_mine([data_dir / "fundus"], mined, MineConfig(langs=["ko", "ar"]))
    # the fundus pages are one site per language: split by image only, half of each language to test
    cfg = ComposeConfig.model_validate({"split": {"group_by": ["image"], "test_size": 0.5, "val_size": 0}})
    run_compose(mined, root / "dataset", cfg)
    paths = build.from_dataset(root / "dataset", root / "tasks", per_lang=5)
    paths += build.from_wit(data_dir / "wit" / "wit_vi_ar.jsonl", root / "tasks", limit=4, kind="language")
    paths.append(build.from_multi30k(data_dir / "multi30k" / "test_2016_flickr.cs",
                                     data_dir / "multi30k" / "test_2016_flickr.txt", "cs", root / "tasks", limit=4))
    return paths


def test_build_writes_tasks_with_items(tasks):
    names = sorted(p.stem for p in tasks)
    assert names == ["culture_ar", "culture_ko", "multi30k_cs", "wit_language_ar", "wit_language_vi"]
    culture = load_task([p for p in tasks if p.stem == "culture_ko"][0])
    items = culture.items()
    assert culture.kind == "culture" and culture.prompt.startswith("이 이미지") and len(items) == 5  # half of 11
    assert all(i["keywords"] and i["image"].startswith("https://") for i in items)
    m30k = load_task([p for p in tasks if p.stem == "multi30k_cs"][0])
    assert m30k.items()[0]["reference"].startswith("Muž v oranžovém klobouku")
    assert m30k.items()[0]["image"].endswith(".jpg")


def test_dummy_run_resumes_and_is_labelled(tmp_path, tasks):
    run = tmp_path / "dummy"
    first = run_tasks(tasks, run, "dummy", batch_size=2, log=lambda *_: None)
    assert all(s["errors"] == 0 and s["generated"] == s["done"] for s in first.values())
    again = run_tasks(tasks, run, "dummy", batch_size=2, log=lambda *_: None)
    assert all(s["generated"] == 0 for s in again.values())  # nothing redone
    lines = (run / "culture_ko.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5  # no duplicates after the rerun
    assert json.loads((run / "run.json").read_text())["dummy"] is True
    with pytest.raises(ValueError, match="unknown backend"):
        run_tasks(tasks, run, "nope")


def scripted(answer, state):
    """A reply function: fail the first ``state["fail_first"]`` requests with ``state["status"]``."""
    def reply(body, n):
        return (state["status"], "") if n <= state["fail_first"] else (200, answer(body))
    return reply


def test_openai_backend_over_http_with_retries_cache_and_report(tmp_path, tasks):
    culture = [p for p in tasks if p.stem.startswith("culture")]
    answers = {}
    for path in culture:
        for item in load_task(path).items():
            answers[item["image"]] = item["reference"]  # a "model" that knows half of each alt-text
    half = lambda text: " ".join(text.split()[: max(1, len(text.split()) // 2)])  # noqa: E731
    state = {"fail_first": 2, "status": 503}
    server = ChatServer(scripted(lambda body: half(answers[body["messages"][0]["content"][0]["image_url"]["url"]]), state))
    try:
        run = tmp_path / "model"
        summary = run_tasks(culture, run, "openai", batch_size=3, model="tiny", base_url=server.url, backoff=0.01)
        assert all(s["errors"] == 0 for s in summary.values())  # the two 503s were retried
        payload = server.calls[-1]
        assert payload["model"] == "tiny" and payload["messages"][0]["content"][1]["type"] == "text"
        n_calls = len(server.calls)
        again = run_tasks(culture, tmp_path / "model-copy", "openai", batch_size=3, model="tiny", base_url=server.url)
        assert len(server.calls) == n_calls and all(s["cached"] == s["done"] for s in again.values())
    finally:
        server.close()
    baseline = tmp_path / "dummy"
    run_tasks(culture, baseline, "dummy", log=lambda *_: None)
    report = build_report([baseline, run], tmp_path / "report", n_boot=200)
    md = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "DUMMY test backend" in md and "Deltas against dummy" in md
    assert (tmp_path / "report" / "quadrant.png").stat().st_size > 5000
    assert "<table>" in (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    model_ko = [r for r in report["runs"] if r["run"] == "model"][0]["tasks"]["culture_ko"]
    dummy_ko = [r for r in report["runs"] if r["run"] == "dummy"][0]["tasks"]["culture_ko"]
    assert model_ko["scores"]["keyword_acc"] > 20 > dummy_ko["scores"]["keyword_acc"]
    low, high = model_ko["ci"]["meteor"]
    assert low <= model_ko["scores"]["meteor"] <= high


def test_failed_items_are_recorded_then_retried(tmp_path, tasks):
    culture = [p for p in tasks if p.stem == "culture_ar"]
    state = {"fail_first": 10**6, "status": 500}
    server = ChatServer(scripted(lambda body: "نص", state))
    try:
        summary = run_tasks(culture, tmp_path / "run", "openai", model="m", base_url=server.url, retries=1, backoff=0)
        assert summary["culture_ar"]["errors"] == 5
        rows = [json.loads(line) for line in (tmp_path / "run" / "culture_ar.jsonl").read_text().splitlines()]
        assert all(r["output"] is None and r["error"].startswith("http_500") for r in rows)
        state["fail_first"] = 0
        summary = run_tasks(culture, tmp_path / "run", "openai", model="m", base_url=server.url)
        assert summary["culture_ar"]["errors"] == 0 and len(read_outputs(tmp_path / "run", "culture_ar")) == 5
    finally:
        server.close()


def test_cli_eval_build_run_report(tmp_path, tasks):
    import subprocess
    import sys

    task = str([p for p in tasks if p.stem == "multi30k_cs"][0])
    run = subprocess.run([sys.executable, "-m", "mella.cli", "eval", "run", "--task", task, "--out",
                          str(tmp_path / "r"), "--backend", "dummy", "--model", "x"], capture_output=True, text=True,
                         timeout=300, env={**__import__("os").environ, "MELLA_CACHE_DIR": str(tmp_path / "c")})
    assert run.returncode == 0, run.stderr
    rep = subprocess.run([sys.executable, "-m", "mella.cli", "eval", "report", str(tmp_path / "r"), "--out",
                          str(tmp_path / "rep"), "--bootstrap", "100"], capture_output=True, text=True, timeout=300)
    assert rep.returncode == 0, rep.stderr
    scores = json.loads((tmp_path / "rep" / "scores.json").read_text())
    ran = scores["runs"][0]
    assert ran["dummy"] is True and ran["tasks"]["multi30k_cs"]["n"] == 4
    assert ran["tasks"]["multi30k_cs"]["examples"][0]["output"].startswith("[dummy backend output")
