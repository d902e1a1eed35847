"""The MELLA dataset: one record table through every stage, samples, splits without leakage, exports that
their consumers load, the card, and eval tasks taken from the test split."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from chat_server import ChatServer
from helpers import make_table, rows
from mella.config import (AlignConfig, CaptionConfig, ComposeConfig, FetchConfig, SelectConfig, TranslateConfig)
from mella.recipes.compose import run_compose
from mella.recipes.export import run_export
from mella.recipes.ling import run_align, run_caption, run_select, run_translate
from mella.schema import COLUMNS, REGISTRY, step_columns

EN = ["A red tram crosses a stone bridge over a river at dawn.",
      "Two people sit at a wooden table with bowls of soup and bread.",
      "A large crowd holds flags in a city square in front of a church.",
      "A woman in a blue dress walks past a shop window with hats."]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MELLA_CACHE_DIR", str(tmp_path / "cache"))


def translator_server(data_dir):
    en = (data_dir / "ntrex" / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()
    cs = (data_dir / "ntrex" / "newstest2019-ref.ces.txt").read_text(encoding="utf-8").splitlines()
    to_cs = dict(zip(en, cs))
    return ChatServer(lambda body, n: (200, to_cs.get(body["messages"][1]["content"], "Přeložený popis obrázku.")))


def fetched_with_user_column(tmp_path, n=4):
    """A fetched table plus a column mella does not know (a user's own), which every stage must carry."""
    import pyarrow as pa

    folder = make_table(tmp_path / "fetched", [{} for _ in range(n)])
    path = next(folder.glob("train-*.parquet"))
    table = pq.read_table(path)
    pq.write_table(table.append_column("user_note", pa.array([f"note {i}" for i in range(n)])), path)
    return folder


@pytest.mark.parametrize("order", [("align", "caption", "translate"), ("caption", "align", "translate"),
                                   ("caption", "translate", "align")])
def test_every_stage_carries_every_column_in_any_order(tmp_path, data_dir, order):
    import tiny_models

    texts = (data_dir / "ntrex" / "newstest2019-ref.ces.txt").read_text(encoding="utf-8").splitlines()
    clip = tiny_models.tiny_clip(tmp_path / "clip", texts)
    en = (data_dir / "ntrex" / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()
    server = translator_server(data_dir)
    captioner = ChatServer(lambda body, n: (200, en[n % 4]))
    runs = {
        "align": lambda a, b: run_align(a, b, AlignConfig(model=str(clip), batch_size=2)),
        "caption": lambda a, b: run_caption(a, b, CaptionConfig(backend="openai", model="cap", base_url=captioner.url)),
        "translate": lambda a, b: run_translate(a, b, TranslateConfig(backend="openai", model="mt", base_url=server.url,
                                                                      similarity=False)),
    }
    try:
        current = fetched_with_user_column(tmp_path)
        for n, stage in enumerate(order):
            out = tmp_path / f"{n}-{stage}"
            runs[stage](current, out)
            current = out
        run_select(current, tmp_path / "selected", SelectConfig())
    finally:
        server.close()
        captioner.close()
    final = rows(tmp_path / "selected")
    assert len(final) == 4 and [r["id"] for r in final] == ["r000", "r001", "r002", "r003"]
    expected = {c.name for c in REGISTRY if c.step in ("mine", "fetch", "align", "caption", "translate", "select")}
    assert expected <= set(final[0]) and "user_note" in final[0]
    assert [r["user_note"] for r in final] == [f"note {i}" for i in range(4)]
    assert all(r["align_score"] is not None and r["caption_en"] and r["translation"] for r in final)
    assert all(r["text"] == f"alt {i}" and r["sha256"] for i, r in enumerate(final))
    assert not any(f.name == "image" for f in pq.read_schema(next((tmp_path / "selected").glob("train-*.parquet"))))
    manifest = json.loads((tmp_path / "selected" / "table.json").read_text())
    assert manifest["stages"] == ["mine", "fetch", *order, "select"]
    assert (tmp_path / "selected" / manifest["image_store"]).resolve() == (tmp_path / "fetched" / "images").resolve()


@pytest.mark.parametrize("command, folder_kind, needs", [
    ("caption", "mined", "mella fetch"), ("align", "mined", "mella fetch"),
    ("translate", "fetched", "mella caption"), ("fetch", "crawl", "mella mine"),
])
def test_wrong_kind_of_input_names_the_command_that_makes_the_right_one(tmp_path, data_dir, command, folder_kind,
                                                                        needs):
    if folder_kind == "mined":
        folder = make_table(tmp_path / "mined", [{}], steps=("mine",), images=False)
    elif folder_kind == "fetched":
        folder = make_table(tmp_path / "fetched", [{}])
    else:
        folder = tmp_path / "crawl"
        folder.mkdir()
        (folder / "a.warc.gz").write_bytes((data_dir / "warc" / "warcfile.warc.gz").read_bytes())
    extra = {"caption": ["--model", "m", "--backend", "dummy"], "translate": ["--model", "m"],
             "align": ["--model", "m"], "fetch": []}[command]
    proc = subprocess.run([sys.executable, "-m", "mella.cli", command, str(folder), "--out", str(tmp_path / "o"), *extra],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert needs in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()  # refused before any work


def test_export_card_browse_refuse_a_table_that_is_not_a_dataset(tmp_path):
    folder = make_table(tmp_path / "fetched", [{}])
    for args in (["export", str(folder), "--format", "llava", "--out", str(tmp_path / "x")], ["card", str(folder)],
                 ["browse", str(folder)], ["export", str(folder), "--format", "nope", "--out", str(tmp_path / "x")]):
        proc = subprocess.run([sys.executable, "-m", "mella.cli", *args], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert "mella compose" in proc.stderr or "unknown export format" in proc.stderr


# -- splits without leakage ----------------------------------------------------------------------------

def leaky_table(tmp_path):
    """48 records in 3 languages on 16 sites, each site hosting all three languages; some images shared by
    two records of two languages on two sites (same file), near-duplicate images (pHash 2 bits apart) on
    different sites."""
    import random
    metas, texts = [], []
    langs = ["cs", "ko", "ar"]
    words = {"cs": "Karlův most v Praze číslo", "ko": "서울 남산 타워 사진 번호", "ar": "صورة جامع في القاهرة رقم"}
    scripts = {"cs": "Latn", "ko": "Hang", "ar": "Arab"}
    for n in range(48):
        lang = langs[n % 3]
        site = f"site{n % 16}.example.net"
        meta = {"lid.lang": lang, "lid.script": scripts[lang], "page.url": f"https://www.{site}/p{n}",
                "page.domain": site, "page.title": f"Title {n}"}
        metas.append(meta)
        texts.append(f"{words[lang]} {n}")
    folder = make_table(tmp_path / "fetched", metas, texts=texts)
    # rewrite image columns: shared exact images, and near-duplicate pHashes
    path = next(folder.glob("train-*.parquet"))
    data = pq.read_table(path).to_pylist()
    rng = random.Random(5)
    hashes = [rng.getrandbits(64) for _ in data]
    for n, row in enumerate(data):
        if n % 16 == 0:  # the same image as the next record (another site, another language)
            row["sha256"], row["image_ext"] = data[n + 1]["sha256"], data[n + 1]["image_ext"]
        if n % 12 == 5:  # a near duplicate (2 bits) of the image of record n - 4
            hashes[n] = hashes[n - 4] ^ 0b101
        row["phash"] = f"{hashes[n]:016x}"
    import pyarrow as pa

    pq.write_table(pa.Table.from_pylist(data, schema=pq.read_schema(path)), path)
    return folder


def test_no_image_near_duplicate_or_site_crosses_splits_and_eval_items_are_the_test_split(tmp_path):
    from mella.eval import build
    from mella.eval.tasks import load_task

    folder = leaky_table(tmp_path)
    cfg = ComposeConfig.model_validate({"split": {"test_size": 0.25, "val_size": 0.15, "phash_distance": 3}})
    summary = run_compose(folder, tmp_path / "ds", cfg)
    records = rows(tmp_path / "ds" / "records")
    assert len(records) == 48 and all(r["split"] in ("train", "validation", "test") for r in records)
    for key in ("sha256", "page_domain", "split_group"):
        split_of: dict = {}
        for r in records:
            assert split_of.setdefault(r[key], r["split"]) == r["split"], f"{key} {r[key]} in two splits"
    by_hash = {}
    for r in records:
        by_hash.setdefault(int(r["phash"], 16), set()).add(r["split"])
    hashes = list(by_hash)
    for a in hashes:
        for b in hashes:
            if bin(a ^ b).count("1") <= 3:
                assert by_hash[a] == by_hash[b], "near duplicates in two splits"
    report = summary["splits"]
    assert report["by_lang"]["cs"]["test"] > 0 and report["groups"] < 48  # groups merged across languages
    tasks = build.from_dataset(tmp_path / "ds", tmp_path / "tasks")
    test_ids = {f"{r['id']}:d_know" for r in records if r["split"] == "test"}
    item_ids = {item["id"] for t in tasks for item in load_task(t).items()}
    assert item_ids == test_ids  # culture items are exactly the test split (every record has keywords here)
    for t in tasks:
        for item in load_task(t).items():
            assert Path(load_task(t).image_path(item)).is_file()  # local images, relative to the task file


def test_splits_report_a_language_held_by_one_site(tmp_path):
    metas = [{"page.domain": "onlyone.cz", "page.url": "https://onlyone.cz/x"} for _ in range(6)]
    folder = make_table(tmp_path / "fetched", metas)
    summary = run_compose(folder, tmp_path / "ds", ComposeConfig())
    entry = summary["splits"]["by_lang"]["cs"]
    assert entry["test"] == 0 and entry["train"] == 6 and "1 leakage group(s), the largest of 6" in entry["warning"]


# -- samples and mixing --------------------------------------------------------------------------------

def translated_table(tmp_path, n=20):
    metas = []
    for i in range(n):
        meta = {"page.title": f"Karlův most po opravě, den {i} - Deník", "lid.score": 0.9, "alt.words": 5 + i % 3}
        if i % 4 != 3:  # three in four records have a usable translation
            meta |= {"caption.en": EN[i % 4], "mt.text": f"Podrobný popis obrázku číslo {i}.", "mt.lang": "cs",
                     "mt.model": "mt", "mt.qa.script": "Latn", "mt.qa.lid_label": "cs", "mt.qa.length_ratio": 1.0,
                     "mt.qa.similarity": 0.9}
        metas.append(meta)
    return make_table(tmp_path / "translated", metas, steps=("mine", "fetch", "caption", "translate"),
                      texts=[f"Karlův most v Praze, snímek {i}" for i in range(n)])


def test_samples_keep_their_provenance_and_use_native_templates(tmp_path):
    folder = translated_table(tmp_path)
    cfg = ComposeConfig.model_validate({"thick": True, "split": {"test_size": 0.2, "val_size": 0.1}})
    run_compose(folder, tmp_path / "ds", cfg)
    samples = []
    for split in ("train", "validation", "test"):
        samples += rows(tmp_path / "ds" / "samples", split)
    assert {s["source"] for s in samples} == {"d_know", "d_ling"}
    assert len(samples) == 20 + 15  # thick: both samples of an image when both exist
    from mella.dataset.templates import Templates

    cs = Templates().get("cs")
    for s in samples:
        assert s["lang"] == "cs" and s["script"] == "Latn" and s["sha256"] and s["page_domain"]
        tag, kind, index = s["template_id"].split("@")[0].split("/")
        assert tag == "cs" and s["template_id"].endswith(f"@v{cs.version}")
        template = cs.by_kind[kind][int(index)]
        if kind == "d_know_title":  # the page title without its site-name part (" - Deník")
            assert s["instruction"] == template.replace("{title}", f"Karlův most po opravě, den {int(s['record_id'][1:])}")
        else:
            assert s["instruction"] == template
        assert (kind == "d_ling") == (s["source"] == "d_ling")
        assert s["response"].startswith("Karlův most" if s["source"] == "d_know" else "Podrobný popis")
    assert any(s["template_id"].split("/")[1] == "d_know_title" for s in samples)


def test_the_page_title_is_context_only_when_it_is_about_the_picture():
    from mella.dataset.compose import related

    title = "Až deset let vězení. Trump přikázal úřadům, aby zatýkaly ničitele soch"
    assert not related("Areál Dolní Vítkovice v Ostravě", title)  # a promo box on the page
    assert related("Svržená socha objevitele Ameriky Kryštofa Kolumba", title)  # socha ~ soch
    assert related("서울 남산타워의 야경", "남산타워 개장 50주년") and not related("부산 해운대", "남산타워 개장 50주년")


def test_mixing_quota_share_and_seed(tmp_path):
    folder = translated_table(tmp_path, n=40)
    base = {"split": {"test_size": 0, "val_size": 0}, "quota": 20, "know_share": 0.25}

    def train(extra=None):
        out = tmp_path / f"ds{len(list(tmp_path.glob('ds*')))}"
        run_compose(folder, out, ComposeConfig.model_validate(base | (extra or {})))
        return rows(out / "samples", "train")

    first, again = train(), train()
    assert len(first) == 20 and sum(s["source"] == "d_know" for s in first) == 5  # quota and share
    assert len({s["record_id"] for s in first}) == 20  # not thick: one sample per image
    assert [s["sample_id"] for s in first] == [s["sample_id"] for s in again]  # same seed, same samples
    other = train({"seed": 7})
    assert [s["sample_id"] for s in other] != [s["sample_id"] for s in first]
    thick = train({"thick": True, "quota": None, "know_share": None})
    assert len(thick) == 40 + 30


def test_a_language_without_templates_fails_before_writing(tmp_path):
    metas = [{"lid.lang": "xx", "lid.script": "Latn"} for _ in range(2)]
    folder = make_table(tmp_path / "fetched", metas)
    with pytest.raises(ValueError, match="no instruction templates for 'xx'"):
        run_compose(folder, tmp_path / "ds", ComposeConfig())
    assert not (tmp_path / "ds" / "samples").exists()


# -- exports -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    folder = translated_table(root, n=12)
    run_compose(folder, root / "ds", ComposeConfig.model_validate({"thick": True, "split": {"group_by": ["image"],
                                                                                           "test_size": 2, "val_size": 2}}))
    return root / "ds"


def test_llava_export_matches_the_llava_format(tmp_path, dataset):
    run_export(dataset, tmp_path / "llava", "llava")
    data = json.loads((tmp_path / "llava" / "train.json").read_text(encoding="utf-8"))
    assert data and set(data[0]) >= {"id", "image", "conversations"}
    for item in data:
        human, gpt = item["conversations"]
        assert human["from"] == "human" and human["value"].startswith("<image>\n") and gpt["from"] == "gpt"
        assert human["value"].count("<image>") == 1
        assert (tmp_path / "llava" / item["image"]).is_file() and not Path(item["image"]).is_absolute()
    assert {p.name for p in (tmp_path / "llava").glob("*.json")} == {"train.json", "validation.json", "test.json",
                                                                      "export.json"}


def test_sharegpt_export_reads_as_llama_factory_does(tmp_path, dataset):
    out = tmp_path / "lf"
    run_export(dataset, out, "sharegpt", splits=("train",))
    info = json.loads((out / "dataset_info.json").read_text())
    entry = info["mella_train"]
    assert entry["formatting"] == "sharegpt" and entry["columns"] == {"messages": "messages", "images": "images"}
    tags = entry["tags"]
    for row in json.loads((out / entry["file_name"]).read_text(encoding="utf-8")):
        # LLaMA-Factory's sharegpt converter: roles alternate user/assistant by the tags; every <image> in the
        # text has one entry in images, each resolved under dataset_dir
        messages = row[entry["columns"]["messages"]]
        assert [m[tags["role_tag"]] for m in messages] == [tags["user_tag"], tags["assistant_tag"]]
        text = "".join(m[tags["content_tag"]] for m in messages)
        assert text.count("<image>") == len(row["images"]) == 1
        assert all((out / p).is_file() for p in row["images"])


def test_swift_export_is_messages_jsonl(tmp_path, dataset):
    run_export(dataset, tmp_path / "sw", "swift", sources=("d_ling",))
    lines = (tmp_path / "sw" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    for line in lines:
        row = json.loads(line)
        assert [m["role"] for m in row["messages"]] == ["user", "assistant"] and row["source"] == "d_ling"
        assert row["messages"][0]["content"].startswith("<image>") and (tmp_path / "sw" / row["images"][0]).is_file()


def test_parquet_export_loads_with_datasets_and_decodes_images(tmp_path, dataset):
    import datasets
    from PIL import Image

    run_export(dataset, tmp_path / "pq", "parquet")
    ds = datasets.load_dataset("parquet", data_dir=str(tmp_path / "pq"), cache_dir=str(tmp_path / "hf-cache"))
    assert set(ds) == {"train", "validation", "test"}
    assert isinstance(ds["train"].features["image"], datasets.Image)
    assert isinstance(ds["train"][0]["image"], Image.Image) and ds["train"][0]["source"] in ("d_know", "d_ling")
    total = sum(len(ds[s]) for s in ds)
    assert total == sum(len(rows(dataset / "samples", s)) for s in ("train", "validation", "test"))


def test_webdataset_export_loads_with_webdataset(tmp_path, dataset):
    import webdataset as wds
    from PIL import Image

    result = run_export(dataset, tmp_path / "wds", "webdataset")
    urls = [str(tmp_path / "wds" / f) for f in result["files"]["train"]]
    samples = list(wds.WebDataset(urls, shardshuffle=False).decode("pil"))
    assert len(samples) == len(rows(dataset / "samples", "train"))
    first = samples[0]
    assert isinstance(first["png"], Image.Image) and first["json"]["messages"][1]["content"] == first["json"]["response"]


# -- card, columns doc ---------------------------------------------------------------------------------

def test_card_has_counts_funnel_plots_and_keyword_coverage(tmp_path, dataset):
    from mella.report.card import write_dataset_card

    path = write_dataset_card(dataset)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\nlanguage:\n- cs\n") and "path: samples/train-*.parquet" in text
    assert "| cs | d_know |" in text and "| cs | d_ling |" in text
    assert "## From pages to samples" in text and "usable as D_ling" in text and "`no_caption` 3" in text
    assert "## Cultural keyword coverage" in text and "| Praze |" in text
    for png in ("plots/lid_score.png", "plots/text_length.png", "plots/keyword_coverage_cs.png"):
        assert f"({png})" in text and (dataset / png).stat().st_size > 3000


def test_keyword_coverage_finds_what_translation_misses():
    from mella.report.card import keyword_coverage

    samples = [{"lang": "cs", "source": "d_know", "response": t} for t in
               ["Svíčková na smetaně v restauraci U Fleků", "Svíčková s knedlíkem", "Karlův most v Praze",
                "Pražský hrad a Karlův most"]]
    samples += [{"lang": "cs", "source": "d_ling", "response": t} for t in
                ["Talíř s masem, omáčkou a knedlíky na stole.", "Kamenný most přes řeku ve městě."]]
    cov = keyword_coverage(samples)["cs"]
    found = {k: (a, b) for k, a, b in cov["rows"]}
    assert found["Svíčková"] == (0.5, 0.0) and found["Karlův"] == (0.5, 0.0)  # culture the translation lacks
    assert found["most"] == (0.5, 0.5)  # a word both sources have
    assert cov["absent_share_top100"] > 0.5


def test_columns_doc_is_rendered_from_the_registry():
    from mella.schema import render_markdown

    doc = Path(__file__).resolve().parents[2] / "docs" / "columns.md"
    assert doc.read_text(encoding="utf-8") == render_markdown(), "run: python -m mella.schema > docs/columns.md"
    assert all(c.step and c.meaning for c in REGISTRY) and len(COLUMNS) == len(REGISTRY)
    assert {c.name for c in step_columns("fetch")} >= {"sha256", "phash", "image_ext"}


def test_fetch_config_has_no_bytes_knob_left():
    assert "records_per_tar" not in FetchConfig.model_fields  # images live in the store, tars are an export
