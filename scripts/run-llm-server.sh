#!/usr/bin/env bash
# Serve the local Gemma 3 270M model over an OpenAI-compatible API (llama-cpp-python).
# Install it first with scripts/setup-llm-server.sh. Extra arguments go to the server
# (e.g. --port 8080). Use it from ticketwatch with TICKETWATCH_LLM_API_BASE=http://127.0.0.1:8080/v1
# and a version created with --model openai/gemma-3-270m
#   --llm response_format=json_object_with_schema --llm system_role=false
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${TICKETWATCH_LLM_SERVER_VENV:-$repo/.venv-llm}
model_path=$venv/models/gemma-3-270m-q4_k_m.gguf

if [ ! -x "$venv/bin/python" ] || [ ! -f "$model_path" ]; then
    echo "local model server not installed: run scripts/setup-llm-server.sh" >&2
    exit 3
fi

# Gemma 3 270M is a base model: `gemma` is its chat template; logits_all keeps every
# position's logits so that the server can return token logprobs. Those logits take
# n_ctx x 262k (Gemma's vocabulary) floats: 2048 positions is about 2 GB.
exec "$venv/bin/python" -m llama_cpp.server \
    --model "$model_path" \
    --model_alias gemma-3-270m \
    --chat_format gemma \
    --logits_all true \
    --n_ctx 2048 \
    --host 127.0.0.1 \
    "$@"
