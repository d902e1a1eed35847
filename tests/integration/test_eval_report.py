"""The evaluation report (`mella eval report`): paired bootstrap intervals on deltas, the warning on tasks
under 30 items, the culture x language quadrant (METEOR only; fidelity on its own plot) with labels that
do not collide, thumbnails, and the page itself in a real headless Chromium (no network): it loads
without console errors, its images load, Arabic cells run right to left."""

from __future__ import annotations

import json
import os
import random
import shutil

import numpy as np
import pytest
from chat_server import ChatServer

from mella.eval import build
from mella.eval.report import (
    MIN_ITEMS,
    _Statistic,
    build_report,
    paired_delta,
    paired_mean_delta,
    plot_quadrant,
)
from mella.eval.runner import run_tasks
from mella.eval.tasks import load_task
from mella.models.openai_compat import image_url

CHROMIUM = os.environ.get("MELLA_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
LOCAL_AR = 2  # the first items of the Arabic culture task point at local image files, the rest at URLs


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MELLA_CACHE_DIR", str(tmp_path / "cache"))


def _png(path, color, size=(64, 48)):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)


@pytest.fixture(scope="module")
def reported(tmp_path_factory, data_dir):
    """Tasks: Arabic culture (35: eval build leaves out the 5 of 40 WIT rows with .tif/.svg images; two
    with local images) + language (35), Vietnamese culture only, Czech Multi30K language (3 items, local
    images). Runs: the dummy backend, and a "model" (a local OpenAI-compatible server) that answers every
    image with its reference."""
    root = tmp_path_factory.mktemp("report")
    tasks_dir = root / "tasks"
    wit = data_dir / "wit" / "wit_vi_ar.jsonl"
    paths = build.from_wit(wit, tasks_dir, kind="culture") + build.from_wit(wit, tasks_dir, kind="language")
    paths = [p for p in paths if p.stem != "wit_language_vi"]  # Vietnamese: culture only
    names = (data_dir / "multi30k" / "test_2016_flickr.txt").read_text().split()[:3]
    for k, name in enumerate(names):
        _png(tasks_dir / "flickr30k-images" / name, (40 * k, 120, 200))
    paths.append(build.from_multi30k(data_dir / "multi30k" / "test_2016_flickr.cs",
                                     data_dir / "multi30k" / "test_2016_flickr.txt", "cs", tasks_dir, limit=3))
    culture_ar = tasks_dir / "wit_culture_ar.jsonl"
    rows = [json.loads(line) for line in culture_ar.read_text(encoding="utf-8").splitlines()]
    for k in range(LOCAL_AR):
        _png(tasks_dir / "images" / f"ar_{k}.png", (200, 60 * k, 40))
        rows[k]["image"] = f"images/ar_{k}.png"
    culture_ar.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")

    answers = {}
    for path in paths:
        task = load_task(path)
        for item in task.items():
            answers[image_url(task.image_path(item)), task.prompt] = item["reference"]

    def reply(body, n):
        content = body["messages"][0]["content"]
        return 200, answers[content[0]["image_url"]["url"], content[1]["text"]]

    server = ChatServer(reply)
    try:
        run_tasks(paths, root / "model", "openai", batch_size=8, model="tiny", base_url=server.url)
    finally:
        server.close()
    run_tasks(paths, root / "dummy", "dummy", batch_size=16, log=lambda *_: None)
    scores = build_report([root / "dummy", root / "model"], root / "out", n_boot=200)
    return {"root": root, "out": root / "out", "scores": scores, "tasks": paths}


def test_paired_bootstrap_resamples_items_jointly_and_is_seeded():
    rng = random.Random(1)
    a = [rng.uniform(0, 100) for _ in range(50)]
    shifted = [x - 2 for x in a]  # the same items, 2 points lower: every paired resample sees exactly +2
    delta, (low, high) = paired_mean_delta(a, shifted, n_boot=300)
    assert delta == pytest.approx(2) and low == pytest.approx(2) and high == pytest.approx(2)
    shuffled = a[::-1]  # the same values, other items: the paired interval is wide and contains 0
    delta, (low, high) = paired_mean_delta(a, shuffled, n_boot=300)
    assert delta == pytest.approx(0, abs=1e-9) and low < -5 and high > 5
    assert paired_mean_delta(a, shuffled, n_boot=300) == paired_mean_delta(a, shuffled, n_boot=300)
    assert paired_mean_delta(a, shuffled, n_boot=300, seed=1) != paired_mean_delta(a, shuffled, n_boot=300)


def test_corpus_metric_intervals_resample_sentence_statistics():
    from mella.eval import metrics
    from mella.eval.report import corpus_stats

    hyps = ["a man in an orange hat", "a dog runs on grass", "a girl kicks a stick", "two men in a boat"]
    refs = ["a man in an orange hat stares", "a terrier runs on green grass", "a girl breaks a stick", "men fish"]
    for metric, corpus in (("bleu", metrics.bleu), ("chrf", metrics.chrf)):
        stat = _Statistic(metric, "en", corpus_stats(metric, hyps, refs, "en"))
        assert stat.on(np.arange(4)[None, :])[0] == pytest.approx(corpus(hyps, refs, "en"))
        worse = _Statistic(metric, "en", corpus_stats(metric, ["x"] * 4, refs, "en"))
        delta, (low, high) = paired_delta(stat, worse, 200)
        assert delta > 0 and low <= delta <= high


def test_deltas_have_paired_intervals_and_small_tasks_warn(reported):
    scores, out = reported["scores"], reported["out"]
    deltas = {d["task"]: d for d in scores["deltas"]}
    assert set(deltas) == {"wit_culture_ar", "wit_culture_vi", "wit_language_ar", "multi30k_cs"}
    ar = deltas["wit_culture_ar"]
    assert ar["run"] == "model" and ar["base"] == "dummy" and ar["n"] == 35 and not ar["few_items"]
    assert set(ar["metrics"]) == {"keyword_acc", "meteor", "bleu", "rouge_l", "chrf", "lang_fidelity"}
    for entry in ar["metrics"].values():
        low, high = entry["ci"]
        assert low <= entry["delta"] <= high
    kw = ar["metrics"]["keyword_acc"]
    assert kw["delta"] > 50 and kw["ci"][0] > 0  # the model names the keywords, the dummy does not
    runs = {r["run"]: r for r in scores["runs"]}
    expected = (runs["model"]["tasks"]["wit_culture_ar"]["scores"]["keyword_acc"]
                - runs["dummy"]["tasks"]["wit_culture_ar"]["scores"]["keyword_acc"])
    assert kw["delta"] == pytest.approx(expected)
    cs = deltas["multi30k_cs"]
    assert cs["n"] == 3 and cs["few_items"] and runs["model"]["tasks"]["multi30k_cs"]["few_items"]
    assert MIN_ITEMS == 30

    md = (out / "report.md").read_text(encoding="utf-8")
    page = (out / "report.html").read_text(encoding="utf-8")
    for text in (md, page):
        assert "n=3: too few items to compare runs" in text
        assert "n=35: too few" not in text
        assert "paired 95% bootstrap interval" in text
    assert "Deltas against dummy" in md and "<th>n</th>" in page
    assert any("multi30k_cs" in w and "n=3" in w for w in scores["warnings"])
    assert not any("wit_culture_ar" in w for w in scores["warnings"])

    again = build_report([reported["root"] / "dummy", reported["root"] / "model"], reported["root"] / "again",
                         n_boot=200)
    assert again["deltas"] == scores["deltas"]  # seeded: the same intervals every time
    assert json.loads((out / "scores.json").read_text(encoding="utf-8"))["deltas"] == json.loads(
        json.dumps(scores["deltas"]))


def test_quadrant_is_culture_against_meteor_and_fidelity_has_its_own_plot(reported):
    scores, out = reported["scores"], reported["out"]
    points = scores["quadrant"]
    assert sorted((p["run"], p["lang"]) for p in points) == [("dummy", "ar"), ("model", "ar")]
    runs = {r["run"]: r for r in scores["runs"]}
    for p in points:
        tasks = runs[p["run"]]["tasks"]
        assert p["language"] == tasks["wit_language_ar"]["scores"]["meteor"]
        assert p["culture"] == tasks["wit_culture_ar"]["scores"]["keyword_acc"]
    model = next(p for p in points if p["run"] == "model")
    assert model["language"] > 50 and model["culture"] > 50  # fluent and knowing: the "thick" quadrant
    # Vietnamese has perfect fidelity but no language task: it is left off, not put on a fidelity axis
    assert scores["not_on_quadrant"] == {"cs": "no culture task", "vi": "no language task"}
    assert (out / "quadrant.png").stat().st_size > 5000 and (out / "fidelity.png").stat().st_size > 5000
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "![culture x language](quadrant.png)" in md and "![language fidelity](fidelity.png)" in md
    assert "vi (no language task)" in md


def _overlaps(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_quadrant_labels_do_not_collide(tmp_path):
    points = []
    for r, run in enumerate(("base", "ft-know", "ft-ling")):
        for k, lang in enumerate(("ar", "cs", "ko", "th", "sr-Latn")):
            points.append({"run": run, "dummy": False, "lang": lang, "culture": 60 + r * 0.8 + k * 0.5,
                           "language": 55 + r * 0.6 - k * 0.4, "culture_ci": None, "language_ci": None,
                           "few_items": k == 0})
    points.append({"run": "base", "dummy": False, "lang": "vi", "culture": 99, "language": 99,
                   "culture_ci": (95, 100), "language_ci": (96, 100), "few_items": False})
    placed = plot_quadrant(points, tmp_path / "q.png")
    labels, markers = placed["labels"], placed["markers"]
    assert len(labels) == len(points) and (tmp_path / "q.png").stat().st_size > 5000
    for i, a in enumerate(labels):
        assert not any(_overlaps(a, b) for b in labels[i + 1:]), placed["label_text"][i]
        assert not any(_overlaps(a, m) for m in markers), placed["label_text"][i]
    assert plot_quadrant(points, tmp_path / "q2.png")["labels"] == labels  # deterministic


def test_examples_have_thumbnails_and_isolated_text(reported):
    out = reported["out"]
    md = (out / "report.md").read_text(encoding="utf-8")
    thumbs = sorted((out / "thumbs").glob("*.jpg"))
    assert len(thumbs) == LOCAL_AR + 3  # two Arabic local images + three Multi30K images, written once each
    for thumb in thumbs:
        assert f"](<thumbs/{thumb.name}>)" in md  # referenced relative to the report
    assert "](<https://upload.wikimedia.org/" in md  # remote images by their URL
    ar_ref = load_task(reported["tasks"][0]).items()[0]["reference"]
    assert "\u2068" + ar_ref + "\u2069" in md  # Markdown has no dir=auto: first-strong isolates instead
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "file://" not in page and str(reported["root"]) not in page  # nothing that breaks when moved


def test_report_in_headless_chromium(reported, tmp_path):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "headless Chromium is needed: apt-get install chromium (make test installs it)"
    out = reported["out"]
    png = (tmp_path / "fake.png")
    _png(png, (10, 200, 10))
    errors: list[str] = []
    remote: list[str] = []

    def serve(route):
        url = route.request.url
        if url.startswith("https://upload.wikimedia.org/"):
            remote.append(url)
            route.fulfill(status=200, content_type="image/png", body=png.read_bytes())
        else:
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.route("http*://**/*", serve)
        page.goto((out / "report.html").as_uri())

        warning = page.locator("p.warn", has_text="n=3: too few items to compare runs")
        assert warning.count() == 1 and warning.is_visible()
        assert page.locator("tr.few", has_text="multi30k_cs").count() >= 2  # a scores row per run + a delta row

        images = page.locator("table.examples img")
        assert images.count() == len(reported["scores"]["runs"][0]["tasks"]) * 3  # 4 tasks, 3 examples each
        for k in range(images.count()):
            images.nth(k).scroll_into_view_if_needed()
        page.wait_for_function("[...document.querySelectorAll('img')].every(i => i.complete)", timeout=10000)
        sizes = page.eval_on_selector_all("img", "els => els.map(e => [e.getAttribute('src').slice(0, 30), "
                                          "e.naturalWidth])")
        assert all(width > 0 for _, width in sizes), sizes  # every image, plots included, decoded
        assert sum(src.startswith("data:image/jpeg") for src, _ in sizes) == LOCAL_AR + 3
        lazy = page.locator("table.examples img[loading=lazy]").first
        assert lazy.get_attribute("src").startswith("https://upload.wikimedia.org/") and lazy.get_attribute("alt")
        assert remote, "remote thumbnails were requested"

        ar_table = page.locator("table.examples[data-task=wit_culture_ar]")
        cells = ar_table.locator("td.text")
        assert cells.count() == 3 * 3 and all(cells.nth(k).get_attribute("dir") == "auto" for k in range(9))
        reference = ar_table.locator("td.reference").first
        assert reference.evaluate("e => getComputedStyle(e).direction") == "rtl"
        assert reference.evaluate("e => getComputedStyle(e).textAlign") in ("start", "right")
        model = ar_table.locator("td.output[data-run=model]").first
        assert model.evaluate("e => getComputedStyle(e).direction") == "rtl"
        dummy = ar_table.locator("td.output[data-run=dummy]").first  # the dummy's marker text is English
        assert dummy.evaluate("e => getComputedStyle(e).direction") == "ltr"
        czech = page.locator("table.examples[data-task=multi30k_cs] td.reference").first
        assert czech.evaluate("e => getComputedStyle(e).direction") == "ltr"

        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert not errors, errors
    assert (tmp_path / "report.png").stat().st_size > 20000
