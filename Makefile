# The two commands of the README's quick start, and the checks CI runs.
.PHONY: demo test lint typecheck pytest eval-gate clean

demo:
	scripts/bootstrap.sh
	.venv/bin/ticketwatch demo

test:
	@started=$$(date +%s); scripts/bootstrap.sh --dev && \
	$(MAKE) --no-print-directory lint typecheck pytest; rc=$$?; \
	echo "[make test] $$( [ $$rc -eq 0 ] && echo passed || echo FAILED ) in $$(( $$(date +%s) - started )) s"; \
	exit $$rc

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck:
	.venv/bin/mypy

# The suite runs on PYTEST_WORKERS processes (pytest-xdist), each with its own embedded
# Postgres and Redis, one test file at a time (docs/testing.md); PYTEST_WORKERS=0 runs it in one.
PYTEST_WORKERS ?= 2

# pytest exits 5 when it collected no test: treat that as a failure, never as a pass.
pytest:
	@.venv/bin/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=25 $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The release gate on the default version (Banking77 history and golden set): it must pass,
# and fail a deliberately degraded version (scripts/ci-eval-gate.sh).
eval-gate:
	scripts/bootstrap.sh
	TICKETWATCH=.venv/bin/ticketwatch scripts/ci-eval-gate.sh

clean:
	rm -rf .venv .venv-llm .mypy_cache .pytest_cache .ruff_cache artifacts
