# The two commands of the README. Each sets up .venv/ first (idempotent).
PY := .venv/bin/python

.PHONY: setup demo demo-flow test test-fast

setup:
	bash scripts/setup_env.sh

demo: setup
	bash scripts/demo.sh

demo-flow: setup
	bash scripts/demo_flow.sh

test: setup
	$(PY) -m pytest -q tests

# Everything but the end-to-end and multi-process tests (pytest.ini: slow).
test-fast: setup
	$(PY) -m pytest -q -m "not slow" tests
