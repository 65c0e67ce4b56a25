# audiosr: every target installs what it needs into $(VENV) first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
TEST_WORKERS ?= 3

.PHONY: install test test-fast lint demo bench data-vctk data-fma data-folder data-demo features

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

## Run the test suite (creates .venv and installs everything on first use). Tests that need the larger
## corpus of recordings (AUDIOSR_SHARED_DATA, default ../shared/data) are skipped without it, with the reason.
## TEST_WORKERS processes share the tests file by file, a test marked split part by part (pytest-xdist;
## TEST_WORKERS=0 runs them all in this process). Three on a 2-core machine: the tests wait on the programs they
## start, and a third process keeps both cores busy meanwhile (docs/testing.md has the times).
test: install
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder tests $(PYTEST_ARGS)

## The unit tests only: the suite less the slow end-to-end tests (pytest marker "slow").
test-fast: install
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder -m "not slow" tests $(PYTEST_ARGS)

## Lint: ruff, as configured in pyproject.toml.
lint: install
	$(VENV)/bin/ruff check .

## The main job on the embedded default data: short training, then evaluation against spline.
## DEMO_ARGS adds flags, e.g. DEMO_ARGS="--minutes=1".
demo: install
	$(PY) experiments/demo.py $(DEMO_ARGS)

## Data sets into data/<name> (resumable: run again after an interruption): data/vctk and data/fma are
## what the train-* and table-* targets read; PREP_ARGS=--mode=single (VCTK) or --subset=small (FMA)
## makes data/vctk-single or data/fma-small instead, read with TRAIN_ARGS / EVAL_ARGS=--dataset=<name>.
## PREP_ARGS adds flags, e.g. PREP_ARGS="--num_clips=5000". Without VCTK_DIR / FMA_DIR the corpus is
## downloaded first. OUT puts the set elsewhere (then train and evaluate with --data_dir=OUT).
data-vctk: install
	$(PY) data_prep/prep_vctk.py $(if $(VCTK_DIR),--vctk_dir=$(VCTK_DIR),--download) $(if $(OUT),--out_dir=$(OUT)) $(PREP_ARGS)

data-fma: install
	$(PY) data_prep/prep_fma.py $(if $(FMA_DIR),--fma_dir=$(FMA_DIR),--download) $(if $(OUT),--out_dir=$(OUT)) $(PREP_ARGS)

data-folder: install
	@test -n "$(FOLDER)" || { echo "usage: make data-folder FOLDER=path/to/recordings [OUT=data/name]"; exit 2; }
	$(PY) data_prep/prep_folder.py --folder=$(FOLDER) $(if $(OUT),--out_dir=$(OUT)) $(PREP_ARGS)

## The embedded synthetic set (no download) into data/synthetic.
data-demo: install
	$(PY) data_prep/prep_synthetic.py $(if $(OUT),--out_dir=$(OUT)) $(PREP_ARGS)

## Content-loss feature network trained on the demo data (for -C models without VGGish): models/features.keras.
features: data-demo
	$(PY) experiments/train_features.py --dataset=synthetic --output=models/features.keras $(FEATURES_ARGS)

## Train one model of the study on data/vctk or data/fma (prepare them first: make data-vctk / data-fma;
## TRAIN_ARGS=--dataset=<name> trains on data/<name> instead). The target and MODEL (unet, unet-c, gan,
## gan-c, wgan, wgan-c; default RunSettings' model, the study's best) name the run: train-vctk-r2 MODEL=gan-c
## is experiments/train.py --dataset=vctk --ratio=2 --model=gan --content; every other setting is
## RunSettings' default (the study's) or in experiments/configs/base.flags. The run goes to
## runs/<dataset>-r<ratio>-<model>-paper-s0/ with its flags.txt, and the same command resumes it after a
## kill. TRAIN_ARGS adds flags, e.g. TRAIN_ARGS="--preset=cpu --strategy=mirrored".
MODEL ?=
DATASET ?= vctk
RATIO ?= 2
STUDY_MODELS := unet unet-c gan gan-c wgan wgan-c
study_flags = --dataset=$(word 2,$(subst -, ,$(1))) --ratio=$(patsubst r%,%,$(word 3,$(subst -, ,$(1)))) \
	$(if $(2),--model=$(patsubst %-c,%,$(2)) $(if $(filter %-c,$(2)),--content,--nocontent))
.PHONY: train-vctk-r2 train-vctk-r4 train-fma-r2 train-fma-r4 train-all table-vctk table-fma

train-vctk-r2 train-vctk-r4 train-fma-r2 train-fma-r4: install
	$(PY) experiments/train.py --flagfile=experiments/configs/base.flags $(call study_flags,$@,$(MODEL)) $(TRAIN_ARGS)

## All six models of the study for DATASET (vctk, fma) and RATIO (2, 4), one after another.
train-all: install
	for model in $(STUDY_MODELS); do \
		$(MAKE) --no-print-directory train-$(DATASET)-r$(RATIO) MODEL=$$model || exit 1; \
	done

## Figure 3 (SNR/LSD table, markdown + CSV), Figure 4 (validation loss) and Figures 5-8 (spectrograms)
## from the trained runs, scored on whole test utterances: results/vctk/, results/fma/. EVAL_ARGS adds flags.
table-vctk table-fma: install
	$(PY) experiments/report.py --dataset=$(@:table-%=%) $(EVAL_ARGS)

## Speed benchmarks, short runs (print their tables; the README shows the longer commands).
bench: install
	$(PY) bench/bench_models.py
	$(PY) bench/bench_data.py
	$(PY) bench/bench_infer.py --presets cpu fast --seconds 10 60 --repeats 2

## The shipped models (audiosr/pretrained/<domain>-r<R>) from the public recordings in PRETRAINED_DATA, split by
## speaker / piece (audiosr.train.recipe): data prep, training on the "real" mix of input makers (resumable:
## runs/<domain>-r<R>/), then export, which scores the held-out speakers per input maker and ships only a model
## that passes the recipe's gate (a speech model that fails stops make; a music model that fails is left out).
PRETRAINED_DATA ?= ../shared/data
PRETRAINED_EPOCHS ?= 50
PRETRAINED_TRAIN := --model=unet --preset=fast --lowres=real --stft_weight=1e-5 --batch_size=16 \
	--steps_per_epoch=200 --learning_rate=1e-3 --verbose=2
EXPORT_NOT_SHIPPED := 3
.PHONY: pretrained pretrained-speech pretrained-music
pretrained: pretrained-speech pretrained-music

pretrained-speech pretrained-music: pretrained-%: install
	$(PY) data_prep/prep_pretrained.py --domain=$* --data_root=$(PRETRAINED_DATA) --clip_seconds=0.512
	for ratio in 2 4; do \
		$(PY) experiments/train.py $(PRETRAINED_TRAIN) --dataset=pretrained-$* --ratio=$$ratio \
			--epochs=$(PRETRAINED_EPOCHS) --run_name=$*-r$$ratio || exit 1; \
		$(PY) experiments/export_pretrained.py --run=runs/$*-r$$ratio/best.keras --name=$*-r$$ratio --domain=$* \
			--data_root=$(PRETRAINED_DATA) || { status=$$?; [ $* = music ] && [ $$status = $(EXPORT_NOT_SHIPPED) ] || exit $$status; }; \
	done

## The README's picture, docs/images/speech-r2.png: spectrograms of a held-out recording's low-rate input, its
## spline, the shipped speech-r2's output and the original (experiments/front_figure.py). FIGURE_RECORDING is
## the recording (a speaker the shipped model's card lists as held out), FIGURE_START where its 3 s excerpt
## starts; FIGURE_ARGS adds flags, e.g. FIGURE_ARGS=--lowres=soxr.
FIGURE_RECORDING ?= $(PRETRAINED_DATA)/speech/vctk-extra/p273_023.flac
FIGURE_START ?= 1.2
.PHONY: readme-figure
readme-figure: install
	$(PY) experiments/front_figure.py --recording=$(FIGURE_RECORDING) --model=speech-r2 \
		--start=$(FIGURE_START) --lowres=soxr --out=docs/images/speech-r2.png $(FIGURE_ARGS)
