# memgen: `make figures` builds every figure, `make test` runs the test suite.
# Both create .venv and install the pinned requirements on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= $(shell nproc 2>/dev/null || echo 2)
PRESET ?=
PRESET_ARGS := $(if $(PRESET),--configfile presets/$(PRESET).yaml,)
TARGET ?= figures/all
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: venv test figures dry-run lint bench bench-unet clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q -rs $(PYTEST_ARGS)

figures: $(STAMP)
	$(BIN)/snakemake $(TARGET) --cores $(CORES) $(PRESET_ARGS)

dry-run: $(STAMP)
	$(BIN)/snakemake $(TARGET) -n --cores 8 $(PRESET_ARGS)

lint: $(STAMP)
	$(BIN)/snakemake --lint

bench: $(STAMP)
	$(BIN)/python bench/bench_ldm.py $(BENCH_ARGS)
	$(BIN)/python bench/bench_rf.py
	$(BIN)/python bench/bench_rf_images.py

# installs the reference U-Net (denoising_diffusion_pytorch) into .venv for this benchmark only
bench-unet: $(STAMP)
	$(BIN)/python -m pip install --quiet -r bench/requirements-unet.txt
	$(BIN)/python bench/bench_unet.py $(BENCH_ARGS)

clean:
	rm -rf results figures logs .snakemake
