# One command per chore. `make run` and `make test` are the two a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint format bench messages demo-admin clean

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.installed-test: requirements-test.txt $(BIN)/.installed
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

# `make run PORT=8001` serves on another port; `make run HOST=0.0.0.0` lets phones on the same
# network open the QR codes (they then point to this machine's LAN address). PUBLIC_BASE_URL,
# when set, is what the codes and links use.
PORT ?= 8000
HOST ?= 127.0.0.1
PUBLIC_BASE_URL ?=

run: $(BIN)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py ensure_demo_admin
	$(BIN)/python manage.py run_demo --host "$(HOST)" --port "$(PORT)" --public-base-url "$(PUBLIC_BASE_URL)"

test: $(BIN)/.installed-test
	bash scripts/test.sh

# ruff, then the import contracts of pyproject.toml (layers campaigns → events → reports, no cycles).
lint: $(BIN)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(BIN)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# After changing a user-visible string: extract into the per-app catalogues (needs GNU
# gettext), compile the .mo files (pure Python) and list what still needs a translation.
messages: $(BIN)/.installed-test
	$(BIN)/python scripts/catalogues.py extract
	$(BIN)/python scripts/catalogues.py compile
	-$(BIN)/python scripts/catalogues.py check

bench: $(BIN)/.installed-test
	bash scripts/bench.sh

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
