"""Every command in the ```bash blocks of README.md and docs/*.md runs, in order, exactly as written.

README.md comes first, then the pages of docs/ in the order of DOCS (a page
that exists but is not listed there fails the test, so none is forgotten).

The commands run in a fresh working copy of the repository (tests/make_flow.py), in
two parts with a copy each: README.md and the pages of USING_PAGES (what ships:
upsample, export, stream, evaluate), and the other pages (data, training,
tables), which make test runs side by side.
What the test supplies:

- PLACEHOLDERS: the ``/path/...`` folders of the commands, replaced by corpus
  layouts built from the test corpus, tests/corpus (the only change made to a command line);
- make_files: the files and folders the commands name in the working
  folder (talk.wav, talk.mp3, wideband.flac, narrowband.wav, recordings/, references/, best.keras),
  made before the first command;
- toy sizes: PREP_ARGS / EVAL_ARGS / DEMO_ARGS / FEATURES_ARGS (and make readme-figure's recording,
  FIGURE_RECORDING, from the test corpus) in the environment, and the
  working copy's experiments/configs/base.flags (the settings every study run
  includes) shrunk to the tiny preset and two steps -- so that commands which
  set TRAIN_ARGS themselves are still quick;
- NOT_RUN: the commands that cannot run here, each with its reason.

A command that is neither run nor listed fails the test, so new
commands are picked up by it as they are written. docs/layout.md's tree is
checked against the modules of the package.
"""

import ast
import re
import shlex
import shutil

import keras
import pytest
import soundfile
import soxr

from audiosr import lowres
from audiosr.models import build_model

import corpus_fixtures
import make_flow

README = make_flow.ROOT / "README.md"
# The pages of docs/, in the order their commands run (after README.md's): each command's prerequisites first
# (the data sets before training, the trained runs before their tables).
DOCS = ("upsampling.md", "pretrained.md", "deployment.md", "listening-page.md", "data.md", "training.md",
        "evaluation.md", "multi-worker.md", "input-makers.md", "benchmarks.md", "testing.md", "layout.md")
# README.md and the pages whose commands use what ships (no data set, no training run): they run in a working
# copy of their own, beside the others (make test gives each its own process).
USING_PAGES = ("README.md", "upsampling.md", "pretrained.md", "deployment.md", "listening-page.md")
LAYOUT = make_flow.ROOT / "docs" / "layout.md"


def documentation_pages():
    """README.md, then the docs/ pages in DOCS order."""
    return [README, *(make_flow.ROOT / "docs" / name for name in DOCS)]


def documented_commands(part=None):
    """Every command of README.md and docs/, in the order they run; of ``part`` only ("using": USING_PAGES,
    "training": the others)."""
    pages = [p for p in documentation_pages() if part is None or (p.name in USING_PAGES) == (part == "using")]
    return [command for page in pages for command in readme_commands(page.read_text())]

NOT_RUN = {
    "pip install -e .": "installs the package into the environment that runs these tests",
    "make test": "the test suite itself, which runs this test",
    "make test-fast": "the unit tests of the suite this test belongs to",
    "make lint": "ruff over the repository; .ci/run runs it before the tests, and ruff is not installed in "
    "every environment that runs them",
    "make pretrained PRETRAINED_DATA=/path/to/public-recordings": "trains the shipped models for an hour or more "
    "on the larger corpus, and its gate refuses a toy model (tests/test_pretrained.py checks the models it made)",
    "make bench": "times every model and preset on real inputs: minutes on a CPU (tests/test_bench.py runs each "
    "benchmark at toy size)",
    "python bench/bench_models.py --presets cpu,paper --repeats 10 --paper_repeats 3": "times paper-preset training "
    "steps: many minutes on a CPU (tests/test_bench.py runs it at toy size)",
    "python bench/bench_infer.py --presets cpu fast paper --seconds 10 60 600 --precisions float32 bfloat16 "
    "--repeats 3": "upsamples 600 s inputs with every preset: an hour on a CPU (tests/test_bench.py runs it at toy "
    "size)",
    "arecord -f S16_LE -r 8000 -c 1 | audiosr stream --rate 8000 | aplay -f S16_LE -r 16000 -c 1": "needs a sound "
    "card; docs/deployment.md runs the same pipe with a raw file in its place",
    "python bench/bench_quality.py --train_dir=TRAIN --test_dir=TEST --scales=2,4 --models=unet,gan,wgan "
    "--steps=300": "trains 300 steps per model and ratio, set on its own command line (tests/test_bench.py runs it "
    "at toy size)",
    "python bench/bench_models.py --presets cpu,fast,paper --repeats 5 --paper_repeats 2 --workers 2 --link_gbps "
    "1,10,100": "times paper-preset training steps: many minutes on a CPU (tests/test_bench.py runs it at toy size, "
    "its multi-worker table included)",
    **{'TF_CONFIG={"cluster": {"worker": ["10.0.0.1:23456", "10.0.0.2:23456"]}, "task": {"type": "worker", '
       f'"index": {index}}}}} make train-vctk-r2 MODEL=wgan TRAIN_ARGS=--strategy=multi_worker --batch_size=128 '
       '--learning_rate=2e-4': "needs two machines (docs/multi-worker.md's one-machine example, run here, is the "
       "same command on 127.0.0.1)" for index in (0, 1)},
    "python bench/bench_data.py": "prepares four copies of ../shared/data and times paper-preset training steps: "
    "many minutes on a CPU (tests/test_bench.py runs it at toy size)",
}
PREP_ARGS = "--num_clips=64 --clip_seconds=0.256 --num_workers=0"
ENVIRONMENT = {
    "PREP_ARGS": PREP_ARGS,
    "EVAL_ARGS": "--preset=tiny --max_files=2",
    "FEATURES_ARGS": "--epochs=1 --steps_per_epoch=2 --batch_size=4 --verbose=2",
    # the same preparation as PREP_ARGS, so make demo and make data-demo share data/synthetic as they do at full size
    "DEMO_ARGS": "--num_clips=64 --clip_seconds=0.256 --minutes=1 --epochs=1 --steps_per_epoch=2 --batch_size=4",
    # make readme-figure's recording: a held-out speaker of the shipped models in the test corpus
    "FIGURE_RECORDING": str(make_flow.ROOT / "tests" / "corpus" / "speech" / "held-out" / "p273_023.flac"),
    "FIGURE_START": "0",
}
TOY_STUDY_FLAGS = ["--preset=tiny", "--epochs=1", "--batch_size=4", "--steps_per_epoch=2", "--validation_steps=1",
                   "--n_critic=2", "--discriminator_filters=4", "--verbose=2"]


def readme_commands(text):
    """The command lines of the ```bash blocks, in order (comment lines left out, continuations joined)."""
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                commands.append(line.strip())
    return commands


def normalized(command):
    """The command's words without its comment (the key of NOT_RUN)."""
    return " ".join(shlex.split(command, comments=True))


def test_docs_pages_are_all_listed():
    pages = {p.name for p in (make_flow.ROOT / "docs").glob("*.md")} if (make_flow.ROOT / "docs").is_dir() else set()
    assert pages == set(DOCS), f"docs/ pages and tests/test_readme.py DOCS differ: {pages ^ set(DOCS)}"


def test_readme_lists_commands_and_the_exceptions_are_current():
    commands = {normalized(c) for c in documented_commands()}
    assert any(c.startswith("make data-vctk") for c in commands)
    assert set(NOT_RUN) <= commands, f"NOT_RUN names commands the README no longer has: {set(NOT_RUN) - commands}"


def layout_modules(text):
    """The ``.py`` files the layout tree (the first plain ``` block of docs/layout.md) lists under audiosr/,
    as paths relative to it."""
    block = re.search(r"^```\n(.*?)^```", text, flags=re.S | re.M).group(1)
    folders, listed = [], set()
    for line in block.splitlines():
        depth = (len(line) - len(line.lstrip())) // 2
        name = line.split()[0]
        folders = folders[:depth]
        if name.endswith("/"):
            folders.append(name.rstrip("/"))
        elif name.endswith(".py") and folders[:1] == ["audiosr"]:
            listed.add("/".join([*folders[1:], name]))
    return listed


def test_layout_page_lists_every_module_of_the_library():
    package = make_flow.ROOT / "audiosr"
    modules = {p.relative_to(package).as_posix() for p in package.rglob("*.py") if p.name != "__init__.py"}
    assert layout_modules(LAYOUT.read_text()) == modules
    for path in package.rglob("*.py"):
        assert ast.get_docstring(ast.parse(path.read_text())), f"{path} has no module docstring saying what it owns"


def make_files(copy, test_corpus):
    """What the README's commands name in the working folder (an untrained tiny model as best.keras)."""
    vctk = test_corpus / "speech" / "vctk"
    audio, rate = soundfile.read(vctk / "p257_166.flac")
    soundfile.write(copy / "talk.mp3", audio, rate)
    narrowband, narrow_rate = soundfile.read(test_corpus / "speech" / "librispeech" / "1926-143879-0000.flac")
    soundfile.write(copy / "talk.wav", narrowband[::2], narrow_rate // 2)  # an 8 kHz call: the shipped speech-r2
    wideband, wide_rate = soundfile.read(test_corpus / "speech" / "librispeech" / "1926-143879-0000.flac",
                                         frames=16000 * 4)
    soundfile.write(copy / "wideband.flac", wideband, wide_rate)  # content to 8 kHz: passes through
    narrow = soxr.resample(lowres.lowrate(wideband, 2, "soxr"), 8000, wide_rate)  # once 8 kHz audio
    soundfile.write(copy / "narrowband.wav", narrow, wide_rate)
    (copy / "recordings").mkdir()
    shutil.copy(test_corpus / "speech" / "librispeech" / "1502-122615-0000.flac", copy / "recordings")
    music, music_rate = soundfile.read(test_corpus / "music" / "loop_amen_full.ogg", frames=3 * 44100)
    soundfile.write(copy / "recordings" / "drums.wav", music, music_rate)  # stereo
    (copy / "references").mkdir()
    for name in ("p257_167.flac", "nuwave_single_x2__sample_0.flac"):
        shutil.copy(vctk / name, copy / "references")
    keras.utils.set_random_seed(0)
    build_model("unet", 2, preset="tiny").save(copy / "best.keras")


@pytest.mark.slow
@pytest.mark.split
@pytest.mark.parametrize("part", ["training", "using"])
def test_every_readme_command_runs_as_written(tmp_path, test_corpus, mock_vggish, part):
    corpora = tmp_path / "corpora"
    placeholders = {
        "/path/VCTK": corpus_fixtures.make_vctk_092(corpora / "vctk", test_corpus) / "VCTK-Corpus-0.92",
        "/path/fma": corpus_fixtures.make_fma(corpora / "fma", test_corpus),
        "/path/recordings": test_corpus / "speech" / "librispeech",  # read only
    }
    copy = make_flow.make_working_copy(tmp_path / "audiosr")
    base_flags = copy / "experiments" / "configs" / "base.flags"
    toy = [*TOY_STUDY_FLAGS, f"--content_network={mock_vggish}"]
    base_flags.write_text(base_flags.read_text() + "# toy size for tests/test_readme.py\n" + "\n".join(toy) + "\n")
    make_files(copy, test_corpus)
    env = make_flow.environment(copy, **ENVIRONMENT)

    ran, not_run = [], set()
    commands = documented_commands(part)
    for command in commands:
        if normalized(command) in NOT_RUN:  # a page may repeat one (make test: README.md and docs/testing.md)
            not_run.add(normalized(command))
            continue
        line = command
        for placeholder, path in placeholders.items():
            line = re.sub(re.escape(placeholder) + r"(?=[\s/]|$)", str(path), line)
        unknown = re.findall(r"/path/\S*", line)
        assert not unknown, f"README placeholder {unknown} in `{command}` has no test folder: add it here"
        make_flow.run(line, copy, env, timeout=600)
        ran.append(command)
        table = re.match(r"make table-(\S+)$", normalized(command))
        if table:  # every model trained so far on the set is in its table, with finite scores; the others are not
            dataset = table.group(1)
            make_flow.check_figure3(copy / "results" / dataset / "figure3.md", make_flow.trained_runs(copy, dataset))
    assert len(ran) + sum(normalized(c) in not_run for c in commands) == len(commands)
    assert not_run == set(NOT_RUN) & {normalized(c) for c in commands}
    if part == "training":  # the documented make targets train every model of the study (the data -> train ->
        # table flow of VCTK 0.92 and FMA is tested here; tests/test_flow.py adds VCTK 0.80 and a variant set)
        trained = {name for dataset in ("vctk", "fma") for names in make_flow.trained_runs(copy, dataset).values()
                   for name in names}
        assert trained == set(make_flow.STUDY_MODELS)
