"""D_ling: captions and translations with QA, over real HTTP (a local OpenAI-compatible server) and with a
tiny random seq2seq model; caching, resumption and named failures."""

from __future__ import annotations

import base64
import io

import pytest

from chat_server import ChatServer
from helpers import make_table, rows
from mella.config import CaptionConfig, SelectConfig, TranslateConfig
from mella.recipes.ling import run_caption, run_select, run_translate


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MELLA_CACHE_DIR", str(tmp_path / "cache"))


def image_width(data_url: str) -> int:
    from PIL import Image

    return Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))).width


def test_caption_over_http_with_cache_and_failures(tmp_path, data_dir):
    captions = (data_dir / "multi30k" / "test_2016_flickr.en").read_text(encoding="utf-8").splitlines()
    fetched = make_table(tmp_path / "fetched", [{} for _ in range(6)])
    failing = {81, 84}  # images of these widths always fail (HTTP 500); the others are captioned

    def reply(body, n):
        content = body["messages"][0]["content"]
        assert content[0]["image_url"]["url"].startswith("data:image/png;base64,")
        assert "Describe this image in detail in English" in content[1]["text"]
        width = image_width(content[0]["image_url"]["url"])
        return (500, "") if width in failing else (200, captions[width])

    server = ChatServer(reply)
    try:
        cfg = CaptionConfig(backend="openai", model="tiny-vlm", base_url=server.url, batch_size=4, shard_records=3,
                            backoff=0.01)
        summary = run_caption(fetched, tmp_path / "cap", cfg)
        got = rows(tmp_path / "cap")
        assert len(got) == 6 and summary["kept_total"] == 6  # nothing dropped: a failure is a named column
        ok = [r for r in got if r["caption_en"]]
        failed = [r for r in got if not r["caption_en"]]
        assert len(failed) == 2 and all(r["caption_error"].startswith("http_500") for r in failed)
        assert all(r["caption_en"] == captions[80 + int(r["id"][1:])] and r["caption_model"] == "tiny-vlm" for r in ok)
        assert len(server.calls) == 4 + 2 * 4  # 4 answered at once; each failure: 1 try + 3 retries
        counters = [v for k, v in summary["steps"].items() if "caption" in k][0]
        assert counters["failed_caption_http_500"] == 2
        run_caption(fetched, tmp_path / "cap2", cfg)  # another output dir: the cache answers the good ones
        assert len(server.calls) == 12 + 2 * 4  # only the failed ones are asked again (with their retries)
    finally:
        server.close()


def test_translate_with_llm_and_qa_reasons(tmp_path, data_dir):
    en = (data_dir / "ntrex" / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()
    cs = (data_dir / "ntrex" / "newstest2019-ref.ces.txt").read_text(encoding="utf-8").splitlines()
    picked = [i for i, line in enumerate(en) if any(c.isdigit() for c in line)][:2] + [0, 1, 2, 4]
    captioned = make_table(tmp_path / "captioned", [{"caption.en": en[i]} for i in picked], ("mine", "fetch", "caption"))
    to_cs = dict(zip(en, cs))

    def reply(body, n):
        src = body["messages"][1]["content"]
        assert "Czech" in body["messages"][0]["content"]
        k = picked.index(en.index(src))
        if k == 0:
            return 200, to_cs[src]  # a real translation: kept
        if k == 1:
            return 200, "".join(c for c in to_cs[src] if not c.isdigit())  # numbers lost
        if k == 2:
            return 200, src  # untranslated: still English
        if k == 3:
            return 200, " ".join(["velmi pěkný obrázek"] * 12)  # a decoding loop
        if k == 4:
            return 200, to_cs[en[picked[5]]]  # a fluent Czech sentence about something else
        return 200, to_cs[src]

    server = ChatServer(reply)
    try:
        cfg = TranslateConfig(backend="openai", model="tiny-llm", base_url=server.url, batch_size=8)
        summary = run_translate(captioned, tmp_path / "mt", cfg)
    finally:
        server.close()
    translated = rows(tmp_path / "mt")
    assert summary["kept_total"] == 6 and all(r["translation"] for r in translated)  # scores only: nothing dropped
    # NTREX sentences stand in for captions: some are shorter than caption QA's minimum, not tested here
    no_caption_qa = {"caption_qa": {"min_words": 0}}
    run_select(tmp_path / "mt", tmp_path / "sel", SelectConfig.model_validate(no_caption_qa))
    reasons = {r["id"]: r["ling_reason"] for r in rows(tmp_path / "sel")}
    assert reasons == {"r000": None, "r001": "mt_numbers_lost", "r002": "mt_wrong_language", "r003": "mt_repetition",
                       "r004": "mt_low_similarity", "r005": None}
    first = translated[0]
    assert first["translation_lang"] == "cs" and first["qa_similarity"] > 0.8 and first["qa_lid_label"] == "cs"
    assert first["caption_en"] == en[picked[0]] and first["text"] == "alt 0"  # earlier columns carried
    looser = run_select(tmp_path / "mt", tmp_path / "sel2",
                        SelectConfig.model_validate({"qa": {"max_repetition": 1.0, "max_length_ratio": 10}} | no_caption_qa))
    # re-tuned without a model call: the looping output now fails its next check (it ends no sentence)
    assert {r["id"]: r["ling_reason"] for r in rows(tmp_path / "sel2")}["r003"] == "mt_truncated"
    assert looser["decisions"]["ling"]["cs"] == {"ok": 2, "mt_numbers_lost": 1, "mt_wrong_language": 1,
                                                 "mt_truncated": 1, "mt_low_similarity": 1}


@pytest.fixture(scope="module")
def tiny_mt(tmp_path_factory, data_dir):
    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration

    from tiny_models import train_tokenizer

    texts = (data_dir / "ntrex" / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()
    texts += (data_dir / "ntrex" / "newstest2019-ref.ces.txt").read_text(encoding="utf-8").splitlines()
    tok = train_tokenizer(texts, extra_special=["eng_Latn", "ces_Latn", "kor_Hang"])
    cfg = M2M100Config(vocab_size=len(tok), d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                       decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=256,
                       pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                       decoder_start_token_id=tok.eos_token_id)
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny-m2m")
    M2M100ForConditionalGeneration(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def test_translate_with_a_tiny_random_seq2seq_model(tmp_path, data_dir, tiny_mt):
    en = (data_dir / "ntrex" / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()[:5]
    captioned = make_table(tmp_path / "captioned", [{"caption.en": line} for line in en], ("mine", "fetch", "caption"))
    cfg = TranslateConfig(backend="transformers", model=str(tiny_mt), max_new_tokens=8, batch_size=2,
                          targets=["cs", "ko"], similarity=False)
    summary = run_translate(captioned, tmp_path / "mt", cfg)
    got = rows(tmp_path / "mt")
    assert summary["kept_total"] == len(got) == 10  # 5 captions x 2 languages
    assert sorted(r["id"] for r in got) == sorted(f"r{n:03d}-{lang}" for n in range(5) for lang in ("cs", "ko"))
    assert {r["translation_lang"] for r in got} == {"cs", "ko"}
    assert all(isinstance(r["translation"], str) and r["translation_model"] == str(tiny_mt) for r in got)
    again = run_translate(captioned, tmp_path / "mt2", cfg)
    translate_steps = [v for k, v in again["steps"].items() if "translate" in k]
    assert translate_steps[0]["from_cache"] == 10


def test_unknown_language_code_is_a_named_failure(tmp_path, tiny_mt):
    from mella.models import get_translator
    from mella.models.translators import TranslationError

    translator = get_translator("transformers", model=str(tiny_mt), max_new_tokens=4)
    with pytest.raises(TranslationError) as e:
        translator.translate(["Hello"], "xxx_Latn", "Nowhere")
    assert e.value.kind == "unknown_language_code"
    with pytest.raises(ValueError, match="unknown translator"):
        get_translator("nope")


@pytest.mark.parametrize("family", ["clip", "siglip"])
def test_align_scores_with_a_tiny_dual_encoder(tmp_path, data_dir, family):
    import tiny_models

    from mella.config import AlignConfig
    from mella.recipes.ling import run_align

    texts = (data_dir / "ntrex" / "newstest2019-ref.ces.txt").read_text(encoding="utf-8").splitlines()
    model = getattr(tiny_models, f"tiny_{family}")(tmp_path / family, texts)
    fetched = make_table(tmp_path / "fetched", [{} for _ in range(5)], texts=texts[:5])
    run_align(fetched, tmp_path / "al", AlignConfig(model=str(model), batch_size=2))
    scored = rows(tmp_path / "al")
    assert len(scored) == 5 and all(-1.0 <= r["align_score"] <= 1.0 for r in scored)
    assert all(r["align_model"] == str(model) for r in scored)
    again = run_align(fetched, tmp_path / "al2", AlignConfig(model=str(model), batch_size=5))
    assert [v for k, v in again["steps"].items() if "alignment" in k][0]["from_cache"] == 5
    run_select(tmp_path / "al", tmp_path / "sel", SelectConfig(min_align_score=1.0))
    assert {r["know_reason"] for r in rows(tmp_path / "sel")} == {"low_alignment"}


def test_cli_caption_prints_throughput_and_resumes(tmp_path):
    import os
    import subprocess
    import sys

    fetched = make_table(tmp_path / "fetched", [{} for _ in range(4)])
    env = dict(os.environ, MELLA_CACHE_DIR=str(tmp_path / "c"))
    cmd = [sys.executable, "-m", "mella.cli", "caption", str(fetched), "--out", str(tmp_path / "cap"), "--backend",
           "dummy", "--model", "dummy"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert first.returncode == 0, first.stderr
    assert "4 generated" in first.stdout and "items/s" in first.stdout
    got = rows(tmp_path / "cap")
    assert len(got) == 4 and all(r["caption_en"].startswith("[dummy backend output") for r in got)
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert second.returncode == 0 and len(rows(tmp_path / "cap")) == 4  # finished tasks are not redone


def test_caption_qa_names_what_is_not_a_caption(tmp_path):
    good = ("A wooden boat with a red sail is moored at a stone pier while two fishermen sort their nets under "
            "a cloudy sky.")
    captions = {
        "r000": good,
        "r001": "I'm sorry, but I cannot see the image you are referring to. Could you provide the image?",
        "r002": "Dřevěná loď s červenou plachtou kotví u kamenného mola, dva rybáři třídí sítě.",
        "r003": "A boat.",
        "r004": "A boat on the water, " + "a boat on the water, " * 12,
    }
    table = make_table(tmp_path / "cap", [{"caption.en": c} for c in captions.values()], ("mine", "fetch", "caption"))
    run_select(table, tmp_path / "sel", SelectConfig())
    reasons = {r["id"]: r["ling_reason"] for r in rows(tmp_path / "sel")}
    assert reasons == {"r000": "no_translation", "r001": "caption_refusal", "r002": "caption_not_english",
                       "r003": "caption_too_short", "r004": "caption_repetition"}


def test_caption_scores_are_saved_by_caption(tmp_path):
    fetched = make_table(tmp_path / "fetched", [{} for _ in range(2)])
    server = ChatServer(lambda body, n: (200, "I cannot see the image."))
    try:
        run_caption(fetched, tmp_path / "cap", CaptionConfig(backend="openai", model="m", base_url=server.url))
    finally:
        server.close()
    got = rows(tmp_path / "cap")
    assert all(r["caption_qa_refusal"] is True and r["caption_qa_english"] is True and r["caption_qa_words"] == 5
               for r in got)


def test_translate_fails_fast_when_no_record_language_is_known(tmp_path):
    table = make_table(tmp_path / "cap", [{"caption.en": "A red boat at a pier.", "lid.lang": "xx"}] * 3,
                       ("mine", "fetch", "caption"))
    server = ChatServer(lambda body, n: (200, "x"))
    try:
        with pytest.raises(ValueError, match="none of the records' languages .xx 3. is in the language table"):
            run_translate(table, tmp_path / "mt", TranslateConfig(backend="openai", model="m", base_url=server.url))
        assert server.calls == []  # before any record was sent
    finally:
        server.close()
    assert not (tmp_path / "mt" / "job.json").exists()


def test_translate_fails_fast_on_a_model_without_the_language_code(tmp_path, tiny_mt):
    table = make_table(tmp_path / "cap", [{"caption.en": "A red boat at a pier."}], ("mine", "fetch", "caption"))
    cfg = TranslateConfig(backend="transformers", model=str(tiny_mt), targets=["cs", "hu"], similarity=False)
    with pytest.raises(ValueError, match=r"has no language code for hu \(hun_Latn\).*mt_code"):
        run_translate(table, tmp_path / "mt", cfg)


def test_cli_translate_that_translates_nothing_exits_non_zero(tmp_path):
    import os
    import subprocess
    import sys

    table = make_table(tmp_path / "cap", [{"caption.en": "A red boat at a pier."}] * 3, ("mine", "fetch", "caption"))
    server = ChatServer(lambda body, n: (500, ""))
    try:
        cmd = [sys.executable, "-m", "mella.cli", "translate", str(table), "--out", str(tmp_path / "mt"), "--backend",
               "openai", "--model", "m", "--base-url", server.url, "--set", "retries=0", "--set", "similarity=false"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, MELLA_CACHE_DIR=str(tmp_path / "c")))
    finally:
        server.close()
    assert proc.returncode == 4, proc.stderr
    assert "kept 0 translations" in proc.stderr and "http_500" in proc.stderr and "translation_error" in proc.stderr


def test_cli_translate_served_from_the_cache_exits_zero(tmp_path):
    """A second run into a new folder gets every translation from the cache: that is success, not 'kept 0'."""
    import os
    import subprocess
    import sys

    table = make_table(tmp_path / "cap", [{"caption.en": "A red boat at a pier in the old harbour."}] * 3,
                       ("mine", "fetch", "caption"))
    server = ChatServer(lambda body, n: (200, "Červená loďka u mola ve starém přístavu."))
    env = dict(os.environ, MELLA_CACHE_DIR=str(tmp_path / "c"))
    try:
        for out in ("mt1", "mt2"):
            cmd = [sys.executable, "-m", "mella.cli", "translate", str(table), "--out", str(tmp_path / out),
                   "--backend", "openai", "--model", "m", "--base-url", server.url, "--set", "similarity=false"]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
            assert proc.returncode == 0, proc.stderr
    finally:
        server.close()
    assert "0 generated, 3 from cache" in proc.stdout and "kept 0" not in proc.stderr
    assert [r["translation"] for r in rows(tmp_path / "mt2")] == ["Červená loďka u mola ve starém přístavu."] * 3


def test_a_moved_server_keeps_its_cache(tmp_path):
    """The cache key is the model, its parameters, the prompt and the image, not the server's address."""
    fetched = make_table(tmp_path / "fetched", [{}] * 3)
    caption = "A wooden boat moored at a stone pier in a quiet harbour at dusk."
    first, second = ChatServer(lambda body, n: (200, caption)), ChatServer(lambda body, n: (200, "other"))
    try:
        run_caption(fetched, tmp_path / "a", CaptionConfig(backend="openai", model="m", base_url=first.url))
        summary = run_caption(fetched, tmp_path / "b", CaptionConfig(backend="openai", model="m", base_url=second.url))
    finally:
        first.close()
        second.close()
    assert len(first.calls) == 3 and second.calls == []
    assert [r["caption_en"] for r in rows(tmp_path / "b")] == [caption] * 3
    assert [c for name, c in summary["steps"].items() if "caption" in name][0]["from_cache"] == 3


def test_a_threshold_on_a_score_that_was_never_made_is_refused(tmp_path):
    import subprocess
    import sys

    table = make_table(tmp_path / "fetched", [{}] * 2)
    for args in (["select", table, "--out", tmp_path / "sel", "--set", "min_align_score=0.2"],
                 ["compose", table, "--out", tmp_path / "ds", "--set", "select.qa.min_similarity=0.9"]):
        proc = subprocess.run([sys.executable, "-m", "mella.cli", *map(str, args)], capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 2 and "does not hold: run `mella" in proc.stderr, proc.stderr
    assert not (tmp_path / "sel").exists() and not (tmp_path / "ds").exists()
    run_select(table, tmp_path / "ok", SelectConfig(min_lid_score=0.5))  # a score the table holds: fine


def test_a_caption_that_does_not_match_its_image_is_named(tmp_path):
    good = ("A wooden boat with a red sail is moored at a stone pier while two fishermen sort their nets under "
            "a cloudy sky.")
    table = make_table(tmp_path / "cap", [{"caption.en": good, "caption.align_score": s} for s in (0.31, 0.12)],
                       ("mine", "fetch", "caption", "align"))
    run_select(table, tmp_path / "sel", SelectConfig.model_validate({"caption_qa": {"min_align_score": 0.2}}))
    assert [r["ling_reason"] for r in rows(tmp_path / "sel")] == ["no_translation", "caption_low_alignment"]
    assert rows(tmp_path / "sel")[1]["caption_align_score"] == pytest.approx(0.12)  # the score stays, for re-tuning
