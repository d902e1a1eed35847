"""Prompts are data, versioned: changing one without bumping its version would silently reuse cached
model outputs made with the old text. These snapshots fail on any change; update them together with the
version."""

from __future__ import annotations

import hashlib

import yaml

from mella.resources import data_text

SNAPSHOTS = {  # file -> (version, sha256 of the file)
    "prompts/caption.yaml": (1, "08d98ea2621aafbd531b6ccab5f4f23c252e381f063a04c1d0132271503df550"),
    "prompts/translate.yaml": (1, "153d457e9ba6c249e71d826a8106195988c6010b1bbfd875680c74de8d2bfc48"),
    "prompts/describe.yaml": (1, "4f442a5db539a05c3e39cc1da5d95cc883049218ecb500cb706be0202193026c"),
}


def test_prompt_files_match_their_snapshots():
    for name, (version, digest) in SNAPSHOTS.items():
        text = data_text(name)
        assert yaml.safe_load(text)["version"] == version, name
        assert hashlib.sha256(text.encode()).hexdigest() == digest, f"{name} changed: bump its version"


def test_every_target_language_has_an_evaluation_prompt():
    from mella.languages import DEFAULT_LANGS

    prompts = yaml.safe_load(data_text("prompts/describe.yaml"))["prompts"]
    assert set(DEFAULT_LANGS) | {"sr-Latn", "en"} <= set(prompts)
