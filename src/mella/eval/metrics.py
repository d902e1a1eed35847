"""Corpus metrics, each a small function over line-aligned outputs and references (scores 0..100).

Tokenization per language is documented in docs/metrics.md and implemented in mella.eval.tokenize.
"""

from __future__ import annotations

from functools import cache

from collections.abc import Callable, Iterable

from mella.eval.keywords import KeywordMatcher, stemmer
from mella.eval.tokenize import MellaTokenizer, normalised_words

NO_SPACE_LANGS = {"th", "lo", "km", "my"}


def base_lang(lang: str) -> str:
    return lang.split("-")[0]


@cache
def bleu_tokenizer(lang: str) -> str:
    """sacrebleu tokenizer: characters where words are not space-separated, Korean morphemes (ko-mecab)
    when installed else characters, language-neutral Unicode rules (intl) elsewhere, 13a for English."""
    lang = base_lang(lang)
    if lang in NO_SPACE_LANGS:
        return "char"
    if lang == "ko":
        try:
            from sacrebleu.tokenizers.tokenizer_ko_mecab import TokenizerKoMecab

            TokenizerKoMecab()
            return "ko-mecab"
        except Exception:  # noqa: BLE001 - missing mecab-ko or its dictionary
            return "char"
    if lang in ("zh", "ja"):
        return "zh" if lang == "zh" else "char"
    return "13a" if lang == "en" else "intl"


def bleu(hyps: list[str], refs: list[str], lang: str) -> float:
    import sacrebleu

    return sacrebleu.corpus_bleu(hyps, [refs], tokenize=bleu_tokenizer(lang)).score


def chrf(hyps: list[str], refs: list[str], lang: str) -> float:
    import sacrebleu

    return sacrebleu.corpus_chrf(hyps, [refs]).score


def rouge_l(hyps: list[str], refs: list[str], lang: str) -> float:
    """Mean sentence ROUGE-L F1 (rouge-score) over mella's tokens for the language."""
    from rouge_score.rouge_scorer import RougeScorer

    scorer = RougeScorer(["rougeL"], tokenizer=MellaTokenizer(base_lang(lang)))
    scores = [scorer.score(ref, hyp)["rougeL"].fmeasure for hyp, ref in zip(hyps, refs)]
    return 100 * sum(scores) / len(scores) if scores else 0.0


@cache
def english_synonyms():
    """WordNet synonyms when NLTK's WordNet corpus is installed locally, else None (exact + stem)."""
    try:
        from nltk.corpus import wordnet

        wordnet.ensure_loaded()
    except (LookupError, ImportError, OSError):
        return None

    def synonyms(word: str) -> set[str]:
        return {lemma.name() for synset in wordnet.synsets(word) for lemma in synset.lemmas()
                if "_" not in lemma.name()}

    return synonyms


class _Stemmer:
    """NLTK's ``StemmerI`` around a ``str -> str`` stemmer; the identity where a language has none (the
    stem stage then matches nothing the exact stage left)."""

    def __init__(self, stem: Callable[[str], str] | None):
        self._stem = stem

    def stem(self, word: str) -> str:
        return self._stem(word) if self._stem is not None else word


class _Synonyms:
    """What ``nltk.translate.meteor_score`` asks of WordNet (``synsets(w)``, each with ``lemmas()``, each
    with ``name()``), answered from a ``word -> synonyms`` function; no synsets where there is none."""

    class _Lemma:
        def __init__(self, name: str):
            self._name = name

        def name(self) -> str:
            return self._name

    class _Synset:
        def __init__(self, names: Iterable[str]):
            self._names = list(names)

        def lemmas(self) -> list:
            return [_Synonyms._Lemma(n) for n in self._names]

    def __init__(self, synonyms: Callable[[str], Iterable[str]] | None):
        self._synonyms = synonyms

    def synsets(self, word: str) -> list:
        if self._synonyms is None:
            return []
        names = sorted(self._synonyms(word))
        return [self._Synset(names)] if names else []


def _same(word: str) -> str:
    return word


def sentence_meteor(hyp_words: list[str], ref_words: list[str], stem: Callable[[str], str] | None = None,
                    synonyms: Callable[[str], Iterable[str]] | None = None, alpha: float = 0.9,
                    beta: float = 3.0, gamma: float = 0.5) -> float:
    """METEOR (0..1) of one hypothesis against one reference, both already tokenized and normalised, by
    NLTK's ``single_meteor_score`` (exact, then stem, then synonym alignment; fragmentation penalty) with
    our stemmer and synonym source."""
    from nltk.translate.meteor_score import single_meteor_score

    return single_meteor_score(ref_words, hyp_words, preprocess=_same, stemmer=_Stemmer(stem),
                               wordnet=_Synonyms(synonyms), alpha=alpha, beta=beta, gamma=gamma)


def meteor_stages(lang: str) -> str:
    stages = ["exact"]
    if stemmer(base_lang(lang)) is not None:
        stages.append("stem")
    if base_lang(lang) == "en" and english_synonyms() is not None:
        stages.append("synonym")
    return "+".join(stages)


def meteor(hyps: list[str], refs: list[str], lang: str) -> float:
    """Mean sentence METEOR (0..100) over mella's tokens, with the language's stemmer (and WordNet synonyms
    for English where installed)."""
    lang = base_lang(lang)
    stem = stemmer(lang)
    synonyms = english_synonyms() if lang == "en" else None
    scores = [sentence_meteor(normalised_words(h, lang), normalised_words(r, lang), stem=stem, synonyms=synonyms)
              for h, r in zip(hyps, refs)]
    return 100 * sum(scores) / len(scores) if scores else 0.0


def keyword_accuracy(hyps: list[str], keyword_lists: list[list[str]], lang: str) -> float | None:
    """Mean over items (with at least one keyword) of the share of keywords the output names."""
    matcher = KeywordMatcher(lang)
    scores = [s for s in (matcher.accuracy(h, kws) for h, kws in zip(hyps, keyword_lists)) if s is not None]
    return 100 * sum(scores) / len(scores) if scores else None


def in_language(text: str, lang: str) -> bool:
    """Is ``text`` in the target language and script? ``lang`` may name a script: ``sr-Latn``. The same
    identifier as mining and translation QA (``mella.lid.identify_as``), with the asked-for language as
    its prior."""
    from mella.languages import Language, default_table
    from mella.lid import identify_as

    if _garbled(text):
        return False
    code, _, want_script = lang.partition("-")
    target = default_table().get(code)
    if target is None:  # a language outside the table: its lid.176 label, any script
        from mella.scripts import dominant_script

        target = Language(code=code, name=code, scripts=[dominant_script(text)[0]], lid_labels=[code])
    return identify_as(text, target, want_script or None)[0]


def _garbled(text: str, max_share: float = 0.01) -> bool:
    """Undecodable output: replacement characters (U+FFFD) and control characters are more than 1% of the
    text (a model that emits broken bytes is not writing any language, whatever letters surround them)."""
    bad = sum(1 for c in text if c == "\ufffd" or (c < " " and c not in "\t\n\r") or "\x7f" <= c <= "\x9f")
    return bad > max_share * max(1, len(text))


def lang_fidelity(hyps: list[str], lang: str) -> float:
    return 100 * sum(in_language(h, lang) for h in hyps) / len(hyps) if hyps else 0.0


MAX_CHARS = 10_000  # an output or reference longer than this is not scored (ROUGE-L is quadratic in length)


def score_corpus(hyps: list[str], refs: list[str], lang: str,
                 keyword_lists: list[list[str]] | None = None, max_chars: int = MAX_CHARS) -> dict:
    """All metrics for line-aligned outputs and references. Pairs with a text over ``max_chars`` are left
    out and counted (``skipped_too_long``)."""
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} outputs but {len(refs)} references: files must be line-aligned")
    if keyword_lists is not None and len(keyword_lists) != len(hyps):
        raise ValueError(f"{len(keyword_lists)} keyword lines but {len(hyps)} outputs")
    keep = [i for i, (h, r) in enumerate(zip(hyps, refs)) if len(h) <= max_chars and len(r) <= max_chars]
    skipped = len(hyps) - len(keep)
    if not keep:
        raise ValueError(f"nothing to score: {len(hyps)} pairs, {skipped} of them over {max_chars} characters")
    hyps, refs = [hyps[i] for i in keep], [refs[i] for i in keep]
    keyword_lists = [keyword_lists[i] for i in keep] if keyword_lists is not None else None
    result = {
        "lang": lang,
        "n": len(hyps),
        "skipped_too_long": skipped,
        "bleu": bleu(hyps, refs, lang),
        "chrf": chrf(hyps, refs, lang),
        "rouge_l": rouge_l(hyps, refs, lang),
        "meteor": meteor(hyps, refs, lang),
        "lang_fidelity": lang_fidelity(hyps, lang),
        "bleu_tokenize": bleu_tokenizer(lang),
        "meteor_stages": meteor_stages(lang),
    }
    if keyword_lists is not None:
        result["keyword_acc"] = keyword_accuracy(hyps, keyword_lists, lang)
    return result


def read_lines(path) -> list[str]:
    """Lines of a UTF-8 text file split on newline only (U+2028, NEL and form feed inside a line stay in it:
    ``str.splitlines`` would split there and shift the pairing); a final newline ends the last line."""
    from pathlib import Path

    path = Path(path)
    data = path.read_bytes()
    if not data.strip():
        raise ValueError(f"{path} is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ValueError(f"{path} is not UTF-8 (line {line}, byte {e.start}); convert it, e.g. with iconv") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]
