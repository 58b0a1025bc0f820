#!/usr/bin/env bash
# Mutation testing of the core modules (not part of CI: it takes minutes, not seconds).
# Each mutant (a flipped comparison, and<->or, +-1, a negated condition, a dropped statement or
# return value, ...) is applied to a temporary copy of the repository and the module's tests run
# against it; the working tree is never modified. Modules, their tests and the excluded
# equivalent mutants (each with its reason) are in tools/mutation.toml.
#
#   bash .ci/mutation.sh                  # every module: prints caught/total/score and survivors
#   bash .ci/mutation.sh sse retry        # some modules
#   bash .ci/mutation.sh sse --lines 60-90 --verbose
#
# Uses the project's .venv (created by .ci/test.sh). Runs one mutant at a time (one core).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  echo "no .venv: run 'bash .ci/test.sh' once first (it creates it with the test extras)" >&2
  exit 2
fi
exec .venv/bin/python tools/mutate.py "$@"
