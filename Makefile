# One command per chore. `make run` and `make test` are the two a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint format bench demo-admin clean

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.installed-test: requirements-test.txt $(BIN)/.installed
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

run: $(BIN)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py ensure_demo_admin
	@echo ""
	@echo "  wxanalytics is running:  http://127.0.0.1:8000/admin/   (dashboard: /dashboard/)"
	@echo "  login: demo / demo-password"
	@echo ""
	$(BIN)/python manage.py runserver 127.0.0.1:8000

test: $(BIN)/.installed-test
	bash scripts/test.sh

lint: $(BIN)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(BIN)/.installed-test
	bash scripts/bench.sh

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
