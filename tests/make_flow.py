"""The project's make targets and README commands, run as a user types them, and checks of what they write.

Commands run in a throw-away working copy of the repository. The copy
holds the project's files (not data/, runs/, results/, models/ or .venv)
and a ``.venv`` that is the environment running the tests, with a fresh
``.installed`` stamp, so ``make`` targets run without creating or
reinstalling anything: in a virtualenv (``make test``, CI) its entries are
links to that one's; in any other environment where the package is installed
(conda, a system or user install, PYTHONPATH) it holds a ``bin/`` whose
``python`` is the running interpreter and whose ``audiosr`` runs the CLI with
it. Commands run with bash in the copy, with the copy's ``audiosr`` first on
the path; data/, runs/ and results/ are written inside the copy.
"""

import math
import os
import pathlib
import shutil
import subprocess
import sys

from audiosr.models.naming import MODEL_LABELS, model_label, parse_model_name
from audiosr.train.experiment import run_name
from audiosr.train.fit import BEST_MODEL_NAME

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Outputs and local state at the top of a checkout; never copied.
TOP_LEVEL_OUTPUTS = {".git", ".venv", "data", "runs", "results", "models", "build", "logs"}
ANYWHERE = {"__pycache__", ".pytest_cache"}


def _ignore(folder, names):
    top = pathlib.Path(folder).resolve() == ROOT
    return {n for n in names if n in ANYWHERE or n.endswith(".egg-info") or (top and n in TOP_LEVEL_OUTPUTS)}


def _link_environment(venv):
    """Make ``venv`` run the interpreter and packages that run the tests (see the module docstring)."""
    venv.mkdir()
    if sys.prefix != sys.base_prefix:  # a virtualenv: its pyvenv.cfg, bin/ and lib/ (python finds them by path)
        for entry in pathlib.Path(sys.prefix).iterdir():
            if entry.name != ".installed":
                (venv / entry.name).symlink_to(entry)
        return
    bin_dir = venv / "bin"
    bin_dir.mkdir()
    for name in ("python", "python3"):
        (bin_dir / name).symlink_to(sys.executable)
    (bin_dir / "audiosr").write_text('#!/bin/sh\nexec "$(dirname "$0")/python" -m audiosr.cli "$@"\n')
    (bin_dir / "audiosr").chmod(0o755)


def make_working_copy(dest):
    """Copy the repository to ``dest`` with a ready ``.venv``; returns ``dest`` as a Path."""
    dest = pathlib.Path(dest)
    shutil.copytree(ROOT, dest, ignore=_ignore, symlinks=True)
    _link_environment(dest / ".venv")
    (dest / ".venv" / ".installed").touch()
    up_to_date = subprocess.run(["make", "-q", ".venv/.installed"], cwd=dest, capture_output=True)
    if up_to_date.returncode != 0:  # make would run pip: never from a test
        raise RuntimeError(f"make in {dest} would reinstall .venv: {up_to_date.stderr.decode()[-500:]}")
    return dest


def environment(copy, **variables):
    """os.environ for commands in ``copy``: its audiosr and .venv first, no outer make's flags, plus ``variables``."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env.update(PYTHONPATH=os.pathsep.join(filter(None, [str(copy), env.get("PYTHONPATH")])),
               PATH=f"{copy / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}", TF_CPP_MIN_LOG_LEVEL="2", **variables)
    return env


def run(command, copy, env, timeout=300):
    """Run one shell command line in ``copy``; fails the test with the command's output tail if it fails."""
    result = subprocess.run(["bash", "-c", command], cwd=copy, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, (f"`{command}` exited with {result.returncode}:\n"
                                    f"{result.stdout[-1500:]}\n{result.stderr[-3000:]}")
    return result


# The study's six models, as MODEL= names them.
STUDY_MODELS = [kind + suffix for kind in MODEL_LABELS for suffix in ("", "-c")]


def trained_runs(copy, dataset, preset="tiny", ratios=(2, 4)):
    """``{ratio: [model names]}`` of the runs in ``copy``/runs that finished with a best model."""
    trained = {}
    for ratio in ratios:
        for name in STUDY_MODELS:
            run = copy / "runs" / run_name(dataset, ratio, *parse_model_name(name), preset, 0)
            if (run / BEST_MODEL_NAME).is_file():
                trained.setdefault(ratio, []).append(name)
    return trained


def read_figure3(path):
    """{(metric label, ratio): {method: float or None}} from a figure3.md table."""
    lines = [line for line in pathlib.Path(path).read_text().splitlines() if line.startswith("|")]
    methods = [cell.strip() for cell in lines[0].strip("|").split("|")][2:]
    table = {}
    for line in lines[2:]:
        metric, ratio, *cells = [cell.strip().strip("*") for cell in line.strip("|").split("|")]
        table[metric, int(ratio)] = {m: (None if c == "n/a" else float(c)) for m, c in zip(methods, cells)}
    return methods, table


def check_figure3(path, trained=None):
    """Spline has finite SNR and LSD (LSD > 0) for every ratio, and so has each trained model
    (``{ratio: [model names]}``), the others n/a; with ``trained=None``, any model cell is n/a or finite."""
    methods, table = read_figure3(path)
    assert methods[0] == "Spline" and table, (path, methods)
    labels = None
    if trained is not None:
        labels = {r: {model_label(*parse_model_name(name)) for name in names} for r, names in trained.items()}
        assert set(methods[1:]) == set().union(*labels.values()), (path, methods)
    for (metric, ratio), values in table.items():
        assert metric in ("SNR (dB)", "LSD"), (path, metric)
        for method, value in values.items():
            trained_here = method in labels.get(ratio, ()) if labels is not None else value is not None
            if method == "Spline" or trained_here:
                assert value is not None and math.isfinite(value), (path, metric, ratio, method, value)
                assert metric != "LSD" or value > 0, (path, ratio, method, value)
            else:
                assert value is None, (path, metric, ratio, method, value)
