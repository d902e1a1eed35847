"""Writes the bad-input corpus of tests/integration/test_bad_inputs.py into this folder (deterministic:
rerunning gives the same bytes). Every crawl file holds a good page before and after the bad item, so a
test can check that the neighbours are kept with the right page attribution.

    python tests/data/bad/make_bad.py
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "src"))

from mella.warcpack import response_record  # noqa: E402


ALTS = {1: "Karlův most v Praze za úsvitu", 2: "Lidé na Staroměstském náměstí během vánočních trhů",
        99: "Hrad Karlštejn obklopený podzimními lesy", 98: "Tramvaj projíždí ulicí v centru Brna",
        97: "Vinice na jižní Moravě v létě"}


def page(n: int, extra: str = "") -> bytes:
    return (f'<html lang="cs"><head><title>Stránka {n}</title></head><body>'
            f'<img alt="{ALTS[n]}" src="/foto{n}.jpg">{extra}</body></html>').encode()


def good(n: int) -> bytes:
    return response_record(f"https://good.cz/{n}", page(n))


def with_length(record: bytes, length: str) -> bytes:
    head, rest = record.split(b"\r\n\r\n", 1)
    lines = [b"Content-Length: " + length.encode() if line.startswith(b"Content-Length") else line
             for line in head.split(b"\r\n")]
    return b"\r\n".join(lines) + b"\r\n\r\n" + rest


def declared(record: bytes) -> int:
    return int(record.split(b"Content-Length: ", 1)[1].split(b"\r\n", 1)[0])


def warc_cases() -> dict[str, tuple[bytes, ...]]:
    bad = response_record("https://bad.cz/b", page(99))
    deep = gzip.compress(b"<html><body>" + b"<div>" * 600_000 + b"</div>" * 600_000 + b"</body></html>", mtime=0)
    plain_body = page(98)  # already de-chunked, as archived crawls often store it
    hostile = page(97, '<img alt="Pražský hrad\x1b[31m v noci\u202e, osvětlený\x07 reflektory" src="/hrad.jpg" '
                       'title="\u202eevil\x08title">')
    return {
        "length_too_large": (good(1), with_length(bad, str(declared(bad) + 400)), good(2)),
        "length_too_small": (good(1), with_length(bad, "40"), good(2)),
        "length_negative": (good(1), with_length(bad, "-20"), good(2)),
        "length_huge": (good(1), with_length(bad, "999999999999"), good(2)),
        "target_uri_33k": (good(1), bad.replace(b"WARC-Target-URI: https://bad.cz/b",
                                                b"WARC-Target-URI: https://bad.cz/" + b"x" * 33000), good(2)),
        "header_line_70k": (good(1), bad.replace(b"WARC-Date:", b"X-Junk: " + b"y" * 70000 + b"\r\nWARC-Date:"),
                            good(2)),
        "chunked_but_plain": (good(1), response_record("https://bad.cz/chunked", plain_body,
                                                       extra_http_headers="Transfer-Encoding: chunked\r\n"), good(2)),
        "nested_600k_divs": (good(1), response_record("https://bad.cz/deep", deep,
                                                      extra_http_headers="Content-Encoding: gzip\r\n"), good(2)),
        "control_and_bidi": (good(1), response_record("https://bad.cz/hostile", hostile), good(2)),
    }


def png16() -> bytes:
    """A 16-bit greyscale PNG: a horizontal ramp from black to white."""
    width, height = 256, 96
    raw = b"".join(b"\x00" + b"".join(struct.pack(">H", x * 257) for x in range(width)) for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def exif_rotated() -> bytes:
    """A 200x100 JPEG whose left quarter is blue, tagged EXIF orientation 6 (shown rotated 90° clockwise)."""
    from PIL import Image

    img = Image.new("RGB", (200, 100), (220, 30, 30))
    img.paste((30, 30, 220), (0, 0, 50, 100))
    exif = img.getexif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=95, exif=exif)
    return buf.getvalue()


def pair_lines() -> bytes:
    ok = [{"image_url": f"https://vi.wikipedia.org/img/{n}.jpg", "caption": text, "page_url": "https://vi.wikipedia.org/wiki/A"}
          for n, text in enumerate(["Chùa Một Cột ở Hà Nội vào buổi sáng", "Vịnh Hạ Long nhìn từ trên cao"])]
    lines = [json.dumps(ok[0], ensure_ascii=False).encode(),
             b'{"image_url": "https://vi.wikipedia.org/img/x.jpg", "caption": "broken',  # invalid JSON
             b'\xff\xfe{"caption": "not utf-8"}',  # undecodable
             b'["a list", "not an object"]',
             b'{"image_url": "https://vi.wikipedia.org/img/s.jpg", "caption": "lone \\ud800 surrogate in text"}',
             '{"id": "dup", "image_url": "https://vi.wikipedia.org/img/d1.jpg", "caption": "Phố cổ Hội An về đêm"}'.encode(),
             '{"id": "dup", "image_url": "https://vi.wikipedia.org/img/d2.jpg", "caption": "Cầu Rồng ở Đà Nẵng"}'.encode(),
             json.dumps(ok[1], ensure_ascii=False).encode()]
    return b"\n".join(lines) + b"\n"


def main() -> None:
    for name, records in warc_cases().items():
        (HERE / f"{name}.warc.gz").write_bytes(b"".join(gzip.compress(r, mtime=0) for r in records))
    members = [gzip.compress(r, mtime=0) for r in (good(1), response_record("https://bad.cz/b", page(99)), good(2))]
    broken = bytearray(members[1])
    broken[len(broken) // 2: len(broken) // 2 + 8] = b"\xff" * 8
    (HERE / "corrupt_gzip_member.warc.gz").write_bytes(members[0] + bytes(broken) + members[2])
    (HERE / "length_too_small.warc").write_bytes(b"".join(warc_cases()["length_too_small"]))  # uncompressed too
    (HERE / "pairs.jsonl").write_bytes(pair_lines())
    for folder in ("a", "b"):  # the same file name in two folders
        (HERE / "same_name" / folder).mkdir(parents=True, exist_ok=True)
        (HERE / "same_name" / folder / "pairs.jsonl").write_text(json.dumps(
            {"image_url": f"https://vi.wikipedia.org/img/{folder}.jpg", "caption": f"Thành phố Huế, ảnh {folder}"},
            ensure_ascii=False) + "\n", encoding="utf-8")
    (HERE / "png16.png").write_bytes(png16())
    (HERE / "exif_rotated.jpg").write_bytes(exif_rotated())
    (HERE / "eval").mkdir(exist_ok=True)
    (HERE / "eval" / "empty.txt").write_bytes(b"")
    (HERE / "eval" / "latin1.txt").write_bytes("Žluťoučký kůň\n".encode("cp1250"))
    (HERE / "eval" / "hyp_separators.txt").write_text("první\u2028řádek\ndruhý\x85řádek\n", encoding="utf-8")
    (HERE / "eval" / "ref_two.txt").write_text("první řádek\ndruhý řádek\n", encoding="utf-8")


if __name__ == "__main__":
    main()
