import os
import stat

import pytest

from audiosr.atomic import atomic_path


def test_success_replaces_the_target_readable_by_others(tmp_path):
    target = tmp_path / "sub" / "table.md"
    with atomic_path(target) as tmp:
        assert os.path.basename(tmp).startswith(".partial-") and tmp.endswith(".md")
        with open(tmp, "w") as handle:
            handle.write("new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert os.listdir(target.parent) == ["table.md"]


def test_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "model.keras"
    target.write_text("good")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            with open(tmp, "w") as handle:
                handle.write("half")
            raise RuntimeError("killed halfway")
    assert target.read_text() == "good"
    assert os.listdir(tmp_path) == ["model.keras"]


def test_suffix_can_be_forced(tmp_path):
    with atomic_path(tmp_path / "w.weights.h5", suffix=".weights.h5") as tmp:
        assert tmp.endswith(".weights.h5")
        open(tmp, "w").close()
    assert (tmp_path / "w.weights.h5").exists()
