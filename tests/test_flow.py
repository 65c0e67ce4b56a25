"""The study's flow through make, as the README gives it: data -> train -> table, on the layouts the README's
own commands do not cover.

tests/test_readme.py runs the README's commands, which take VCTK 0.92 and FMA
folders through ``make data-*``, ``make train-*`` (every model of the study)
and ``make table-*`` and check Figure 3 against the runs they made. Here each
further layout gets a fresh working copy of the repository (tests/make_flow.py)
and runs the exact targets a researcher types -- ``make data-vctk VCTK_DIR=...``,
``make train-<set>-r<r> [MODEL=...]``, ``make table-<set>`` -- at toy size
through PREP_ARGS / TRAIN_ARGS / EVAL_ARGS, on a VCTK 0.80 folder built from
the test corpus; "-C" models use a SavedModel with VGGish's TF-Hub signature
(no network). Figure 3 must then hold the spline and every trained model,
with finite SNR and LSD.
"""

import pytest

import corpus_fixtures
import make_flow

PREP_ARGS = "--num_clips=16 --clip_seconds=0.128 --num_workers=0"
TRAIN_ARGS = ("--preset=tiny --epochs=1 --steps_per_epoch=2 --validation_steps=1 --batch_size=4 --n_critic=2 "
              "--discriminator_filters=4 --verbose=2")
EVAL_ARGS = "--preset=tiny --max_files=2"

# layout -> (make data-<set> argument, more PREP_ARGS, the trainings: (ratio, MODEL or None: the Makefile's));
# VCTK 0.92 and FMA run in tests/test_readme.py
LAYOUTS = {
    "vctk-0.80": ("VCTK_DIR={root}/VCTK-Corpus", " --num_val_speakers=1", [(2, "wgan-c"), (4, "unet-c")]),
}
DEFAULT_MODEL = "wgan"  # the Makefile's MODEL

pytestmark = pytest.mark.slow


@pytest.fixture
def make_env(tmp_path, mock_vggish):
    copy = make_flow.make_working_copy(tmp_path / "audiosr")
    env = make_flow.environment(copy, PREP_ARGS=PREP_ARGS, EVAL_ARGS=EVAL_ARGS,
                                   TRAIN_ARGS=f"{TRAIN_ARGS} --content_network={mock_vggish}")
    return copy, env


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_data_train_table_as_the_readme_says(layout, make_env, tmp_path, test_corpus):
    copy, env = make_env
    corpus = tmp_path / "corpus"
    {"vctk-0.80": corpus_fixtures.make_vctk_080}[layout](corpus, test_corpus)
    dataset = layout.split("-")[0]
    source, more_prep_args, runs = LAYOUTS[layout]
    env = {**env, "PREP_ARGS": PREP_ARGS + more_prep_args}

    make_flow.run(f"make data-{dataset} {source.format(root=corpus)}", copy, env)
    assert (copy / "data" / dataset / "manifest.json").is_file()
    trained = {}
    for ratio, model in runs:
        make_flow.run(f"make train-{dataset}-r{ratio}" + (f" MODEL={model}" if model else ""), copy, env)
        trained.setdefault(ratio, []).append(model or DEFAULT_MODEL)
    for ratio, models in trained.items():
        for model in models:
            assert (copy / "runs" / f"{dataset}-r{ratio}-{model}-tiny-s0" / "best.keras").is_file()
    result = make_flow.run(f"make table-{dataset}", copy, env)
    assert "Spline" in result.stdout
    make_flow.check_figure3(copy / "results" / dataset / "figure3.md", trained)


def test_a_variant_is_one_flag_away(make_env, tmp_path, test_corpus):
    """VCTK --mode=single lands in data/vctk-single; --dataset=vctk-single trains and evaluates on it."""
    copy, env = make_env
    corpus_fixtures.make_vctk_080(tmp_path / "corpus", test_corpus)
    prep = f"{PREP_ARGS} --mode=single --num_val_utterances=1 --num_test_utterances=2"
    make_flow.run(f"make data-vctk VCTK_DIR={tmp_path / 'corpus' / 'VCTK-Corpus'} PREP_ARGS='{prep}'",
                     copy, env)
    assert not (copy / "data" / "vctk").exists()
    make_flow.run(f"make train-vctk-r2 MODEL=unet TRAIN_ARGS='{env['TRAIN_ARGS']} --dataset=vctk-single'",
                     copy, env)
    make_flow.run(f"make table-vctk EVAL_ARGS='{EVAL_ARGS} --dataset=vctk-single --ratios=2'", copy, env)
    make_flow.check_figure3(copy / "results" / "vctk-single" / "figure3.md", {2: ["unet"]})
