"""Runs at scale: the same pipelines on Ray (datatrove's RayPipelineExecutor, a local Ray started by the
test, fractional CPUs) give the same records as local processes, and a job killed with SIGKILL at random
points, locally with several workers and on Ray, resumes to exactly an uninterrupted run's records (no
loss, no duplicates)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import rows
from mella.config import CaptionConfig, ExecutorConfig, FetchConfig, MineConfig

# 2 tasks in flight on a 2-core machine: each holds half a CPU, leaving room for Ray's own work
RAY = {"kind": "ray", "cpus_per_task": 0.5, "mem_per_cpu_gb": 0.5}
LANGS = ["ko", "ar", "cs"]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MELLA_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def crawl(tmp_path_factory, data_dir):
    """Three real pages (three tasks) as separate files."""
    root = tmp_path_factory.mktemp("crawl")
    for sub, name in (("kr", "MBN_2025_06_03"), ("lb", "LBCGroup_2026_01_08"), ("cz", "SeznamZpravy_2025_04_08")):
        folder = root / sub
        folder.mkdir()
        (folder / f"{name}.html.gz").write_bytes((data_dir / "fundus" / sub / f"{name}.html.gz").read_bytes())
        urls = (data_dir / "fundus" / sub / "urls.tsv").read_text(encoding="utf-8").splitlines()
        (folder / "urls.tsv").write_text("\n".join(line for line in urls if line.startswith(name)) + "\n",
                                         encoding="utf-8")
    return sorted(root.glob("*/*.html.gz"))


@pytest.fixture(scope="module")
def warc_crawl(tmp_path_factory):
    """A WARC with a Czech page and its 9 images (fetched from the WARC, no network): 3 fetch tasks."""
    from mella.warcpack import response_record, write_warc_gz

    root = tmp_path_factory.mktemp("warc")
    alts = ["Karlův most za úsvitu", "Pražský hrad nad Malou Stranou", "Vyšehradský hřbitov v zimě",
            "Rozhledna na Petříně", "Staroměstský orloj o půlnoci", "Parník na Vltavě", "Národní divadlo v noci",
            "Tančící dům od Franka Gehryho", "Secesní Obecní dům"]
    imgs = "".join(f'<img alt="{a}" src="/img/{i}.png">' for i, a in enumerate(alts))
    page = f'<html lang="cs"><head><title>Praha</title></head><body>{imgs}</body></html>'.encode()
    records = [response_record("https://praha.invalid/galerie", page)]
    records += [response_record(f"https://praha.invalid/img/{i}.png", noise_png(i), content_type="image/png")
                for i in range(len(alts))]
    return write_warc_gz(root / "praha.warc.gz", records)


def noise_png(seed: int) -> bytes:
    """A 120x100 PNG of random blocks: distinct pictures (flat colours share a perceptual hash)."""
    import io

    import numpy as np
    from PIL import Image

    blocks = np.random.default_rng(seed).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(blocks).resize((120, 100), Image.NEAREST).save(buf, format="PNG")
    return buf.getvalue()


def ids(folder: Path, pattern: str = "train") -> list[str]:
    return sorted(r["id"] for r in rows(folder, pattern))


def excluded_ids(folder: Path) -> list[str]:
    return sorted(r["id"] for r in rows(folder / "excluded", "excluded"))


def same_records(a: Path, b: Path) -> None:
    got, want = ids(a), ids(b)
    assert len(got) == len(set(got)), "duplicate records"
    assert got == want
    assert excluded_ids(a) == excluded_ids(b)


@pytest.fixture(scope="module")
def ray_up():
    """One local Ray for the module's in-process runs (mella joins an initialised Ray)."""
    import ray

    from mella.executors import connect

    connect(ExecutorConfig(**RAY))
    yield
    ray.shutdown()


def test_mine_fetch_caption_on_ray_equal_local(tmp_path, crawl, warc_crawl, ray_up):
    from mella.recipes.fetch import run_fetch
    from mella.recipes.ling import run_caption
    from mella.recipes.mine import run_mine

    for kind in ("local", "ray"):
        executor = RAY if kind == "ray" else {}
        run_mine(crawl, tmp_path / kind / "mined", MineConfig(langs=LANGS, workers=2, executor=executor))
        run_mine([warc_crawl], tmp_path / kind / "warc", MineConfig(langs=["cs"]))
        run_fetch(tmp_path / kind / "warc", tmp_path / kind / "fetched",
                  FetchConfig(network=False, shard_records=3, workers=2, executor=executor))
        run_caption(tmp_path / kind / "fetched", tmp_path / kind / "captioned",
                    CaptionConfig(backend="dummy", model="dummy", shard_records=4, workers=2, executor=executor))
    for stage in ("mined", "fetched"):
        same_records(tmp_path / "ray" / stage, tmp_path / "local" / stage)
    assert len(ids(tmp_path / "ray" / "fetched")) == 9
    ray_caps = {r["id"]: r["caption_en"] for r in rows(tmp_path / "ray" / "captioned")}
    assert ray_caps == {r["id"]: r["caption_en"] for r in rows(tmp_path / "local" / "captioned")}
    assert len(ray_caps) == 9 and all(ray_caps.values())
    executor_json = json.loads((tmp_path / "ray" / "fetched" / "logs" / "fetch" / "executor.json").read_text())
    assert executor_json["cpus_per_task"] == 0.5 and executor_json["tasks"] == 3  # datatrove's Ray executor ran it
    # a run started locally resumes on Ray (the executor is not part of the job's identity)
    again = run_mine(crawl, tmp_path / "local" / "mined", MineConfig(langs=LANGS, workers=2, executor=RAY))
    assert again["kept_total"] == len(ids(tmp_path / "local" / "mined"))


def test_a_model_loads_once_per_worker_not_once_per_task(tmp_path, warc_crawl, ray_up, data_dir):
    """5 alignment tasks with a (tiny, random) dual encoder: one local worker loads it once; on Ray, 2
    long-lived actors load it once each (datatrove's Ray executor would start a process per task)."""
    import tiny_models
    from mella.config import AlignConfig
    from mella.recipes.fetch import run_fetch
    from mella.recipes.ling import run_align
    from mella.recipes.mine import run_mine

    run_mine([warc_crawl], tmp_path / "mined", MineConfig(langs=["cs"]))
    run_fetch(tmp_path / "mined", tmp_path / "fetched", FetchConfig(network=False))
    texts = (data_dir / "ntrex" / "newstest2019-ref.ces.txt").read_text(encoding="utf-8").splitlines()
    clip = tiny_models.tiny_clip(tmp_path / "clip", texts)
    loads = {}
    for kind, workers, executor in (("local", 1, {}), ("ray", 2, RAY)):
        summary = run_align(tmp_path / "fetched", tmp_path / kind, AlignConfig(
            model=str(clip), shard_records=2, workers=workers, executor=executor))
        step = next(v for k, v in summary["steps"].items() if "align" in k.lower())
        loads[kind] = step["model_loads"]
        assert len(list((tmp_path / kind / "logs" / "align" / "completions").iterdir())) == 5
    assert loads == {"local": 1, "ray": 2}
    # every score in the cache: the model is not even loaded
    again = run_align(tmp_path / "fetched", tmp_path / "again", AlignConfig(model=str(clip), shard_records=2))
    assert next(v for k, v in again["steps"].items() if "align" in k.lower())["model_loads"] == 0
    assert {r["id"]: r["align_score"] for r in rows(tmp_path / "ray")} == \
        {r["id"]: r["align_score"] for r in rows(tmp_path / "local")}


def test_every_node_must_see_the_run_folder_and_inputs(tmp_path, crawl, ray_up, monkeypatch):
    """A multi-node cluster whose nodes do not share --out would write shards to each node's own disk."""
    from mella import executors
    from mella.recipes.mine import run_mine
    from mella.steps.read import InputReader

    # the node-side probe, for real on this (one-node) cluster: a path or token file it cannot see is named
    token_file = tmp_path / "token"
    token_file.write_text("abc")
    assert executors._missing_on_nodes([str(tmp_path)], {str(token_file): "abc"}) == {}
    missing = executors._missing_on_nodes([str(tmp_path / "nowhere")], {str(token_file): "other"})
    assert list(missing.values()) == [[str(tmp_path / "nowhere"), str(token_file)]]
    # what a fetch stage must share: its logs, the image store it writes; the folders of the inputs it reads
    from mella.images.store import ImageStore
    from mella.steps.fetch import ImageFetcher

    fetcher = ImageFetcher(None, None, ImageStore(tmp_path / "store"))
    paths, shared = executors._shared_paths(tmp_path / "logs", [InputReader([str(crawl[0])]), fetcher])
    assert paths == [str(Path(crawl[0]).resolve().parent)] and shared == [tmp_path / "logs", tmp_path / "store"]
    # the check: passes here (one node, one disk), and leaves no token behind
    executors.check_nodes_see(tmp_path / "logs", [InputReader([str(crawl[0])]), fetcher])
    assert list((tmp_path / "logs").iterdir()) == [] and list((tmp_path / "store").iterdir()) == []
    # a second node with its own disk: one clear error naming the node and the fix, before any work
    monkeypatch.setattr(executors, "_missing_on_nodes",
                        lambda paths, tokens: {"10.0.0.7 (ab12cd34)": sorted(tokens)[:1]})
    with pytest.raises(ValueError, match=r"10\.0\.0\.7 \(ab12cd34\): \S+ \(not the same folder there\).*every node mounts"):
        run_mine(crawl, tmp_path / "out", MineConfig(langs=["ko"], executor=RAY))
    assert not list((tmp_path / "out").rglob("*.parquet"))


def test_an_unreachable_cluster_is_one_message_before_any_work(tmp_path, crawl):
    proc = subprocess.run([sys.executable, "-m", "mella.cli", "mine", str(crawl[0]), "--out", str(tmp_path / "out"),
                           "--langs", "ko", "--ray-address", "127.0.0.1:9"], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, RAY_ADDRESS=""))
    assert proc.returncode == 2, proc.stderr
    assert "cannot start or join the Ray cluster at '127.0.0.1:9'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


# ---- kill -9 at random points, then resume --------------------------------------------------------------

JOB = """
import json, sys
from mella.config import CaptionConfig, FetchConfig, MineConfig
kind, inputs, out, cfg = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
if kind == "mine":
    from mella.recipes.mine import run_mine
    run_mine(inputs, out, MineConfig(**cfg))
elif kind == "fetch":
    from mella.recipes.fetch import run_fetch
    run_fetch(inputs[0], out, FetchConfig(**cfg))
else:
    from mella.recipes.ling import run_caption
    run_caption(inputs[0], out, CaptionConfig(**cfg))
"""


def session_pids(sid: int) -> list[int]:
    """Every process of a session (Ray starts its workers in process groups of their own)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid:
            out.append(int(stat.parent.name))
    return out


def kill_session(sid: int) -> None:
    """SIGKILL to the job and everything it started (workers, a local Ray), as a machine crash would."""
    for pid in session_pids(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# Loaded at start-up by every Python process of the job (pool workers and Ray workers too): the process
# that writes its MELLA_TEST_KILL_AT-th record (kept or dropped) kills the job's whole session.
KILL_HOOK = """
import os, signal
_at = int(os.environ.get("MELLA_TEST_KILL_AT", "0"))
if _at:
    from mella.steps import write
    _original, _count = write.ParquetShardWriter.write, [0]
    def _write_then_die(self, doc, rank=0, **kw):
        _count[0] += 1
        if _count[0] == _at:
            sid = os.getsid(0)
            for stat in os.listdir("/proc"):
                if stat.isdigit() and stat != str(os.getpid()):
                    try:
                        with open(f"/proc/{stat}/stat") as fh:
                            if int(fh.read().rsplit(")", 1)[1].split()[3]) == sid:
                                os.kill(int(stat), signal.SIGKILL)
                    except (OSError, ValueError, IndexError):
                        pass
            os.kill(os.getpid(), signal.SIGKILL)
        return _original(self, doc, rank, **kw)
    write.ParquetShardWriter.write = _write_then_die
"""


def run_job(kind: str, inputs: list, out: Path, cfg: dict, hook: Path, kill_at: int = 0) -> None:
    """Runs the job in its own session; with ``kill_at``, the process that writes its kill_at-th record
    kills the session (the job, its workers, a local Ray), as ``kill -9`` of everything would."""
    env = dict(os.environ, MELLA_QUIET="1", RAY_ADDRESS="", PYTHONPATH=str(hook), MELLA_TEST_KILL_AT=str(kill_at))
    args = [sys.executable, "-c", JOB, kind, json.dumps([str(i) for i in inputs]), str(out), json.dumps(cfg)]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode in ((0, -signal.SIGKILL) if kill_at else (0,)), err.decode()[-3000:]
    finally:
        kill_session(proc.pid)  # nothing outlives a job (a local Ray's processes included)


def records_written(out: Path) -> int:
    return len(rows(out)) + len(rows(out / "excluded", "excluded"))


def killed_then_resumed(kind, inputs, out, cfg, reference: Path, seed: int, kills: int, workers: int) -> list[int]:
    """Kills the job ``kills`` times at random points (a random record count per process), then lets it
    finish; returns the number of tasks marked complete at each kill (-1: the run had finished)."""
    hook = out.parent / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(KILL_HOOK)
    per_process = max(2, records_written(reference) // workers)
    rng = random.Random(seed)
    done_at_kill = []
    for _ in range(kills):
        run_job(kind, inputs, out, cfg, hook, kill_at=rng.randint(per_process // 3, per_process))
        finished = (out / "stats.json").exists()
        done_at_kill.append(-1 if finished else len(list(out.glob("logs/*/completions/*"))))
    run_job(kind, inputs, out, cfg, hook)
    assert not list(out.rglob(".*.tmp")) and not (out / "_stage1").exists()
    return done_at_kill


@pytest.mark.parametrize("kind", ["mine", "fetch", "caption"])
def test_local_workers_killed_at_random_points_resume_exactly(tmp_path, crawl, warc_crawl, kind):
    if kind == "mine":
        inputs, cfg = crawl, {"langs": LANGS, "workers": 2}
    else:
        from mella.recipes.fetch import run_fetch
        from mella.recipes.mine import run_mine

        run_mine([warc_crawl], tmp_path / "warc", MineConfig(langs=["cs"]))
        inputs, cfg = [tmp_path / "warc"], {"network": False, "shard_records": 2, "workers": 2}
        if kind == "caption":
            run_fetch(tmp_path / "warc", tmp_path / "fetched", FetchConfig(**cfg))
            inputs = [tmp_path / "fetched"]
            cfg = {"backend": "dummy", "model": "dummy", "shard_records": 2, "workers": 2}
    run_job(kind, inputs, tmp_path / "reference", cfg, tmp_path)
    done_at_kill = killed_then_resumed(kind, inputs, tmp_path / "killed", cfg, tmp_path / "reference", seed=len(kind),
                                       kills=3, workers=2)
    assert any(n > 0 for n in done_at_kill), done_at_kill  # a kill fell after some tasks had finished
    same_records(tmp_path / "killed", tmp_path / "reference")
    if kind == "caption":
        got = {r["id"]: r["caption_en"] for r in rows(tmp_path / "killed")}
        assert got == {r["id"]: r["caption_en"] for r in rows(tmp_path / "reference")} and len(got) == 9


@pytest.mark.parametrize("kind", ["mine", "fetch", "caption"])
def test_ray_killed_at_random_points_resumes_exactly(tmp_path, crawl, warc_crawl, kind):
    if kind == "mine":
        inputs, cfg = crawl, {"langs": LANGS, "workers": 2, "executor": RAY}
    else:
        from mella.recipes.fetch import run_fetch
        from mella.recipes.mine import run_mine

        run_mine([warc_crawl], tmp_path / "warc", MineConfig(langs=["cs"]))
        inputs, cfg = [tmp_path / "warc"], {"network": False, "shard_records": 2, "workers": 2, "executor": RAY}
        if kind == "caption":
            run_fetch(tmp_path / "warc", tmp_path / "fetched", FetchConfig(network=False, shard_records=2))
            inputs = [tmp_path / "fetched"]
            cfg = {"backend": "dummy", "model": "dummy", "shard_records": 2, "workers": 2, "executor": RAY}
    run_job(kind, inputs, tmp_path / "reference", cfg, tmp_path)
    done_at_kill = killed_then_resumed(kind, inputs, tmp_path / "killed", cfg, tmp_path / "reference", seed=7,
                                       kills=2, workers=2)
    assert any(n > 0 for n in done_at_kill), done_at_kill
    same_records(tmp_path / "killed", tmp_path / "reference")
    if kind == "caption":
        got = {r["id"]: r["caption_en"] for r in rows(tmp_path / "killed")}
        assert got == {r["id"]: r["caption_en"] for r in rows(tmp_path / "reference")} and len(got) == 9
