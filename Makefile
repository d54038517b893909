# The two commands of the README. Each sets up .venv/ first (idempotent).
PY := .venv/bin/python

.PHONY: setup demo test

setup:
	bash scripts/setup_env.sh

demo: setup
	bash scripts/demo.sh

test: setup
	$(PY) -m pytest -q tests
