"""Instruction templates are data, versioned and frozen: a wording change without a version bump would
make samples with the same template id say different things."""

from __future__ import annotations

import hashlib

import pytest
import yaml

from mella.dataset.templates import KINDS, MIN_PARAPHRASES, Templates, template_tag
from mella.languages import DEFAULT_LANGS, build_table
from mella.resources import data_text
from mella.scripts import script_counts

SNAPSHOTS = {  # file -> (version, sha256 of the file)
    "ar": (1, "f844e20ee02f64a9bb777496e04a8bd0cf6db2bdf018972621ab487eaa70752e"),
    "cs": (1, "26a8a6ea677145cbacd55e6507fea6a44f40d5908c11bbdc86e9a3200ce84ad8"),
    "en": (1, "91a8c130add764173439d504a1cbcbb70b21eac3f50e8e3e00cbde6ab3870f8e"),
    "hu": (1, "61280f392cfd1abe308c955a6cf8edd3c6d20afbbb7aa0237fdafbe040779605"),
    "ko": (1, "006b89b976e8ca18c7c304cf408dfc85e1133932add22a2de2a1f19d260042db"),
    "ru": (1, "ce63e2bded1c44a0e7d392a411781fb8f7c5aa0a6779afe89231ff794822881e"),
    "sr": (1, "6b18733edf9b76e9ea3062ece1968ae72e9b0075b618169471786cec60e3658b"),
    "sr-Latn": (1, "79a788195c8ce75f71e9d2a78f35a50d6e9037fe2a748f2024f3fba95a3dc5b7"),
    "th": (1, "8038d4373b50ba4ece89558edab39c5e6ed92bfe827391636b411fbc06ee54ce"),
    "vi": (1, "39e0b419ffca840ca215547337ca8ef54ade5eb1db1d94b9f6fba76e7bccfbf6"),
}
SCRIPT = {"ar": "Arab", "ko": "Hang", "th": "Thai", "ru": "Cyrl", "sr": "Cyrl", "sr-Latn": "Latn", "cs": "Latn",
          "hu": "Latn", "vi": "Latn", "en": "Latn"}
SR_LATIN = dict(zip("абвгдђежзијклљмнњопрстћуфхцчџш", ["a", "b", "v", "g", "d", "đ", "e", "ž", "z", "i", "j", "k", "l",
                                                         "lj", "m", "n", "nj", "o", "p", "r", "s", "t", "ć", "u", "f",
                                                         "h", "c", "č", "dž", "š"]))


@pytest.mark.parametrize("tag", sorted(SNAPSHOTS))
def test_template_files_match_their_snapshots(tag):
    text = data_text(f"templates/{tag}.yaml")
    version, digest = SNAPSHOTS[tag]
    assert yaml.safe_load(text)["version"] == version
    assert hashlib.sha256(text.encode()).hexdigest() == digest, f"templates/{tag}.yaml changed: bump its version"


@pytest.mark.parametrize("tag", sorted(SNAPSHOTS))
def test_every_language_has_enough_native_paraphrases(tag):
    templates = Templates().get(tag)
    for kind in KINDS:
        options = templates.by_kind[kind]
        assert len(set(options)) >= MIN_PARAPHRASES
        for text in options:
            assert ("{title}" in text) == (kind == "d_know_title") and "<image>" not in text
            counts = script_counts(text.replace("{title}", ""))
            assert max(counts, key=counts.get) == SCRIPT[tag] and counts[SCRIPT[tag]] == sum(counts.values()), text


def test_every_target_language_and_script_has_templates():
    table = build_table()
    for code in DEFAULT_LANGS:
        for script in table[code].scripts:
            Templates().get(template_tag(code, script, table))  # raises if missing


def test_serbian_latin_is_the_transliteration_of_serbian_cyrillic():
    cyr, lat = Templates().get("sr"), Templates().get("sr-Latn")

    def translit(text: str) -> str:
        return "".join(SR_LATIN.get(c.lower(), c) if c.islower() or c.lower() not in SR_LATIN
                       else SR_LATIN[c.lower()].capitalize() for c in text)

    for kind in KINDS:
        assert [translit(t) for t in cyr.by_kind[kind]] == list(lat.by_kind[kind])


def test_choice_is_deterministic_and_spread():
    cs = Templates().get("cs")
    picks = [cs.pick("d_know", f"record-{i}") for i in range(400)]
    assert picks == [cs.pick("d_know", f"record-{i}") for i in range(400)]
    assert len({p[0] for p in picks}) == len(cs.by_kind["d_know"])  # every paraphrase gets used
    assert picks[0][0].startswith("cs/d_know/") and picks[0][0].endswith("@v1")
    assert cs.pick("d_know", "record-0", seed=1) != picks[0] or cs.pick("d_know", "record-1", seed=1) != picks[1]


def test_templates_dir_adds_a_language(tmp_path):
    own = {"version": 3, "lang": "xx"} | {k: [f"{k} {i}" + (" {title}" if k == "d_know_title" else "")
                                              for i in range(8)] for k in KINDS}
    (tmp_path / "xx.yaml").write_text(yaml.safe_dump(own), encoding="utf-8")
    assert Templates(tmp_path).get("xx").pick("d_ling", "a")[0].endswith("@v3")
    (tmp_path / "yy.yaml").write_text(yaml.safe_dump(own | {"d_ling": ["only one"]}), encoding="utf-8")
    with pytest.raises(ValueError, match="d_ling has 1 distinct templates"):
        Templates(tmp_path).get("yy")
