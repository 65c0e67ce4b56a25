import json
import os
import pathlib
import stat

import pytest

from audiosr.atomic import (
    atomic_directory,
    atomic_path,
    remove_stale_partials,
    save_atomic,
    write_json_atomic,
    write_text_atomic,
)


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


def test_temporary_names_say_whose_and_for_what(tmp_path):
    with atomic_path(tmp_path / "a.wav") as tmp:
        name = os.path.basename(tmp)
        assert name.startswith(f".partial-{os.getpid()}-") and name.endswith("-a.wav")
        open(tmp, "w").close()
    with atomic_path(tmp_path / "figure", suffix=".png") as tmp:
        assert tmp.endswith("-figure.png")
        open(tmp, "w").close()
    assert sorted(os.listdir(tmp_path)) == ["a.wav", "figure"]


def test_errors_name_the_target_not_the_temporary_file(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    target = tmp_path / "file" / "sub" / "table.md"
    with pytest.raises(NotADirectoryError) as caught:
        write_text_atomic(target, "x")
    assert caught.value.filename == str(target) and ".partial-" not in str(caught.value)
    with pytest.raises(IsADirectoryError) as caught:  # the rename onto a folder fails
        (tmp_path / "folder.md").mkdir()
        write_text_atomic(tmp_path / "folder.md", "x")
    assert caught.value.filename == str(tmp_path / "folder.md")
    assert sorted(os.listdir(tmp_path)) == ["file", "folder.md"]


def test_only_partials_of_ended_processes_are_stale(tmp_path, dead_pid):
    names = {
        "dead": f".partial-{dead_pid}-abcdefgh-a.wav",
        "dead_other_target": f".partial-{dead_pid}-abcdefgh-b.wav",
        "alive": f".partial-{os.getpid()}-abcdefgh-a.wav",
        "foreign": ".partial-notours.wav",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"half")
    assert remove_stale_partials(tmp_path, "a.wav") == [str(tmp_path / names["dead"])]
    assert remove_stale_partials(tmp_path) == [str(tmp_path / names["dead_other_target"])]
    assert sorted(os.listdir(tmp_path)) == sorted([names["alive"], names["foreign"]])
    assert remove_stale_partials(tmp_path / "missing") == []


def test_json_and_save_helpers(tmp_path):
    write_json_atomic(tmp_path / "m.json", {"a": [1, 2]})
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": [1, 2]}
    save_atomic(lambda tmp: open(tmp, "w").write("saved"), tmp_path / "w.weights.h5")
    assert (tmp_path / "w.weights.h5").read_text() == "saved"
    assert sorted(os.listdir(tmp_path)) == ["m.json", "w.weights.h5"]


def test_atomic_directory_replaces_a_folder_whole_and_a_killed_writers_folder_is_removed(tmp_path, dead_pid):
    target = tmp_path / "model"
    with atomic_directory(target) as folder:
        (pathlib.Path(folder) / "a").write_text("first")
    with pytest.raises(RuntimeError), atomic_directory(target) as folder:
        (pathlib.Path(folder) / "b").write_text("half")
        raise RuntimeError("killed halfway")
    assert os.listdir(tmp_path) == ["model"] and os.listdir(target) == ["a"]
    with atomic_directory(target) as folder:
        (pathlib.Path(folder) / "c").write_text("second")
    assert os.listdir(tmp_path) == ["model"] and os.listdir(target) == ["c"]
    assert oct(target.stat().st_mode & 0o777) == oct(0o755)
    stale = tmp_path / f".partial-{dead_pid}-abcdefgh-model"
    stale.mkdir()
    (stale / "saved_model.pb").write_text("half")
    assert remove_stale_partials(tmp_path) == [str(stale)]
    assert os.listdir(tmp_path) == ["model"]
