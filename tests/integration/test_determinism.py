"""A dataset build is reproducible (issue 11): the same input and config give the same kept ids, texts and
drop reasons under any PYTHONHASHSEED and with any number of workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
from pathlib import Path
from loguru import logger
logger.disable("datatrove")
from mella.config import MineConfig
from mella.recipes.mine import run_mine
from mella.shards import iter_rows
out = Path(sys.argv[1]); workers = int(sys.argv[2]); inputs = [Path(p) for p in sys.argv[3:]]
run_mine(inputs, out, MineConfig(workers=workers))
kept = sorted((r["id"], r["text"], r["lang"], r["lid_via"]) for r in iter_rows(out))
dropped = sorted((r["id"], r["reason"]) for r in iter_rows(out / "excluded", prefix="excluded"))
print(json.dumps({"kept": kept, "dropped": dropped}, ensure_ascii=False))
"""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, data_dir):
    """NTREX sentences as a pair table (scripts mixed in many: Thai and Korean with English names, Serbian
    with Latin look-alike letters), the Common Crawl WARC and the fundus pages."""
    folder = tmp_path_factory.mktemp("det")
    rows = []
    for code, name in (("th", "tha"), ("ko", "kor"), ("sr", "srp-Cyrl"), ("ru", "rus"), ("cs", "ces")):
        lines = (data_dir / "ntrex" / f"newstest2019-ref.{name}.txt").read_text(encoding="utf-8").splitlines()
        rows += [{"id": f"{code}-{i}", "text": t, "image_url": f"https://img.example.org/{code}/{i}.jpg",
                  "page_url": f"https://example.org/{code}/{i}"} for i, t in enumerate(lines[:60])]
    table = folder / "ntrex.jsonl"
    table.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return [table, data_dir / "warc" / "warcfile.warc.gz", data_dir / "fundus"]


def mine(tmp_path, inputs, seed: str, workers: int) -> dict:
    out = tmp_path / f"out-{seed}-{workers}"
    env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(out), str(workers), *map(str, inputs)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_same_records_under_any_hash_seed_and_worker_count(tmp_path, inputs):
    first = mine(tmp_path, inputs, "1", 1)
    assert len(first["kept"]) > 100 and len(first["dropped"]) > 50
    assert mine(tmp_path, inputs, "2", 1) == first
    assert mine(tmp_path, inputs, "3", 2) == first
