# Sourced by .ci/test.sh, .ci/demo.sh and .ci/lowest.sh: a virtualenv made by the wanted Python,
# and a quiet pip.
#   PYTHON  the interpreter to use (default python3)
#   VENV    the virtualenv folder (default .venv)
#   VENV_ARGS  extra `python -m venv` options (the tests use --without-pip)
# An existing $VENV made by another Python (another version or another installation), or one
# whose interpreter no longer runs, is removed and made again: reusing it would silently test
# the wrong Python.
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
_py_id='import sys; print(sys.version.split()[0], sys.base_prefix)'
want=$("$PY" -c "$_py_id") || { echo "::: $PY does not run" >&2; exit 1; }
if [ -e "$VENV" ]; then
  have=$("$VENV/bin/python" -c "$_py_id" 2>/dev/null || echo "broken")
  if [ "$have" != "$want" ]; then
    echo "::: $VENV was made by another Python ($have), not $PY ($want): recreating it"
    rm -rf "$VENV"
  fi
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "::: creating $VENV with $PY ($want)"
  "$PY" -m venv ${VENV_ARGS:-} "$VENV"
fi
# pip's output minus the "Location … is ignored" lines some machine-wide pip configs produce.
pip_install() {
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@" 2>&1 | { grep -v "is neither a file nor a directory" || true; }
  return "${PIPESTATUS[0]}"
}
