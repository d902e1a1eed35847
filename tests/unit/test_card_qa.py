"""The dataset card's QA pass-rate plot counts every caption and translation check that select names."""

from __future__ import annotations

from mella.report.card import _qa_pass_rates


def test_pass_rates_cover_caption_and_translation_checks():
    dstats = {"decisions_by_source": {"d_ling": {
        "cs": {"usable": 8, "mt_truncated": 2},
        "th": {"usable": 5, "caption_too_short": 3, "mt_low_similarity": 2, "no_caption": 10}}}}
    rates = _qa_pass_rates(dstats)
    assert rates["mt_truncated"]["cs"] == 0.8 and rates["mt_low_similarity"]["cs"] == 1.0
    assert rates["caption_too_short"]["th"] == 0.7 and rates["mt_low_similarity"]["th"] == 0.8  # no_caption aside
    assert "mt_length_ratio" not in rates  # not a check any more (split into truncated and repeated)
