"""`mella build CONFIG.yaml` from crawl to exports on the shipped demo (real pages, a real crawl with its
images), offline; model stages skipped with their reason; a rerun resumes without duplicates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from helpers import rows

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def build(out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mella.cli", "build", str(EXAMPLES / "demo.yaml"), "--out", str(out),
                           *extra], capture_output=True, text=True, timeout=600)


def test_demo_build_ends_with_real_images_samples_splits_exports_card_and_browser(tmp_path):
    out = tmp_path / "demo"
    proc = build(out)
    assert proc.returncode == 0, proc.stderr
    for stage, why in (("align", "no alignment model configured"), ("caption", "no captioning model configured"),
                       ("translate", "no translation model configured")):
        assert f"{stage}" in proc.stdout and why in proc.stdout
    report = json.loads((out / "build.json").read_text())
    ran = [s["stage"] for s in report["stages"] if s["status"] == "ran"]
    assert ran == ["mine", "fetch", "select", "compose", "export parquet", "export webdataset", "export llava",
                   "export sharegpt", "export swift", "card", "browse"]
    fetched = rows(out / "fetched")
    assert len(fetched) >= 4 and {r["image_source"] for r in fetched} == {"warc"}
    assert all(r["page_url"].startswith("https://www.idnes.cz/") for r in fetched)  # https page, http crawl
    samples = rows(out / "dataset" / "samples", "train") + rows(out / "dataset" / "samples", "test") \
        + rows(out / "dataset" / "samples", "validation")
    assert len(samples) == len(fetched) and {s["source"] for s in samples} == {"d_know"}
    assert {s["split"] for s in samples} == {"train", "validation", "test"}
    card = (out / "dataset" / "README.md").read_text(encoding="utf-8")
    assert "not_in_crawl" in card and "| cs | d_know |" in card
    assert (out / "dataset" / "browse.html").stat().st_size > 10_000
    llava = json.loads((out / "exports" / "llava" / "train.json").read_text(encoding="utf-8"))
    assert all((out / "exports" / "llava" / item["image"]).is_file() for item in llava)
    before = sorted(s["sample_id"] for s in samples)
    again = build(out)  # every stage resumes: same records, no duplicates
    assert again.returncode == 0, again.stderr
    assert [r["id"] for r in rows(out / "fetched")] == [r["id"] for r in fetched]
    after = [s["sample_id"] for split in ("train", "validation", "test") for s in rows(out / "dataset" / "samples", split)]
    assert sorted(after) == before
    statuses = {s["stage"]: s["status"] for s in json.loads((out / "build.json").read_text())["stages"]}
    assert all(statuses[s] == "done earlier" for s in ("mine", "fetch", "select", "compose"))
    assert "done     (an earlier run" in again.stdout
    changed = build(out, "--set", "compose.quota=2")  # refused before any stage runs, naming the section
    assert changed.returncode == 2 and "built with other settings in: compose" in changed.stderr
    assert "[1] mine" not in changed.stdout and "Traceback" not in changed.stderr
    assert build(out, "--workers", "2").returncode == 0  # how it runs is not what it computes


def test_build_errors_are_one_clear_message(tmp_path):
    bad_lang = build(tmp_path / "x", "--set", "mine.langs=[xx]")
    assert bad_lang.returncode == 2 and "unknown language" in bad_lang.stderr and "Traceback" not in bad_lang.stderr
    bad_key = build(tmp_path / "x", "--set", "compose.nope=1")
    assert bad_key.returncode == 2 and "compose.nope" in bad_key.stderr and "Traceback" not in bad_key.stderr
    bad_format = build(tmp_path / "x", "--set", "export.formats=[tfrecord]")
    assert bad_format.returncode == 2 and "unknown export format" in bad_format.stderr
    assert not (tmp_path / "x").exists()
