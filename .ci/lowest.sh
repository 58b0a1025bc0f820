#!/usr/bin/env bash
# The suite on the LOWEST Python the package supports (`requires-python` in pyproject.toml), when
# this machine has that Python: its own virtualenv (.venv-py3.X), mypy there (it checks against
# the libraries pip picks for that Python, e.g. the IPython 8.x line on 3.10) and pytest on tests/
# (minus the browser test, which checks JupyterLab rather than the Python version).
# A machine without that Python says so and exits 0; set REQUIRE_LOWEST_PYTHON=1 to fail instead.
set -euo pipefail
cd "$(dirname "$0")/.."

lowest=$(sed -n 's/^requires-python *= *">= *\([0-9][0-9.]*\)".*/\1/p' pyproject.toml)
[ -n "$lowest" ] || { echo "::: no requires-python = \">=X.Y\" in pyproject.toml" >&2; exit 1; }

find_python() {  # an interpreter for version $1 that actually runs (pyenv shims may not)
  local v=$1 c
  for c in "$(command -v "python$v" || true)" \
           $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/"python$v" 2>/dev/null | sort -V -r) \
           "/usr/local/bin/python$v" "/usr/bin/python$v"; do
    if [ -n "$c" ] && [ -x "$c" ] && "$c" -c 'import sys, venv' >/dev/null 2>&1; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

if ! py=$(find_python "$lowest"); then
  echo "::: Python $lowest (the lowest supported) is not on this machine: NOT tested here"
  [ "${REQUIRE_LOWEST_PYTHON:-0}" = 1 ] && exit 1
  exit 0
fi

export PYTHON=$py VENV=.venv-py$lowest
source .ci/_venv.sh
echo "::: Python $lowest: installing llm-magics[test] into $VENV"
pip_install -U pip
pip_install -e '.[test]'

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PYTHONDONTWRITEBYTECODE=1
echo "::: Python $lowest: mypy --strict"
"$VENV/bin/python" -m mypy
echo "::: Python $lowest: pytest tests (no browser)"
set +e
"$VENV/bin/python" -m pytest tests -m "not browser" -p no:cacheprovider "$@"
rc=$?
set -e
[ $rc -eq 5 ] && { echo "pytest collected no tests (exit 5): treating as failure"; exit 1; }
exit $rc
