"""--out is checked before anything is written: a folder mella did not make, the input folder, or a folder
of another kind of output is refused, untouched; a folder a refused run created is removed again."""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import make_table


def mella(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mella.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return make_table(tmp_path_factory.mktemp("t") / "fetched", [{}] * 4)


def test_a_folder_mella_did_not_make_is_refused_untouched(tmp_path, data_dir, table):
    user = tmp_path / "notes"
    user.mkdir()
    (user / "README.md").write_text("MY NOTES")
    for args in (("mine", data_dir / "fundus" / "kr", "--langs", "ko"), ("select", table), ("compose", table)):
        proc = mella(*args, "--out", user)
        assert proc.returncode == 2, proc.stderr
        assert "is not empty and was not made by mella (it holds README.md)" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in user.iterdir()) == ["README.md"] and (user / "README.md").read_text() == "MY NOTES"


def test_the_input_folder_and_another_kind_of_output_are_refused(tmp_path, table):
    same = mella("select", table, "--out", table)
    assert same.returncode == 2 and "is the input folder" in same.stderr
    assert mella("compose", table, "--out", tmp_path / "ds").returncode == 0
    into_dataset = mella("select", table, "--out", tmp_path / "ds")
    assert into_dataset.returncode == 2 and "holds a composed dataset (`mella compose`), not the output" in into_dataset.stderr
    assert mella("export", tmp_path / "ds", "--format", "llava", "--out", tmp_path / "ex").returncode == 0
    into_export = mella("compose", table, "--out", tmp_path / "ex")
    assert into_export.returncode == 2 and "holds an export (`mella export`)" in into_export.stderr


def test_a_refused_run_leaves_no_folder_behind(tmp_path, table):
    proc = mella("caption", table, "--out", tmp_path / "cap", "--backend", "openai", "--model", "m",
                 "--base-url", "http://127.0.0.1:9/v1")
    assert proc.returncode == 2 and "cannot reach" in proc.stderr
    assert not (tmp_path / "cap").exists()
    proc = mella("select", table, "--out", tmp_path / "sel", "--set", "write.compression=bogus")
    assert proc.returncode == 2 and not (tmp_path / "sel").exists()


def test_an_export_folder_keeps_to_its_dataset_and_splits_are_read_once(tmp_path, table):
    import json

    for name in ("ds1", "ds2"):
        assert mella("compose", table, "--out", tmp_path / name, "--set", "split.test_size=0",
                     "--set", "split.val_size=0", "--set", f"seed={len(name)}").returncode == 0
    first = mella("export", tmp_path / "ds1", "--format", "llava", "--out", tmp_path / "ex", "--splits", "train,train")
    assert first.returncode == 0, first.stderr
    items = json.loads((tmp_path / "ex" / "train.json").read_text())
    assert len(items) == len({i["id"] for i in items}) == 4  # train listed twice is exported once
    other = mella("export", tmp_path / "ds2", "--format", "llava", "--out", tmp_path / "ex")
    assert other.returncode == 2 and "holds an export of another dataset" in other.stderr
    assert json.loads((tmp_path / "ex" / "export.json").read_text())["dataset"] == str((tmp_path / "ds1").resolve())


def test_a_rerun_of_a_finished_job_says_nothing_was_redone(tmp_path, data_dir, table):
    for args in (("mine", data_dir / "fundus" / "kr", "--langs", "ko"), ("select", table)):
        first = mella(*args, "--out", tmp_path / args[0])
        again = mella(*args, "--out", tmp_path / args[0])
        assert first.returncode == again.returncode == 0, again.stderr
        assert "nothing redone" not in first.stderr
        assert "nothing redone: every task of this job had already finished" in again.stderr
        assert again.stdout == first.stdout  # the same figures, in the same order (ties by name)
    # compose (and build, which runs it) works outside the executors: its rerun does work and says nothing
    assert mella("compose", table, "--out", tmp_path / "ds").returncode == 0
    again = mella("compose", table, "--out", tmp_path / "ds")
    assert again.returncode == 0 and "nothing redone" not in again.stderr
