#!/usr/bin/env bash
# Install everything and run every test: unit, integration (real sockets), nbval, browser —
# then mypy and the tests again on the lowest supported Python when the machine has it
# (.ci/lowest.sh). Works on a fresh machine: creates .venv (again if another Python made it),
# installs the package with its test extras and, when missing, Debian's chromium for the
# browser test (Playwright drives /usr/bin/chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages for the browser test: chromium (Playwright drives /usr/bin/chromium; it cannot
# download a browser here) and an emoji font so persona emojis render in the screenshot.
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || need+=(fonts-noto-color-emoji)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "::: installing ${need[*]} (Debian) for the browser test"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
  else
    echo "::: missing ${need[*]} and not root: the browser test may be skipped"
  fi
fi

source .ci/_venv.sh
pip_install -U pip
echo "::: installing llm-magics[test,bench,eval]"
pip_install -e '.[test,bench,eval]'

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export PYTHONDONTWRITEBYTECODE=1
echo "::: mypy --strict (core: providers, orchestration, stores)"
.venv/bin/python -m mypy

# tests/interop starts a real LiteLLM proxy: a test-only tool in its own venv (.venv-interop), never in
# .venv. Required here, so CI cannot pass by skipping it; llama-server runs too once `.ci/interop.sh` built it.
bash .ci/interop_venv.sh
export LLM_MAGICS_INTEROP_REQUIRED=litellm

echo "::: pytest"
set +e
.venv/bin/python -m pytest tests notebooks --nbval-lax --nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider "$@"
rc=$?
set -e
if [ $rc -eq 5 ]; then
  echo "pytest collected no tests (exit 5): treating as failure, a test run must test something"
  exit 1
fi
[ $rc -eq 0 ] || exit $rc

# The README promises Python 3.10+: run mypy and the tests on the lowest supported Python too,
# when this machine has it (.ci/lowest.sh says so when it does not). SKIP_LOWEST_PYTHON=1 skips.
if [ "${SKIP_LOWEST_PYTHON:-0}" != 1 ]; then
  bash .ci/lowest.sh "$@"
fi
