# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Port: `make run PORT=8600`, else the settings (MHD_PORT, `port` in mhdash.toml), else 8501.
PORT   ?=
# The dashboard shows PHI: loopback only unless asked (`make run ADDRESS=0.0.0.0` behind TLS and a firewall).
ADDRESS ?= 127.0.0.1
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export PYTHONPATH := $(CURDIR)

.PHONY: install run test lint bench clean-var

$(STAMP): requirements.txt requirements-nodeps.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m core init-db
	$(BIN)/python -m core seed-demo --if-empty
	@port="$(PORT)"; [ -n "$$port" ] || port=$$($(BIN)/python -c 'from core.settings import load_settings; print(load_settings().port)'); \
	upload_mb=$$($(BIN)/python -c 'from core.settings import load_settings; print(load_settings().max_upload_mb)'); \
	echo ""; \
	echo "  mhdash is starting on http://localhost:$$port (listening on $(ADDRESS))"; \
	echo "  Log in with an account printed above on first run (also in var/first-run-credentials.txt)."; \
	echo "  Later: accounts are managed by the admin on the Users page, or python -m core users --help."; \
	echo ""; \
	exec $(BIN)/streamlit run app/main.py --server.headless true --server.port $$port \
		--server.address $(ADDRESS) --browser.gatherUsageStats false --server.maxUploadSize $$upload_mb

# The suite runs in TEST_WORKERS processes (pytest-xdist; one file stays on one worker, so a module's loaded
# models are shared by its tests): much of it waits on servers, browsers and subprocesses. TEST_WORKERS=0: one process.
# Files are handed out in collection order, where tests/conftest.py puts the longest file (the browser journeys)
# first; xdist's default order (most tests first) started it last, alone at the end.
TEST_WORKERS ?= 2

test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python -m bench
