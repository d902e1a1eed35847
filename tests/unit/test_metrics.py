"""Metrics agree with the reference implementations and give real scores in every language."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mella.eval import metrics
from mella.eval.keywords import KeywordMatcher, keywords
from mella.eval.tokenize import MellaTokenizer, normalised_words

NTREX = {"ar": "arb", "cs": "ces", "hu": "hun", "ko": "kor", "ru": "rus", "sr": "srp-Cyrl", "sr-Latn": "srp-Latn",
         "th": "tha", "vi": "vie", "en": "eng"}


def lines(data_dir, lang, n=30):
    name = "newstest2019-src.eng.txt" if lang == "en" else f"newstest2019-ref.{NTREX[lang]}.txt"
    return (data_dir / "ntrex" / name).read_text(encoding="utf-8").splitlines()[:n]


def shortened(refs):
    return [" ".join(r.split()[: max(1, 2 * len(r.split()) // 3)]) for r in refs]


@pytest.mark.parametrize("lang", ["cs", "ko", "th", "ar", "en"])
def test_bleu_and_chrf_equal_sacrebleu(data_dir, lang):
    import sacrebleu

    refs = lines(data_dir, lang)
    hyps = shortened(refs)
    tok = metrics.bleu_tokenizer(lang)
    assert metrics.bleu(hyps, refs, lang) == sacrebleu.corpus_bleu(hyps, [refs], tokenize=tok).score
    assert metrics.chrf(hyps, refs, lang) == sacrebleu.corpus_chrf(hyps, [refs]).score
    assert tok == {"th": "char", "en": "13a"}.get(lang, tok)


@pytest.mark.parametrize("lang", ["cs", "ko", "th", "ru"])
def test_rouge_l_equals_rouge_score_on_the_same_tokens(data_dir, lang):
    from rouge_score.rouge_scorer import _score_lcs

    refs = lines(data_dir, lang, 10)
    hyps = shortened(refs)
    tok = MellaTokenizer(lang)
    expected = sum(_score_lcs(tok.tokenize(r), tok.tokenize(h)).fmeasure for h, r in zip(hyps, refs)) / len(refs)
    assert metrics.rouge_l(hyps, refs, lang) == pytest.approx(100 * expected)


class FakeWordNet:
    """NLTK's meteor_score asks wordnet.synsets(word)[i].lemmas()[j].name(): a small synonym table."""

    TABLE = {"kid": ["child", "youngster"], "man": ["adult_male", "homo"], "guy": ["man", "fellow"],
             "dog": ["domestic_dog", "canine"], "street": ["road"], "grass": ["lawn", "turf"]}

    class _Lemma:
        def __init__(self, name):
            self._name = name

        def name(self):
            return self._name

    class _Synset:
        def __init__(self, names):
            self._names = names

        def lemmas(self):
            return [FakeWordNet._Lemma(n) for n in self._names]

    def synsets(self, word):
        return [self._Synset(self.TABLE[word])] if word in self.TABLE else []

    def synonyms(self, word):
        return {n for synset in self.synsets(word) for n in (lemma.name() for lemma in synset.lemmas())
                if "_" not in n}


def english_pairs(data_dir):
    refs = (data_dir / "multi30k" / "test_2016_flickr.en").read_text(encoding="utf-8").splitlines()[:150]
    hyps = [r.replace("child", "kid").replace("road", "street").replace("running", "runs") for r in refs]
    hyps = [" ".join(reversed(h.split())) if i % 5 == 0 else h for i, h in enumerate(hyps)]
    hyps += ["It is a guide to action which ensures that the military always obeys the commands of the party"]
    refs += ["It is a guide to action that ensures that the military will forever heed Party commands"]
    return hyps, refs


def varied(refs):
    """Hypotheses that exercise exact, stem and fragmentation: every third word loses its last letter,
    every fifth sentence is reversed, every sentence loses its last third, the last is another sentence."""
    out = []
    for i, r in enumerate(refs):
        ws = r.split()
        ws = [w[:-1] if k % 3 == 1 and len(w) > 3 else w for k, w in enumerate(ws)]
        ws = ws[: max(1, 2 * len(ws) // 3 + 1)]
        if i % 5 == 0:
            ws.reverse()
        out.append(" ".join(ws))
    out[-1] = refs[0]
    return out


@pytest.fixture(scope="module")
def port_values(data_dir):
    """METEOR of the removed hand port (recorded before it was removed)."""
    return json.loads((data_dir / "meteor_port_values.json").read_text(encoding="utf-8"))


def test_meteor_is_nltks_with_our_stemmer_and_synonyms(data_dir, port_values):
    from nltk.stem.porter import PorterStemmer
    from nltk.translate.meteor_score import single_meteor_score

    wn, stem = FakeWordNet(), PorterStemmer()
    hyps, refs = english_pairs(data_dir)
    ours = [metrics.sentence_meteor(normalised_words(h, "en"), normalised_words(r, "en"), stem=stem.stem,
                                    synonyms=wn.synonyms) for h, r in zip(hyps, refs)]
    nltk_ = [single_meteor_score(normalised_words(r, "en"), normalised_words(h, "en"), stemmer=stem, wordnet=wn)
             for h, r in zip(hyps, refs)]
    assert ours == pytest.approx(nltk_, abs=1e-12)
    assert ours == pytest.approx(port_values["en_multi30k_porter_fakewordnet"], abs=1e-12)  # same as the port
    assert sum(o < 1 for o in ours) > 50 and round(ours[-1], 4) == 0.6944  # NLTK's doctest value
    without = [metrics.sentence_meteor(normalised_words(h, "en"), normalised_words(r, "en"), stem=stem.stem)
               for h, r in zip(hyps, refs)]
    assert sum(without) < sum(ours)  # the synonym stage matched kid/child, street/road


@pytest.mark.parametrize("lang", ["en", "ru", "hu"])
def test_meteor_gives_the_same_numbers_as_the_removed_port(data_dir, port_values, lang):
    refs = lines(data_dir, lang)
    hyps = varied(refs)
    assert metrics.meteor_stages(lang) == port_values[f"{lang}_stages"] == "exact+stem"
    per_sentence = [metrics.meteor([h], [r], lang) for h, r in zip(hyps, refs)]
    assert per_sentence == pytest.approx(port_values[f"{lang}_ntrex_metrics_meteor"], abs=1e-9)
    assert metrics.meteor(hyps, refs, lang) == pytest.approx(port_values[f"{lang}_ntrex_corpus"], abs=1e-9)


def test_meteor_exact_stage_alone_equals_the_port(data_dir, port_values):
    refs = lines(data_dir, "cs")
    hyps = varied(refs)
    exact = [metrics.sentence_meteor(normalised_words(h, "cs"), normalised_words(r, "cs")) for h, r in zip(hyps, refs)]
    assert exact == pytest.approx(port_values["cs_ntrex_exact_only"], abs=1e-12)
    assert metrics.sentence_meteor([], ["a"]) == metrics.sentence_meteor(["a"], ["b"]) == 0.0


@pytest.mark.parametrize("lang", ["th", "ko", "ar", "ru", "sr", "sr-Latn", "vi", "cs", "hu"])
def test_every_language_scores_above_zero_and_orders_outputs(data_dir, lang):
    refs = lines(data_dir, lang)
    close = metrics.score_corpus(shortened(refs), refs, lang)
    far = metrics.score_corpus(refs[1:] + refs[:1], refs, lang)
    same = metrics.score_corpus(refs, refs, lang)
    for key in ("bleu", "chrf", "rouge_l", "meteor"):
        assert same[key] == pytest.approx(100) or key == "meteor" and same[key] > 99
        assert close[key] > 20 and close[key] > far[key], (key, close[key], far[key])
    assert same["lang_fidelity"] >= 85


def test_language_fidelity_catches_the_wrong_language(data_dir):
    english = lines(data_dir, "en")
    assert metrics.lang_fidelity(english, "cs") == 0
    assert metrics.lang_fidelity(lines(data_dir, "sr-Latn"), "sr-Cyrl") == 0  # right language, wrong script


@pytest.mark.parametrize("lang, reference, output, expected", [
    ("cs", "Premiér Petr Fiala na tiskové konferenci ve Strakově akademii", "Petr Fiala mluví na konferenci",
     {"Petr Fiala": True, "Premiér": False, "tiskové": False, "konferenci": True, "Strakově": False,
      "akademii": False}),
    ("ko", "이재명 더불어민주당 대선 후보가 전남 순천시에서 연설하고 있다", "순천시에서 이재명 후보가 연설한다",
     {"이재명": True, "더불어민주당": False, "대선": False, "후보": True, "전남": False, "순천시": True, "연설": True}),
    ("th", "ขบวนแห่เทียนพรรษาที่จังหวัดอุบลราชธานี", "งานแห่เทียนพรรษา อุบลราชธานี",
     {"ขบวนแห่": False, "เทียนพรรษา": True, "จังหวัด": False, "อุบลราชธานี": True}),
    ("ru", "Собор Василия Блаженного на Красной площади", "собор на площади в Москве",
     {"Василия Блаженного": False, "Собор": True, "Красной": False, "площади": True}),
    ("ar", "الرئيس اللبناني يستقبل وفدا من البنك الدولي", "الرئيس يستقبل وفد البنك",
     {"الرئيس": True, "اللبناني": False, "يستقبل": True, "وفدا": True, "البنك": True, "الدولي": False}),
])
def test_keywords_and_matching(lang, reference, output, expected):
    kws = keywords(reference, lang)
    assert kws == list(expected)
    assert KeywordMatcher(lang).found(output, kws) == list(expected.values())


def test_stem_aware_keywords():
    assert KeywordMatcher("ru").found("красная площадь", ["площади"]) == [True]  # площадь ~ площади
    assert KeywordMatcher("en").found("two dogs running", ["dog", "runs"]) == [True, True]
    assert KeywordMatcher("vi").found("Nhà thờ Đức Bà", ["nhà", "thờ", "Đức Bà", "đức bà", "nha"]) == [
        True, True, True, True, False]  # Vietnamese does not inflect: syllables as they are, tones matter


@pytest.mark.parametrize("lang, output, keyword", [
    # Czech (Dolamic & Savoy's light stemmer): cases and possessives of the same noun meet
    ("cs", "Karlův most v Praze", "mostu"), ("cs", "Karlův most v Praze", "Praha"),
    ("cs", "fotbalisté Sparty", "fotbalistům"), ("cs", "Karlova mostu", "Karlův most"),
    ("cs", "na Pražském hradě", "Pražský hrad"),
    # Serbian (light stemmer over the Latin transliteration): either script, any case
    ("sr", "Новак Ђоковић у Београду", "Novaka Đokovića"), ("sr", "Новак Ђоковић у Београду", "Beograd"),
    ("sr", "Manastir Studenica u Srbiji", "Србија"), ("sr", "beogradska tvrđava", "Beogradske tvrđave"),
    # Hungarian, Russian, Arabic (Snowball)
    ("hu", "a budapesti Parlamentben", "Parlament"), ("ru", "на Красной площади", "Красная площадь"),
    ("ar", "مسجد محمد علي في القاهرة", "المسجد"),
])
def test_inflected_forms_match(lang, output, keyword):
    assert KeywordMatcher(lang).found(output, [keyword]) == [True]


@pytest.mark.parametrize("lang, output, keyword", [
    ("cs", "Karlův most", "mostek"), ("cs", "Praha", "Prachatice"), ("sr", "Beograd", "Novi Sad"),
    ("sr", "grad", "gradonačelnik"),
])
def test_stemming_keeps_different_words_apart(lang, output, keyword):
    assert KeywordMatcher(lang).found(output, [keyword]) == [False]


@pytest.mark.parametrize("lang, reference, expected", [
    # a name does not run across a sentence boundary or a comma
    ("vi", "Đại sứ quán Hoa Kỳ. George Washington là tổng thống", ["Hoa Kỳ", "George Washington"]),
    ("cs", "Petr Fiala, Andrej Babiš a Miloš Zeman", ["Petr Fiala", "Andrej Babiš", "Miloš Zeman"]),
    ("ru", "Вид на Москву. Красная площадь", []),  # a sentence start is not evidence of a name
    # the period of an initial or an abbreviation is part of the name
    ("cs", "Socha J. R. R. Tolkiena v Oxfordu", ["J. R. R. Tolkiena"]),
    ("cs", "Kostel sv. Václava. Sv. Ludmila", ["Sv. Ludmila"]),
])
def test_names_stop_at_punctuation_and_sentence_ends(lang, reference, expected):
    kws = keywords(reference, lang)
    names = [k for k in kws if " " in k]
    assert names == expected, kws


def test_cli_eval_score_prints_one_json_object(tmp_path, data_dir):
    refs = lines(data_dir, "cs", 20)
    (tmp_path / "ref.txt").write_text("\n".join(refs) + "\n", encoding="utf-8")
    (tmp_path / "hyp.txt").write_text("\n".join(shortened(refs)) + "\n", encoding="utf-8")
    kws = [{"keywords": keywords(r, "cs")} for r in refs]
    (tmp_path / "kw.jsonl").write_text("\n".join(json.dumps(k, ensure_ascii=False) for k in kws), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "mella.cli", "eval", "score", "--lang", "cs", "--hyp",
                           str(tmp_path / "hyp.txt"), "--ref", str(tmp_path / "ref.txt"), "--keywords",
                           str(tmp_path / "kw.jsonl")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) >= {"bleu", "chrf", "rouge_l", "meteor", "lang_fidelity", "keyword_acc"}
    assert 0 < out["bleu"] < 100 and 0 < out["keyword_acc"] < 100 and out["lang_fidelity"] == 100
    (tmp_path / "short.txt").write_text("\n".join(refs[:-1]) + "\n", encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "mella.cli", "eval", "score", "--lang", "cs", "--hyp",
                          str(tmp_path / "hyp.txt"), "--ref", str(tmp_path / "short.txt")],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "line-aligned" in bad.stderr


def test_garbled_output_is_in_no_language():
    gibberish = "\ufffdoutiekI\ufffdet sh v^ o00!\ufffdet sh v^ o00!\ufffdet sh vdáne bu\ufffdce? HO\ufffdR"
    assert not metrics.in_language(gibberish, "cs")
    assert not metrics.in_language("Karlův most\x01\x02\x03 v Praze", "cs")
    assert metrics.in_language("Muž v oranžovém klobouku zírá na něco a pak jde dál po ulici s přáteli a psem "
                               "a\ufffd kočkou, kterou potkali u řeky.", "cs")  # one stray byte in a long answer
    assert metrics.lang_fidelity([gibberish, "Muž v oranžovém klobouku zírá na něco."], "cs") == 50


@pytest.mark.parametrize("lang, reference, function_words, content", [
    # the function words the issue found among keywords (Arabic "and not", "must", "in it"; Hungarian "thus")
    ("ar", "ولا يجب أن ننسى ما فيه من جمال مسجد محمد علي في القاهرة", {"ولا", "يجب", "فيه"}, {"مسجد", "القاهرة"}),
    ("hu", "Így ünnepelt a Ferencváros a budapesti Groupama Arénában", {"Így"}, {"ünnepelt", "Groupama Arénában"}),
])
def test_function_words_are_not_keywords(lang, reference, function_words, content):
    kws = set(keywords(reference, lang))
    assert not kws & function_words and content <= kws, kws
