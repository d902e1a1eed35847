"""Readers: every WARC edge case is read or skipped with a reason; bad payloads are named drops."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from helpers import ListSink
from mella.steps.read import InputReader
from mella.warcpack import response_record, write_warc_gz


def html(doc) -> bytes:
    return doc.media[0].media_bytes


def read(paths, **kwargs):
    sink = ListSink()
    docs = list(InputReader([str(p) for p in paths], exclusion_writer=sink, **kwargs).run(None, 0, 1))
    return docs, sink


@pytest.mark.parametrize("name, pages, reasons", [
    ("example.warc", 1, []),
    ("example.warc.gz", 1, []),
    ("example-digest.warc", 0, []),  # request records only
    ("example-iana.org-chunked.warc", 1, []),
    ("example-resource.warc.gz", 1, []),
    ("example-wget-bad-target-uri.warc.gz", 1, []),
    ("post-test.warc.gz", 0, []),  # JSON responses: not HTML
    ("example-trunc.warc", 1, ["warc_framing_error"]),  # truncated: the rest is named, not fatal
    ("example.arc.gz", 0, ["arc_format_unsupported"]),
    ("clipped.warc.gz", 1, []),
    ("block-sized-records.warc.gz", 0, []),
])
def test_warcio_and_resiliparse_edge_cases(data_dir, name, pages, reasons):
    docs, sink = read([data_dir / "warcio" / name])
    assert len(docs) == pages
    assert sink.reasons() == reasons
    for doc in docs:
        assert b"<" in html(doc) and doc.metadata["page.url"].startswith("http")


def test_content_encoding_and_chunking_are_undone(data_dir):
    gz, _ = read([data_dir / "warcio" / "example.warc.gz"])  # Content-Encoding: gzip payload
    assert b"Example Domain" in html(gz[0])
    chunked, _ = read([data_dir / "warcio" / "example-iana.org-chunked.warc"])
    assert html(chunked[0]).lstrip().lower().startswith(b"<!doctype html") and b"\r\n0\r\n" not in html(chunked[0])
    wget, _ = read([data_dir / "warcio" / "example-wget-bad-target-uri.warc.gz"])
    assert wget[0].metadata["page.url"] == "http://example.com/"


def test_windows_1251_page_is_decoded_from_the_http_header(data_dir):
    docs, _ = read([data_dir / "warc" / "warcfile.warc.gz"])
    ru = [d for d in docs if d.metadata["page.url"] == "http://01spb.ru/company/"][0]
    assert ru.metadata["page.charset"] == "cp1251" and "Стратегия пожарной безопасности" in html(ru).decode()


def test_meta_charset_and_detection(tmp_path):
    body = '<html><head><meta charset="windows-1250"></head><body>Žluťoučký kůň</body></html>'.encode("cp1250")
    warc = write_warc_gz(tmp_path / "a.warc.gz", [response_record("https://a.cz/", body, content_type="text/html")])
    docs, _ = read([warc])
    assert "Žluťoučký kůň" in html(docs[0]).decode() and docs[0].metadata["page.charset"] == "cp1250"


def test_corrupt_gzip_keeps_what_was_read_and_names_the_break(tmp_path):
    good = response_record("https://a.cz/1", b"<html><body><img alt='a' src='x.jpg'></body></html>")
    blob = gzip.compress(good) + gzip.compress(good.replace(b"/1", b"/2"))
    broken = tmp_path / "broken.warc.gz"
    broken.write_bytes(blob[: len(blob) - 40] + b"\x00garbage")
    docs, sink = read([broken])
    assert [d.metadata["page.url"] for d in docs] == ["https://a.cz/1"]
    assert sink.reasons() == ["warc_framing_error"]


def test_not_a_gzip_at_all(tmp_path):
    bad = tmp_path / "random.warc.gz"
    bad.write_bytes(b"\x1f\x8b" + bytes(range(256)) * 10)
    docs, sink = read([bad])
    assert docs == [] and sink.reasons() == ["warc_framing_error"]


def test_binary_body_and_oversized_and_bomb(tmp_path):
    binary = response_record("https://a.cz/bin", b"\x00\x01\x02PNG\x00" * 300)
    big = response_record("https://a.cz/big", b"<html>" + b"a" * 5000 + b"</html>")
    bomb_body = gzip.compress(b"<html>" + b" " * 3_000_000)
    bomb = response_record("https://a.cz/bomb", bomb_body, extra_http_headers="Content-Encoding: gzip\r\n")
    ok = response_record("https://a.cz/ok", b"<html><body>ok</body></html>")
    warc = write_warc_gz(tmp_path / "bad.warc.gz", [binary, big, bomb, ok])
    docs, sink = read([warc], max_page_bytes=4000)
    assert [d.metadata["page.url"] for d in docs] == ["https://a.cz/ok"]
    assert sink.reasons() == ["binary_content", "page_too_large", "page_too_large"]


def test_non_200_and_non_html_are_skipped_and_counted(tmp_path):
    recs = [response_record("https://a.cz/404", b"<html></html>", status="404 Not Found"),
            response_record("https://a.cz/i.jpg", b"\xff\xd8\xff", content_type="image/jpeg")]
    reader = InputReader([str(write_warc_gz(tmp_path / "s.warc.gz", recs))])
    assert list(reader.run(None, 0, 1)) == []
    assert reader.stats["skipped_http_status"].total == 1 and reader.stats["skipped_not_html"].total == 1


def test_html_folder_with_url_map_and_pair_tables(tmp_path, data_dir):
    docs, _ = read([data_dir / "fundus" / "kr" / "MBN_2025_06_03.html.gz"])
    assert docs[0].metadata["page.url"] == "https://www.mk.co.kr/news/politics/11333783"
    rows = [{"image_url": "https://upload.wikimedia.org/a.jpg", "caption": "Hà Nội", "page_url": "https://vi.wikipedia.org/x"}]
    table = tmp_path / "pairs.jsonl"
    lines = [json.dumps(rows[0], ensure_ascii=False).encode(), b"{broken json", b"\xff\xfe not utf-8", b"[1, 2]",
             json.dumps(rows[0] | {"caption": "Huế"}, ensure_ascii=False).encode()]
    table.write_bytes(b"\n".join(lines) + b"\n")
    docs, sink = read([table])
    assert [d.text for d in docs] == ["Hà Nội", "Huế"]  # a bad line costs that line only
    assert docs[0].media[0].url == "https://upload.wikimedia.org/a.jpg"
    assert sink.reasons() == ["bad_json_line", "undecodable_line", "not_an_object"]
    assert len({d.id for d in docs}) == 2


def test_unknown_inputs_are_a_clear_error(tmp_path):
    from mella.steps.read import expand_inputs

    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="not a WARC"):
        expand_inputs([tmp_path / "notes.txt"])
    with pytest.raises(FileNotFoundError):
        expand_inputs([Path(tmp_path / "missing.warc.gz")])


def test_arrow_columns_from_python_values():
    from mella.steps.write import to_arrow

    strings = to_arrow(["a", None, "Žluťoučký kůň", "", "한국어"], "string")
    strings.validate(full=True)
    assert strings.to_pylist() == ["a", None, "Žluťoučký kůň", "", "한국어"]
    assert to_arrow([1.5, None], "float32").to_pylist() == [1.5, None]
    assert to_arrow([None, 7, 2**20], "int32").to_pylist() == [None, 7, 2**20]


def test_bad_content_encodings_are_named(tmp_path):
    recs = [response_record("https://a.cz/c", b"\x1f\x8b\x08\x00garbage", extra_http_headers="Content-Encoding: gzip\r\n"),
            response_record("https://a.cz/b", b"<html></html>", extra_http_headers="Content-Encoding: br\r\n")]
    docs, sink = read([write_warc_gz(tmp_path / "enc.warc.gz", recs)])
    assert docs == [] and sink.reasons() == ["corrupt_content_encoding", "unsupported_content_encoding"]
