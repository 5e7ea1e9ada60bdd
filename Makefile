# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
OUT ?= out

.PHONY: setup demo test test-fast lint typecheck bench fixtures real-fixtures corpus-asr train clean

# -qq: errors only; pip's warnings here are about this machine's index settings.
$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip
	$(BIN)/python -m pip install -qq -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# Audit the bundled recordings into a fresh database, print the summary table,
# then write the HTML report. The fixtures include a corrupt file on purpose,
# so the audit exits 3 ("some recordings failed"); that is the expected result.
demo: setup
	mkdir -p $(OUT)
	rm -f $(OUT)/demo.db $(OUT)/demo.db-wal $(OUT)/demo.db-shm
	$(BIN)/auditor audit fixtures/recordings --config fixtures/auditor.toml --db $(OUT)/demo.db; rc=$$?; \
	  if [ $$rc -ne 0 ] && [ $$rc -ne 3 ]; then exit $$rc; fi
	$(BIN)/auditor report --db $(OUT)/demo.db
	$(BIN)/auditor report --db $(OUT)/demo.db --format html --output $(OUT)/report.html
	@echo "HTML report: $(abspath $(OUT))/report.html"

lint: setup
	$(BIN)/ruff check auditor tests benchmarks fixtures/make_fixtures.py

typecheck: setup
	$(BIN)/mypy auditor

test: setup lint
	$(BIN)/pytest

# Everything but real speech recognition (tests marked slow): under a minute.
test-fast: setup
	$(BIN)/pytest -m "not slow"

bench: setup
	$(BIN)/python benchmarks/analysis.py
	$(BIN)/python benchmarks/accuracy.py
	$(BIN)/python benchmarks/stats.py
	$(BIN)/python benchmarks/search.py
	$(BIN)/python benchmarks/rescore.py
	$(BIN)/python benchmarks/audit_speed.py
	$(BIN)/python benchmarks/recall.py
	$(BIN)/python benchmarks/web.py
	$(BIN)/python benchmarks/cluster.py

# Regenerate the audio fixtures (needs festival, festvox-ru and sox; tests never do).
fixtures:
	$(BIN)/python fixtures/make_fixtures.py

# Retrain models/calltype-model.json from the labelled corpora (deterministic).
train: setup
	$(BIN)/python -m auditor.analysis.train

# fixtures/real/: real speech from ../shared/real made phone-like (no festival needed).
real-fixtures: setup
	$(BIN)/python fixtures/make_real_fixtures.py

# fixtures/corpus-asr/: the labelled corpora (../shared/corpus) synthesized into phone
# audio and audited by the product; needs festival, festvox-*, sox, ffmpeg, espeak-ng.
corpus-asr: setup
	$(BIN)/python fixtures/make_asr_corpus.py

clean:
	rm -rf $(OUT) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache
