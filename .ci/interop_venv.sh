#!/usr/bin/env bash
# The LiteLLM proxy for tests/interop, in its own venv (.venv-interop, gitignored): LiteLLM is a
# test-only tool and must never share the project's .venv. Pinned to the version the recorded
# fixtures came from; reinstalled only when missing or another version. Also gguf + numpy, for
# the tiny GGUF model of the llama.cpp tests (tests/interop/tinygguf.py).
set -euo pipefail
cd "$(dirname "$0")/.."
LITELLM_VERSION=1.108.7
GGUF_VERSION=0.19.0
have=$(.venv-interop/bin/python -c 'import importlib.metadata as m; print(m.version("litellm"), m.version("gguf"))' 2>/dev/null || true)
if [ "$have" != "$LITELLM_VERSION $GGUF_VERSION" ]; then
  echo "::: installing litellm[proxy]==$LITELLM_VERSION and gguf==$GGUF_VERSION into .venv-interop (test-only)"
  PYTHON=${PYTHON:-python3} VENV=.venv-interop
  source .ci/_venv.sh
  pip_install "litellm[proxy]==$LITELLM_VERSION" "gguf==$GGUF_VERSION" numpy
fi
