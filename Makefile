# audiosr: every target installs what it needs into $(VENV) first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install test demo bench data-vctk data-fma data-folder data-demo features

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

## Run the test suite (creates .venv and installs everything on first use).
test: install
	$(PY) -m pytest -q tests $(PYTEST_ARGS)

## The main job on the embedded default data: short training, then evaluation against spline.
demo: install
	$(PY) experiments/demo.py

## Data sets into data/<name> (resumable: run again after an interruption). PREP_ARGS adds flags,
## e.g. PREP_ARGS="--num_clips=5000". Without VCTK_DIR / FMA_DIR the corpus is downloaded first.
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
	$(PY) experiments/train_features.py --data_dir=data/synthetic --output=models/features.keras $(FEATURES_ARGS)

## Speed benchmarks (print their tables).
bench: install
	$(PY) bench/bench_models.py
	$(PY) bench/bench_data.py
	$(PY) bench/bench_infer.py --presets cpu --precisions float32 bfloat16
