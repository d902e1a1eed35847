"""Exports loaded by their consumers' own dataset code, each in its own virtual environment (the tools pin
heavy stacks of their own): `make test-consumers` builds them and runs this; `.ci/run` does too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))

from helpers import make_table  # noqa: E402
from mella.config import ComposeConfig  # noqa: E402
from mella.recipes.compose import run_compose  # noqa: E402
from mella.recipes.export import run_export  # noqa: E402


def tool_python(tool: str) -> str:
    path = os.environ.get(f"MELLA_{tool.upper()}_PYTHON") or str(ROOT / ".venv-consumers" / tool / "bin" / "python")
    assert Path(path).is_file(), f"no {tool} environment at {path}: run `make test-consumers`"
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("consumers")
    # captions long enough for caption QA (8 words at least)
    metas = [{"caption.en": "A red and white tram crosses a stone bridge over the river.",
              "mt.text": f"Červenobílá tramvaj přejíždí kamenný most přes řeku, snímek číslo {i}.", "mt.lang": "cs",
              "mt.qa.script": "Latn", "mt.qa.lid_label": "cs", "mt.qa.length_ratio": 1.0} for i in range(6)]
    folder = make_table(root / "translated", metas, steps=("mine", "fetch", "caption", "translate"),
                        texts=[f"Karlův most v Praze {i}" for i in range(6)])
    cfg = ComposeConfig.model_validate({"thick": True, "split": {"group_by": ["image"], "test_size": 1, "val_size": 1}})
    run_compose(folder, root / "ds", cfg)
    return root / "ds"


@pytest.mark.parametrize("tool, fmt, script", [("llamafactory", "sharegpt", "check_llamafactory.py"),
                                               ("swift", "swift", "check_swift.py")])
def test_export_loads_with_the_consumers_own_code(tmp_path, dataset, tool, fmt, script):
    out = tmp_path / fmt
    result = run_export(dataset, out, fmt)
    proc = subprocess.run([tool_python(tool), str(HERE / script), str(out)], capture_output=True, text=True,
                          timeout=600, cwd=tmp_path, env=dict(os.environ, HF_HUB_OFFLINE="1", USE_HF="1"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    loaded = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert sum(d["rows"] for d in loaded) == result["samples"] == 12
