#!/usr/bin/env bash
# Interop tests against real servers (issue 13): a LiteLLM proxy and llama.cpp's llama-server.
# `bash .ci/run` already runs the LiteLLM ones (installed by .ci/interop_venv.sh); building
# llama-server does not fit CI's time budget on 2 cores (measured: 17 min 24 s wall, 10 min 32 s
# CPU, while other jobs ran), so this script does it once, caches it, then runs tests/interop with
# both servers required. Later `bash .ci/run`s use the cached binary too.
#
# The binary comes from the llama.cpp source vendored in the llama-cpp-python sdist (PyPI, pinned
# below): no download but the package registry. Needs cmake and a C++ compiler (installed with
# apt-get when missing and root). Cache: .interop-cache/ (gitignored); delete it to rebuild.
# The last result is written to test-artifacts/interop-last.txt (and belongs in the README).
set -euo pipefail
cd "$(dirname "$0")/.."
LLAMA_CPP_PYTHON=0.3.36
CACHE=.interop-cache/llama.cpp
BIN=$CACHE/build/bin/llama-server

bash .ci/interop_venv.sh
if [ ! -x .venv/bin/python ]; then (source .ci/_venv.sh && pip_install -e '.[test]'); fi  # the project venv

if [ ! -x "$BIN" ]; then
  if ! command -v cmake >/dev/null || ! command -v c++ >/dev/null; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
      echo "::: installing cmake and g++ (Debian) to build llama-server"
      apt-get update -q >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q cmake g++ >/dev/null
    else
      echo "::: cmake and a C++ compiler are needed to build llama-server"; exit 1
    fi
  fi
  echo "::: llama-server from the llama.cpp vendored in llama-cpp-python==$LLAMA_CPP_PYTHON (sdist)"
  rm -rf "$CACHE" && mkdir -p "$CACHE"
  .venv-interop/bin/python -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
    "llama-cpp-python==$LLAMA_CPP_PYTHON" -d "$CACHE" 2>&1 | { grep -v "is neither a file nor a directory" || true; }
  tar -xzf "$CACHE"/llama_cpp_python-*.tar.gz -C "$CACHE"
  src=$(echo "$CACHE"/llama_cpp_python-*/vendor/llama.cpp)
  t0=$(date +%s)
  cmake -S "$src" -B "$CACHE/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_NATIVE=OFF >"$CACHE/cmake.log" 2>&1
  cmake --build "$CACHE/build" --target llama-server -j "$(nproc)" >>"$CACHE/cmake.log" 2>&1 \
    || { tail -30 "$CACHE/cmake.log"; exit 1; }
  echo "::: built $BIN in $(( $(date +%s) - t0 )) s"
fi
"$BIN" --version 2>&1 | head -1

echo "::: pytest tests/interop (LiteLLM proxy + llama-server required)"
mkdir -p test-artifacts
set +e
LLM_MAGICS_INTEROP_REQUIRED=litellm,llama-server PYTHONDONTWRITEBYTECODE=1 \
  .venv/bin/python -m pytest tests/interop -p no:cacheprovider -q "$@" 2>&1 | tee test-artifacts/interop-pytest.log
rc=${PIPESTATUS[0]}
set -e
{
  echo "$(date -u +%Y-%m-%d) $(uname -m) llama-server $("$BIN" --version 2>&1 | grep -o 'version: .*' | head -1)"
  grep -E "passed|failed" test-artifacts/interop-pytest.log | tail -1
} > test-artifacts/interop-last.txt
cat test-artifacts/interop-last.txt
exit $rc
