# GovKM: `make run` (first use sets everything up) and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := requirements.lock
STAMP  := $(VENV)/.installed-$(shell sha1sum $(LOCK) 2>/dev/null | cut -c1-12)
# Node.js tools the tests run (tests/node/package.json, exact pins in its lock)
NODE_DIR   := tests/node
NODE_STAMP := $(NODE_DIR)/node_modules/.installed-$(shell sha1sum $(NODE_DIR)/package-lock.json 2>/dev/null | cut -c1-12)
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test install demo migrate lint check bench bench-search clean

run: $(STAMP) var/.demo-loaded
	@$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py runstack --host $(HOST) --port $(PORT)

install: $(STAMP)

$(STAMP): $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch==2.13.0 in the lock resolves to the CPU build on this machine's disk
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	@rm -f $(VENV)/.installed-*
	@touch $@

var/.demo-loaded: | $(STAMP)
	@mkdir -p var
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py load_demo --noinput
	@touch $@

demo: $(STAMP)
	$(BIN)/python manage.py load_demo --noinput

$(NODE_STAMP): $(NODE_DIR)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix $(NODE_DIR) --no-audit --no-fund --loglevel=error && \
	  mkdir -p $(NODE_DIR)/node_modules && rm -f $(NODE_DIR)/node_modules/.installed-* && touch $@; \
	else echo "npm not found: the tests that need Node.js tools will be skipped"; fi

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/lint-imports --no-cache
	DJANGO_SETTINGS_MODULE=kmsite.settings.test $(BIN)/python manage.py check
	DJANGO_SETTINGS_MODULE=kmsite.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/lint-imports --no-cache

bench: $(STAMP)
	$(BIN)/python bench/search.py

clean:
	rm -rf var $(VENV) $(NODE_DIR)/node_modules
