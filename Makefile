# The two commands of the README. Each sets up .venv/ first (idempotent).
PY := .venv/bin/python

.PHONY: setup demo demo-flow test

setup:
	bash scripts/setup_env.sh

demo: setup
	bash scripts/demo.sh

demo-flow: setup
	bash scripts/demo_flow.sh

test: setup
	$(PY) -m pytest -q tests
