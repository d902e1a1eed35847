"""Stop word lists (src/mella/data/stopwords/<lang>.txt) measured on professional news translations
(NTREX-128 newstest2019 references): per language, the list size (normalised entries; Thai with
pythainlp's list, which keyword extraction adds), the share of word tokens that are stop words (Korean:
of the nouns, foreign words and roots that keyword extraction looks at), optionally the share of
sentences whose keywords (mella.eval.keywords.keywords) still hold a stopwords-iso word that our list
lacks (with the most frequent such words, so a reader can check they are content words), and the 25
most frequent words that remain keywords (by the number of sentences they are a keyword of). Where many
tokens mix Latin and Cyrillic letters (NTREX's Serbian Cyrillic file: Cyrillic words typed with Latin
look-alikes, which the metric does not repair), the figures are repeated after mella.lid.fix_homoglyphs.

Usage: python bench/stopwords.py [NTREX_DIR] [--iso PATH] [--lines N]
(NTREX_DIR defaults to ../shared/real-data/ntrex relative to the repo root if present, else
tests/data/ntrex; PATH is stopwords-iso.json from https://github.com/stopwords-iso/stopwords-iso, which
has no Serbian: Croatian stands in for it)
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

from mella.eval.keywords import KOREAN_CONTENT_TAGS, keywords, stopwords
from mella.eval.tokenize import normalise, tagged_words, words
from mella.lid import fix_homoglyphs

ROOT = Path(__file__).resolve().parents[1]
FILES = {"ar": "arb", "cs": "ces", "hu": "hun", "ko": "kor", "ru": "rus", "sr-Cyrl": "srp-Cyrl",
         "sr-Latn": "srp-Latn", "th": "tha", "vi": "vie"}
ISO_CODE = {"sr": "hr"}
_LATIN, _CYRILLIC = re.compile("[A-Za-z]"), re.compile("[\u0400-\u04ff]")
_SR_DIGRAPHS = {"lj": "љ", "nj": "њ", "dž": "џ"}
_SR_LETTERS = dict(zip("abcčćdđefghijklmnoprsštuvzž", "абцчћдђефгхијклмнопрсштувзж"))


def serbian_cyrillic(word: str) -> str:
    """Latin Serbian/Croatian to Cyrillic (the stopwords-iso Croatian list, for sr-Cyrl)."""
    for latin, cyrillic in _SR_DIGRAPHS.items():
        word = word.replace(latin, cyrillic)
    return "".join(_SR_LETTERS.get(c, c) for c in word)


def tokens(line: str, lang: str) -> list[str]:
    if lang == "ko":
        return [w for w, tag, _ in tagged_words(line, lang) if tag in KOREAN_CONTENT_TAGS]
    return words(line, lang)


def measure(lines: list[str], lang: str, iso: set[str] | None) -> dict:
    stop = stopwords(lang)
    n_tokens = n_stop = n_mixed = 0
    kw_df, iso_df = Counter(), Counter()
    iso_sentences = 0
    for line in lines:
        for w in tokens(line, lang):
            n_tokens += 1
            n_stop += normalise(w, lang) in stop
            n_mixed += bool(_LATIN.search(w) and _CYRILLIC.search(w))
        kws = {normalise(k, lang) for k in keywords(line, lang)}
        kw_df.update(kws)
        if iso is not None:
            hits = {w for k in kws for w in k.split() if w in iso}
            iso_sentences += bool(hits)
            iso_df.update(hits)
    return {"size": len(stop), "stop_share": n_stop / max(n_tokens, 1),
            "mixed_share": n_mixed / max(n_tokens, 1),
            "iso_share": iso_sentences / max(len(lines), 1) if iso is not None else None,
            "iso_top": iso_df.most_common(10), "top": kw_df.most_common(25)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ntrex", nargs="?", type=Path)
    parser.add_argument("--iso", type=Path, help="stopwords-iso.json")
    parser.add_argument("--lines", type=int, default=0, help="first N lines per file (default: all)")
    args = parser.parse_args()
    root = args.ntrex or next(p for p in (ROOT.parent / "shared/real-data/ntrex", ROOT / "tests/data/ntrex")
                              if p.is_dir())
    iso_lists = json.loads(args.iso.read_text(encoding="utf-8")) if args.iso else None
    print(f"NTREX: {root}" + (f"; stopwords-iso: {args.iso}" if args.iso else ""))
    for name, code in FILES.items():
        lang = name.split("-")[0]
        lines = [ln for ln in (root / f"newstest2019-ref.{code}.txt").read_text(encoding="utf-8").splitlines()
                 if ln.strip()]
        lines = lines[: args.lines] if args.lines else lines
        iso = None
        if iso_lists is not None:
            iso = {normalise(w, lang) for w in iso_lists.get(ISO_CODE.get(lang, lang), [])}
            if name == "sr-Cyrl":
                iso = {serbian_cyrillic(w) for w in iso}
            iso -= stopwords(lang)
        m = measure(lines, lang, iso)
        row = (f"{name:8} {len(lines)} sentences  list {m['size']}  "
               f"stop word tokens {100 * m['stop_share']:.1f}%"
               + (" (of nouns, foreign words and roots)" if lang == "ko" else ""))
        if m["iso_share"] is not None:
            row += f"  sentences with an iso-only word among keywords {100 * m['iso_share']:.1f}%"
        print(row)
        if m["mixed_share"] > 0.01:  # Cyrillic words typed with Latin look-alikes ("дa")
            fixed = measure([fix_homoglyphs(ln) for ln in lines], lang, iso)
            print(f"         tokens mixing Latin and Cyrillic letters: {100 * m['mixed_share']:.1f}%; "
                  f"after mella.lid.fix_homoglyphs: stop word tokens {100 * fixed['stop_share']:.1f}%, "
                  "top keywords: " + ", ".join(f"{w} {c}" for w, c in fixed["top"][:10]))
        if m["iso_top"]:
            print("         iso-only keywords: " + ", ".join(f"{w} {c}" for w, c in m["iso_top"]))
        print("         top keywords: " + ", ".join(f"{w} {c}" for w, c in m["top"]))


if __name__ == "__main__":
    main()
