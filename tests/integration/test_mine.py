"""`mella mine` end to end on real pages and real WARCs."""

from __future__ import annotations

import html
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from mella.config import MineConfig
from mella.recipes.mine import run_mine


def rows(folder: Path, pattern: str = "train-*.parquet") -> list[dict]:
    out = []
    for f in sorted(folder.glob(pattern)):
        out += pq.read_table(f).to_pylist()
    return out


@pytest.fixture(scope="module")
def fundus_run(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("fundus")
    summary = run_mine([data_dir / "fundus"], out, MineConfig(langs=["cs", "ko", "ar"]))
    return out, summary


@pytest.fixture(scope="module")
def cc_run(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("cc")
    run_mine([data_dir / "warc" / "warcfile.warc.gz"], out, MineConfig(langs=["ru", "cs"]))
    return out


def test_fundus_gold_alt_texts_are_kept(fundus_run, data_dir):
    out, _ = fundus_run
    from mella.steps.credits import split_credit

    kept = {" ".join(r["text"].split()) for r in rows(out)}
    gold = []
    for gold_file in sorted((data_dir / "fundus").glob("*/*.json")):
        for article in json.loads(gold_file.read_text(encoding="utf-8")).values():
            gold += [" ".join(html.unescape(im["description"]).split())
                     for im in article["images"] if im.get("description")]
    assert len(gold) >= 10
    # mella splits the photo credit off ("... 있다. 연합뉴스" -> text "... 있다." + credit "연합뉴스")
    recall = sum(split_credit(g)[0] in kept for g in gold) / len(gold)
    assert recall >= 0.95, [g for g in gold if g not in kept]


def test_fundus_records_have_the_promised_columns(fundus_run):
    out, summary = fundus_run
    records = rows(out)
    for col in ("id", "lang", "script", "lid_score", "text", "text_kind", "page_domain", "image_url", "page_url", "page_lang", "context"):
        assert col in records[0]
    assert {r["lang"] for r in records} == {"ko", "ar", "cs"}  # cs: figure captions of seznamzpravy.cz
    assert all(r["image_url"].startswith("https://") for r in records)
    assert all(r["page_url"].startswith("https://www.") for r in records)
    assert len({r["id"] for r in records}) == len(records)
    assert summary["kept_total"] == len(records)


def test_common_crawl_junk_is_dropped_with_reasons(cc_run):
    excluded = rows(cc_run / "excluded", "*.parquet")
    by_alt = {r["text"]: r["reason"] for r in excluded}
    assert by_alt["Яндекс.Метрика"] == "tracker_host"
    filename_alts = [a for a in by_alt if a.startswith(("98a8e084f2bc4be1.jpg", "2ee84a1a1f307328.gif"))]
    assert filename_alts and all(by_alt[a] == "filename_alt" for a in filename_alts)
    # the one Russian alt there is the company's name on its logo (http://01spb.ru/logo.png)
    assert by_alt["Стратегия пожарной безопасности"] == "logo_image"
    assert rows(cc_run) == []


def test_stats_json_counts_languages_and_reasons(cc_run):
    stats = json.loads((cc_run / "stats.json").read_text(encoding="utf-8"))
    assert stats["kept_by_lang"] == {} and stats["kept_total"] == 0
    assert stats["dropped_by_reason"]["filename_alt"] == 4
    assert stats["dropped_by_reason"]["tracker_host"] == 8
    assert stats["dropped_total"] == len(rows(cc_run / "excluded", "*.parquet"))


def test_output_loads_with_datasets(fundus_run, tmp_path):
    datasets = pytest.importorskip("datasets")
    out, summary = fundus_run
    cache = str(tmp_path / "hf-cache")  # not the user's cache: an earlier run's table at the same path is stale
    ds = datasets.load_dataset("parquet", data_dir=str(out), cache_dir=cache)
    assert list(ds) == ["train"] and ds["train"].num_rows == summary["kept_total"]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\nlanguage:") and "| Korean (`ko`) | 13 |" in card and "`svg_image`" in card
    assert datasets.load_dataset(str(out), cache_dir=cache)["train"].num_rows == summary["kept_total"]  # card's config


def test_rerun_resumes_without_duplicates(tmp_path, data_dir):
    out = tmp_path / "out"
    cfg = MineConfig(langs=["ko", "ar"])
    first = run_mine([data_dir / "fundus"], out, cfg)
    second = run_mine([data_dir / "fundus"], out, cfg)  # everything completed: nothing redone
    assert first["kept_total"] == second["kept_total"] == len(rows(out))


def test_a_different_job_into_the_same_dir_is_refused(tmp_path, data_dir):
    out = tmp_path / "out"
    run_mine([data_dir / "fundus" / "lb"], out, MineConfig(langs=["ar"]))
    with pytest.raises(ValueError, match="different job"):
        run_mine([data_dir / "fundus" / "lb"], out, MineConfig(langs=["ar", "ko"]))


# Loaded at start-up by every Python process of the job (pool workers included): reading the MBN page
# kills the whole process group, as `kill -9` of the job would.
KILL_HOOK = """
import os, signal
from mella.steps import read
_original = read.InputReader.read_html_file
def _read_then_die(self, path, rank):
    if path.name.startswith("MBN"):
        os.killpg(0, signal.SIGKILL)
    yield from _original(self, path, rank)
read.InputReader.read_html_file = _read_then_die
"""
JOB = "import sys; from mella.config import MineConfig; from mella.recipes.mine import run_mine; " \
      "run_mine([sys.argv[1]], sys.argv[2], MineConfig(langs=['ko', 'ar'], workers=int(sys.argv[3])))"


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_then_rerun_equals_an_uninterrupted_run(tmp_path, data_dir, workers):
    reference = tmp_path / "reference"
    run_mine([data_dir / "fundus"], reference, MineConfig(langs=["ko", "ar"], workers=workers))
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(KILL_HOOK)
    env = dict(os.environ, PYTHONPATH=str(hook))
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", JOB, str(data_dir / "fundus"), str(out), str(workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    assert proc.wait(timeout=300) == -signal.SIGKILL
    assert not (out / "stats.json").exists()
    run_mine([data_dir / "fundus"], out, MineConfig(langs=["ko", "ar"], workers=workers))
    key = lambda r: r["id"]  # noqa: E731
    assert sorted(rows(out), key=key) == sorted(rows(reference), key=key)
    assert sorted(r["id"] for r in rows(out / "excluded", "*.parquet")) == sorted(
        r["id"] for r in rows(reference / "excluded", "*.parquet"))
    assert not list(out.rglob(".*.tmp"))


def test_workers_give_the_same_records_as_one_process(tmp_path, data_dir, fundus_run):
    out = tmp_path / "parallel"
    summary = run_mine([data_dir / "fundus"], out, MineConfig(langs=["cs", "ko", "ar"], workers=2))
    single, _ = fundus_run
    assert sorted(r["id"] for r in rows(out)) == sorted(r["id"] for r in rows(single))
    assert summary["kept_total"] == len(rows(out))
    assert not (out / "_stage1").exists()


def test_bad_inputs_in_a_run_are_counted_not_fatal(tmp_path, data_dir):
    corrupt = tmp_path / "corrupt.warc.gz"
    blob = (data_dir / "warc" / "warcfile.warc.gz").read_bytes()
    corrupt.write_bytes(blob[: len(blob) // 2] + b"\xff" * 100)
    out = tmp_path / "out"
    summary = run_mine([corrupt, data_dir / "warcio" / "example.arc.gz", data_dir / "warcio" / "example-trunc.warc"],
                       out, MineConfig(langs=["ru"]))
    assert summary["dropped_by_reason"]["warc_framing_error"] == 2
    assert summary["dropped_by_reason"]["arc_format_unsupported"] == 1


def test_cli_mine_prints_a_table(tmp_path, data_dir):
    out = tmp_path / "cli"
    proc = subprocess.run([sys.executable, "-m", "mella.cli", "mine", str(data_dir / "fundus" / "kr"), "--out",
                           str(out), "--langs", "ko"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "ko" in proc.stdout and "kept" in proc.stdout and (out / "stats.json").exists()
    bad = subprocess.run([sys.executable, "-m", "mella.cli", "mine", str(data_dir / "fundus" / "kr"), "--out",
                          str(tmp_path / "x"), "--langs", "xx"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "unknown language" in bad.stderr


def test_cli_dry_run_resolves_config_layers(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("lid:\n  min_score: 0.7\nlangs: [cs]\n")
    proc = subprocess.run([sys.executable, "-m", "mella.cli", "mine", "x.warc.gz", "--out", str(tmp_path),
                           "--config", str(cfg), "--langs", "hu", "--set", "quality.max_page_repeats=5",
                           "--dry-run"], capture_output=True, text=True, timeout=120)
    resolved = json.loads(proc.stdout)
    assert resolved["langs"] == ["hu"] and resolved["lid"]["min_score"] == 0.7
    assert resolved["quality"]["max_page_repeats"] == 5


def test_hostile_pages_are_counted_drops_in_a_real_run(tmp_path):
    from mella.warcpack import response_record, write_warc_gz

    good = '<html lang="cs"><body><img alt="Karlův most v Praze za úsvitu" src="/a.jpg"></body></html>'
    huge_alt = f'<html><body><img alt="{"x" * 10_000_000}" src="/b.jpg"></body></html>'
    broken = '<html><body><div><img alt="Pražský hrad v zimě za soumraku" src=/c.jpg<p></span></div></td>'
    warc = write_warc_gz(tmp_path / "bad.warc.gz", [
        response_record("https://a.cz/good", good.encode()),
        response_record("https://a.cz/huge", huge_alt.encode()),
        response_record("https://a.cz/bin", b"\x00\x01\x02" * 1000),
        response_record("https://a.cz/broken", broken.encode()),
    ])
    cfg = MineConfig(langs=["cs"], read={"max_page_bytes": 20_000_000})
    summary = run_mine([warc], tmp_path / "out", cfg)
    assert summary["dropped_by_reason"]["alt_oversized"] == 1
    assert summary["dropped_by_reason"]["binary_content"] == 1
    assert summary["kept_by_lang"]["cs"] >= 1
    excluded = rows(tmp_path / "out" / "excluded", "*.parquet")
    assert max(len(r["text"] or "") for r in excluded) <= 1000


def test_a_language_added_by_config_is_mined(tmp_path):
    from mella.warcpack import response_record, write_warc_gz

    page = ('<html lang="sk"><body><img alt="Pohľad na Bratislavský hrad a Dunaj počas letného večera" src="/h.jpg">'
            '</body></html>')
    warc = write_warc_gz(tmp_path / "sk.warc.gz", [response_record("https://www.sme.sk/a", page.encode())])
    cfg = MineConfig(langs=["sk"], languages={"sk": {"name": "Slovak", "scripts": ["Latn"], "lid_labels": ["sk"],
                                                      "cctlds": ["sk"]}})
    summary = run_mine([warc], tmp_path / "out", cfg)
    assert summary["kept_by_lang"] == {"sk": 1}


def test_a_pair_tables_own_columns_are_carried(tmp_path):
    import pyarrow as pa

    rows_ = [{"image_url": f"https://vi.wikipedia.org/img/{n}.jpg", "caption": f"Chùa Một Cột ở Hà Nội, ảnh số {n}",
              "page_url": "https://vi.wikipedia.org/wiki/Ch%C3%B9a_M%E1%BB%99t_C%E1%BB%99t", "license": "CC BY-SA",
              "score": 0.5 + n, "meta": {"k": n}} for n in range(3)]
    jsonl = tmp_path / "pairs.jsonl"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows_), encoding="utf-8")
    parquet = tmp_path / "pairs.parquet"
    pq.write_table(pa.Table.from_pylist([{k: v for k, v in r.items() if k != "meta"} | {"rank": n}
                                         for n, r in enumerate(rows_)]), parquet)
    run_mine([jsonl], tmp_path / "a", MineConfig(langs=["vi"], dedup={"near": False}))
    kept = rows(tmp_path / "a")
    assert [r["license"] for r in kept] == ["CC BY-SA"] * 3 and kept[1]["score"] == "1.5"
    assert json.loads(kept[2]["meta"]) == {"k": 2}
    run_mine([parquet], tmp_path / "b", MineConfig(langs=["vi"], dedup={"near": False}))
    kept = rows(tmp_path / "b")
    assert [r["rank"] for r in kept] == [0, 1, 2] and kept[0]["score"] == 0.5  # parquet columns keep their type


def test_pair_table_columns_named_like_mellas_are_kept_renamed_and_odd_rows_are_named(tmp_path):
    import pyarrow as pa

    base = {"image_url": "https://ex.cz/0.jpg", "page_url": "https://ex.cz/p", "split": "bogus", "sha256": "zz",
            "know_reason": "mine", "reason": "x"}
    texts = ["Pražský hrad v zimě za soumraku", "Karlův most přes Vltavu v Praze", "Staroměstské náměstí s orlojem"]
    lines = ["\ufeff" + json.dumps(base | {"text": texts[0], "id": 0}, ensure_ascii=False),
             json.dumps(base | {"text": texts[1], "id": 1, "image_url": 12345}, ensure_ascii=False),
             json.dumps(base | {"text": ["list", "text"], "id": 2}, ensure_ascii=False),
             json.dumps(base | {"text": texts[2], "id": {"nested": 1}, "image_url": "https://ex.cz/2.jpg"},
                        ensure_ascii=False)]
    jsonl = tmp_path / "pairs.jsonl"
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = run_mine([jsonl], tmp_path / "a", MineConfig(langs=["cs"], dedup={"near": False}))
    kept = rows(tmp_path / "a")
    assert [r["text"] for r in kept] == [texts[0], texts[2]]  # the first row despite its byte-order mark
    assert kept[0]["input_split"] == "bogus" and kept[0]["input_sha256"] == "zz" and kept[0]["input_reason"] == "x"
    assert "sha256" not in kept[0] and kept[0]["input_know_reason"] == "mine"  # not taken for mella's own columns
    assert kept[1]["id"].endswith(":3")  # an id that is not a scalar: the row number
    assert summary["dropped_by_reason"]["bad_image_url"] == 1 and summary["dropped_by_reason"]["text_not_a_string"] == 1
    parquet = tmp_path / "pairs.parquet"
    pq.write_table(pa.Table.from_pylist([base | {"text": texts[0]}]), parquet)
    run_mine([parquet], tmp_path / "b", MineConfig(langs=["cs"]))
    assert rows(tmp_path / "b")[0]["input_split"] == "bogus"


def test_near_dedup_partitioned_by_band_drops_the_same_records(tmp_path, data_dir):
    """dedup.near_tasks > 1 shares the MinHash bands out among tasks (each holds one band group's keys) and
    drops exactly the records one streaming task drops: real NTREX sentences, near copies of them (punctuation,
    a word changed), a copy with another number, and short names left to exact dedup."""
    import json as json_

    from mella.config import MineConfig
    from mella.recipes.mine import run_mine
    from mella.shards import iter_rows

    lines = (data_dir / "ntrex" / "newstest2019-ref.ces.txt").read_text(encoding="utf-8").splitlines()[:120]
    rows = []
    for i, line in enumerate(lines):
        rows.append({"id": f"s{i}", "text": line, "image_url": f"https://img.example.org/{i}.jpg", "lang": "cs"})
        if i % 3 == 0:
            rows.append({"id": f"p{i}", "text": line.replace(",", " -").rstrip(".") + "!",
                         "image_url": f"https://img.example.org/p{i}.jpg", "lang": "cs"})
        if i % 5 == 0:
            words = line.split()
            words[len(words) // 2] = "opravdu"
            rows.append({"id": f"w{i}", "text": " ".join(words), "image_url": f"https://img.example.org/w{i}.jpg",
                         "lang": "cs"})
        if i % 7 == 0:
            rows.append({"id": f"n{i}", "text": line + " 2019", "image_url": f"https://img.example.org/n{i}.jpg",
                         "lang": "cs"})
    table = tmp_path / "pairs.jsonl"
    table.write_text("".join(json_.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    result = {}
    for tasks in (1, 3):
        out = tmp_path / f"near{tasks}"
        summary = run_mine([table], out, MineConfig(langs=["cs"], dedup={"near_tasks": tasks}))
        kept = sorted(r["id"] for r in iter_rows(out))
        dropped = sorted((r["id"], r["reason"]) for r in iter_rows(out / "excluded", prefix="excluded"))
        result[tasks] = (kept, dropped, summary["kept_total"], summary["dropped_by_reason"].get("dup_near"))
        assert not (out / "_stage2").exists() and not (out / "_near_flags").exists()
    assert result[1] == result[3]
    kept, dropped, total, near = result[3]
    assert total == len(kept) and near >= 40
    near_ids = {i.rpartition(":")[2] for i, r in dropped if r == "dup_near"}
    assert {"p0", "p3", "w0", "w5"} <= near_ids
    assert {"n0", "n7"} <= {i.rpartition(":")[2] for i in kept}  # another number: another thing


def test_partitioned_near_dedup_redoes_every_stage_for_a_broken_final_shard(tmp_path, data_dir):
    from mella.config import MineConfig
    from mella.recipes.mine import run_mine
    from mella.shards import iter_rows

    cfg = MineConfig(langs=["ko"], dedup={"near_tasks": 2})
    run_mine([data_dir / "fundus" / "kr"], tmp_path / "out", cfg)
    before = sorted(r["id"] for r in iter_rows(tmp_path / "out"))
    shard = next((tmp_path / "out").glob("train-*.parquet"))
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])  # a disk that filled up
    again = run_mine([data_dir / "fundus" / "kr"], tmp_path / "out", cfg)
    assert sorted(r["id"] for r in iter_rows(tmp_path / "out")) == before and again["kept_total"] == len(before)
