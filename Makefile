# The two commands of README.md: `make run` and `make test`.
.PHONY: run test lint bench

run:
	@scripts/venv.sh requirements.txt
	@.venv/bin/python scripts/run.py

test:
	@scripts/venv.sh requirements-dev.txt
	@scripts/test-deps.sh
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/python -m pytest $(PYTEST_ARGS)

lint:
	@scripts/venv.sh requirements-dev.txt
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

bench:
	@scripts/venv.sh requirements-dev.txt
	.venv/bin/python -m benchmarks $(BENCH_ARGS)
