# Two commands for a newcomer: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kyara-installed
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
SYSTEM_PKGS := libegl1 libegl-mesa0 libgl1-mesa-dri

.PHONY: demo test setup system clean bench

demo: setup
	mkdir -p out
	$(BIN)/kyara create "an anime girl in a kimono, long black hair" --pose jog -o out/demo
	@echo "demo outputs in out/demo/"

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

setup: system $(STAMP)

system:
	@missing=""; for p in $(SYSTEM_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

$(STAMP): pyproject.toml constraints.txt Makefile tests/js/package-lock.json
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e ".[all,test]"
	# test oracle for the OpenPose drawing: only its util.py is loaded (the package needs torchvision)
	$(BIN)/pip install -q --no-deps "controlnet-aux==0.0.10"
	# the render benchmark's peer; its own pin (PyOpenGL 3.1.0) breaks EGL, so its deps come from [test]
	$(BIN)/pip install -q --no-deps "pyrender==0.1.45"
	# test tools for exports: Debian chromium (headless three-vrm) and the pinned npm packages in tests/js
	bash scripts/setup_js.sh
	touch $(STAMP)

clean:
	rm -rf $(VENV) out
