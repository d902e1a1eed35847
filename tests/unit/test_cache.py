"""The model-output cache: SQLite in WAL mode, shared by concurrent processes, keyed by content only."""

from __future__ import annotations

import json
import multiprocessing
import pickle
import subprocess
import sys

import pytest

from mella.cache import ContentCache, content_key, output_params


def test_put_get_many_and_len(tmp_path):
    cache = ContentCache("captions-x", tmp_path)
    assert cache.get("a") is None and cache.count() == 0
    cache.put("a", "Jedna")
    cache.put_many([("b", "Dvě"), ("c", "Tři"), ("a", "Jedna znovu")])
    assert cache.get("a") == "Jedna znovu" and cache.count() == 3
    assert cache.get_many(["a", "c", "z", "a"]) == {"a": "Jedna znovu", "c": "Tři"}
    assert cache.get_many([f"k{i}" for i in range(1200)]) == {}  # more keys than SQLite binds at once
    assert (tmp_path / "captions-x.sqlite").is_file()


def _writer(folder, worker: int, n: int) -> None:
    cache = ContentCache("shared", folder)
    for i in range(n):
        cache.put(f"{worker}-{i}", f"output {worker} {i}")


def test_concurrent_writers_lose_nothing(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(tmp_path, w, 300)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    cache = ContentCache("shared", tmp_path)
    assert cache.count() == 1200 and cache.get("3-299") == "output 3 299"


def test_a_pickled_cache_reopens_in_the_other_process(tmp_path):
    cache = ContentCache("x", tmp_path)
    cache.put("k", "v")
    clone = pickle.loads(pickle.dumps(cache))
    assert clone.get("k") == "v"


def test_an_old_jsonl_cache_is_imported_once(tmp_path):
    old = tmp_path / "translations-openai.jsonl"
    old.write_text(json.dumps({"key": "k1", "output": "Ahoj"}) + "\n" + '{"key": "k2", "outp' + "\n"
                   + json.dumps({"key": "k3", "output": "Sbohem"}) + "\n", encoding="utf-8")
    cache = ContentCache("translations-openai", tmp_path)
    assert cache.get("k1") == "Ahoj" and cache.get("k3") == "Sbohem" and cache.count() == 2  # the cut line skipped
    assert not old.exists() and (tmp_path / "translations-openai.jsonl.imported").is_file()


def test_keys_ignore_where_the_server_runs():
    a = {"model": "qwen2-vl-7b", "base_url": "http://10.0.0.1:8000/v1", "max_new_tokens": 300}
    b = dict(a, base_url="http://gpu-node-7:8001/v1")
    assert content_key("openai", output_params(a), "x") == content_key("openai", output_params(b), "x")
    assert content_key("openai", output_params(a), "x") != content_key("openai", output_params(dict(a, max_new_tokens=9)), "x")


def test_cli_merge_joins_per_node_caches(tmp_path):
    for node, items in (("n1", [("a", "1"), ("b", "2")]), ("n2", [("b", "2"), ("c", "3")])):
        ContentCache("captions-openai", tmp_path / node).put_many(items)
    into = tmp_path / "merged" / "captions-openai.sqlite"
    proc = subprocess.run([sys.executable, "-m", "mella.cli", "cache", "merge", str(tmp_path / "n1" / "captions-openai.sqlite"),
                           str(tmp_path / "n2" / "captions-openai.sqlite"), "--into", str(into)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"{into}: 3 entries" in proc.stdout
    assert ContentCache("captions-openai", into.parent).get_many(["a", "b", "c"]) == {"a": "1", "b": "2", "c": "3"}
    bad = tmp_path / "not.sqlite"
    bad.write_text("hello")
    proc = subprocess.run([sys.executable, "-m", "mella.cli", "cache", "merge", str(bad), "--into", str(into)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "is not a mella cache file" in proc.stderr and "Traceback" not in proc.stderr


def test_merge_whole_folders_by_kind_and_refuse_mixing_kinds(tmp_path):
    from mella.cache import ContentCache, merge

    for node, n in (("n1", 3), ("n2", 2)):
        for kind in ("captions-openai", "alignment"):
            cache = ContentCache(kind, folder=tmp_path / node)
            for i in range(n):
                cache.put(f"{kind}-{node}-{i}", str(i))
    result = merge([tmp_path / "n1", tmp_path / "n2"], tmp_path / "merged")
    assert result["files"] == {str(tmp_path / "merged" / "alignment.sqlite"): 5,
                               str(tmp_path / "merged" / "captions-openai.sqlite"): 5}
    with pytest.raises(ValueError, match="same name"):
        merge([tmp_path / "n1" / "captions-openai.sqlite"], tmp_path / "other" / "alignment.sqlite")
    assert not (tmp_path / "other").exists()  # refused before anything is written
    with pytest.raises(FileNotFoundError):
        merge([tmp_path / "empty-folder-that-is-not-there"], tmp_path / "m2")
