# Sourced by .ci/test.sh and .ci/demo.sh: the project's .venv and a quiet pip.
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "::: creating .venv"
  "$PY" -m venv .venv
fi
# pip's output minus the "Location … is ignored" lines some machine-wide pip configs produce.
pip_install() {
  .venv/bin/python -m pip install -q --disable-pip-version-check "$@" 2>&1 | { grep -v "is neither a file nor a directory" || true; }
  return "${PIPESTATUS[0]}"
}
