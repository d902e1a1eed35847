"""`eval build` leaves out references that are not in the task's language or script and images the
backends cannot read, counts them per reason in the task YAML and prints the counts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mella.eval import build
from mella.eval.metrics import in_language
from mella.eval.tasks import load_task


@pytest.mark.parametrize("image, ext", [
    ("https://upload.wikimedia.org/wikipedia/commons/2/2f/Subdivisions_%281897%29.svg", "svg"),
    ("https://upload.wikimedia.org/wikipedia/commons/a/ab/Economic_essays.TIF", "tif"),
    ("https://upload.wikimedia.org/wikipedia/commons/thumb/a/ab/X.tif/lossy-page1-800px-X.tif.jpg", "jpg"),
    ("https://example.com/image.php?id=3.svg", "php"),  # the query is not the path
    ("https://example.com/photos/12345", ""),
    ("images/ab/abcdef.webp", "webp"),
    ("data:image/svg+xml;base64,PHN2Zz4=", "svg"),
    (".hidden", ""),
])
def test_image_extension(image, ext):
    assert build.image_extension(image) == ext


@pytest.mark.parametrize("reference, lang, image, reason", [
    ("Tòa thị chính cổ của thành phố", "vi", "https://x.org/a/BNRATHAU.jpg", None),
    ("Phân cấp hành chính Đế quốc Nga", "vi", "https://x.org/a/Map_1897.svg", "image_format_svg"),
    ("Tòa thị chính cổ của thành phố", "vi", "https://x.org/a/Scan.tiff", "image_format_tiff"),
    ("Precursors in mathematical economics, 1968", "ar", "https://x.org/a/b.jpg", "wrong_script"),
    ("Duke Ellington Orchestra", "ko", "https://x.org/a/b.png", "wrong_script"),
    ("Theory of the leisure class, 1924", "vi", "https://x.org/a/b.jpg", "not_in_language"),
    ("Теорија праздне класе, 1924", "sr-Latn", "https://x.org/a/b.gif", "wrong_script"),
    ("Teorija dokoličarske klase, objavljena 1924. godine u Beogradu", "sr-Latn", "b.bmp", None),
    ("  ", "cs", "b.jpg", "empty_reference"),
    ("Muž v oranžovém klobouku zírá na něco.", "cs", "https://x.org/photo?id=7", None),
])
def test_drop_reason(reference, lang, image, reason):
    assert build.drop_reason(reference, lang, image) == reason


def test_wit_language_task_keeps_only_references_in_the_language(data_dir, tmp_path):
    paths = build.from_wit(data_dir / "wit" / "wit_vi_ar.jsonl", tmp_path, kind="language")
    tasks = {p.stem: load_task(p) for p in paths}
    vi, ar = tasks["wit_language_vi"], tasks["wit_language_ar"]
    # the 40 Vietnamese rows: 7 .tif/.svg images, 4 captions that are names or English ("Phnôm Pênh",
    # "Schneisingen", "Apple Card", "map"); the 40 Arabic rows: 5 .tif/.svg images
    assert vi.dropped == {"image_format_svg": 3, "image_format_tif": 4, "not_in_language": 4}
    assert ar.dropped == {"image_format_svg": 1, "image_format_tif": 4}
    assert len(vi.items()) == 29 and len(ar.items()) == 35
    for task in (vi, ar):
        for item in task.items():
            assert build.image_extension(item["image"]) in build.READABLE_IMAGE_EXTENSIONS
            assert in_language(item["reference"], task.lang)
    assert not {"Phnôm Pênh", "Schneisingen", "Apple Card", "map"} & {i["reference"] for i in vi.items()}


def test_limit_counts_kept_items(data_dir, tmp_path):
    paths = build.from_wit(data_dir / "wit" / "wit_vi_ar.jsonl", tmp_path, limit=10, kind="culture")
    for path in paths:
        task = load_task(path)
        assert len(task.items()) == 10 and all(i["keywords"] is not None for i in task.items())


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_cli_prints_items_and_drops_per_task(tmp_path, data_dir):
    rows = [{"image_url": f"https://upload.wikimedia.org/a/{n}.jpg", "language": "ar", "wit_ix": f"ar{n}",
             "caption_reference_description": "مسجد محمد علي في قلعة القاهرة"} for n in range(3)]
    rows += [{"image_url": "https://upload.wikimedia.org/a/x.jpg", "language": "ar", "wit_ix": "en",
              "caption_reference_description": "Theory of the leisure class, 1924"},
             {"image_url": "https://upload.wikimedia.org/a/x.svg", "language": "ar", "wit_ix": "svg",
              "caption_reference_description": "خريطة مصر"}]
    wit = write_jsonl(tmp_path / "wit.jsonl", rows)
    captions = (data_dir / "multi30k" / "test_2016_flickr.cs").read_text(encoding="utf-8").splitlines()[:4]
    captions[1] = "A man in an orange hat starring at something."  # English in the Czech file
    (tmp_path / "cs.txt").write_text("\n".join(captions) + "\n", encoding="utf-8")
    names = (data_dir / "multi30k" / "test_2016_flickr.txt").read_text().split()[:4]
    (tmp_path / "images.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "mella.cli", "eval", "build", "--out", str(tmp_path / "tasks"),
                           "--wit", str(wit), "--wit-kind", "language", "--multi30k", str(tmp_path / "cs.txt"),
                           "--images-list", str(tmp_path / "images.txt"), "--lang", "cs"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.endswith("wit_language_ar.yaml  (3 items; dropped 2: image_format_svg 1, wrong_script 1)")
               for line in lines), proc.stdout
    assert any(line.endswith("multi30k_cs.yaml  (3 items; dropped 1: not_in_language 1)") for line in lines)
    cs = load_task(tmp_path / "tasks" / "multi30k_cs.yaml")
    assert [i["id"] for i in cs.items()] == [names[0], names[2], names[3]]


def test_wit_files_are_read_like_pair_tables_bad_lines_counted(tmp_path):
    import gzip

    good = {"image_url": "https://upload.wikimedia.org/a/1.jpg", "language": "cs", "wit_ix": "a",
            "caption_reference_description": "Karlův most v Praze za úsvitu"}
    lines = ["\ufeff" + json.dumps(good, ensure_ascii=False), "", "{not json", "[1, 2]",
             json.dumps(dict(good, wit_ix="b", image_url="https://upload.wikimedia.org/a/2.jpg"), ensure_ascii=False)]
    raw = ("\n".join(lines) + "\n").encode("utf-8") + b"\xff\xfe broken\n"
    path = tmp_path / "wit.jsonl"  # gzip content without .gz in the name
    path.write_bytes(gzip.compress(raw))
    task = load_task(build.from_wit(path, tmp_path / "tasks", kind="culture")[0])
    assert [i["id"] for i in task.items()] == ["a", "b"]  # the first row despite its byte-order mark
    assert task.dropped == {"bad_json_line": 1, "not_an_object": 1, "undecodable_line": 1}
    junk = tmp_path / "junk.jsonl"
    junk.write_text("{nope\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no usable row .*bad_json_line 1"):
        build.from_wit(junk, tmp_path / "tasks")
