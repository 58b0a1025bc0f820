#!/usr/bin/env bash
# The main job: install llm-magics into .venv and run every demo notebook on the offline provider
# (no key, no network), printing one line per notebook. Exit status 0 only if all of them ran.
#
#   bash .ci/demo.sh            execute notebooks/*.ipynb with nbclient and report
#   bash .ci/demo.sh --save     ... and write the executed notebooks back (refreshes saved outputs)
#   bash .ci/demo.sh --lab      open JupyterLab on a temp COPY of notebooks/ instead (http://127.0.0.1:8888/lab)
#
# The notebooks run from a temporary copy with their own LLM_MAGICS_HOME, so your keys, history
# and settings are neither used nor touched. LLM_MAGICS_OFFLINE_DELAY sets the streaming pace.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=run
for arg in "$@"; do
  case "$arg" in
    --lab) MODE=lab ;;
    --save) MODE=save ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg (use --lab, --save or --help)" >&2; exit 2 ;;
  esac
done

source .ci/_venv.sh
echo "::: installing llm-magics (editable) and the notebook runner"
pip_install -e . ipykernel nbclient nbformat
if [ "$MODE" = lab ]; then
  pip_install 'jupyterlab>=4.1'
fi

unset KIMI_API_KEY MOONSHOT_API_KEY OPENAI_API_KEY ANTHROPIC_API_KEY OPENAI_COMPATIBLE_API_KEY \
      LLM_MAGICS_MODEL LLM_MAGICS_CASSETTE
unset LLM_MAGICS_PROVIDER  # no key → the offline provider, with its notice, exactly as nbval and Binder see it
export LLM_MAGICS_NO_KEYRING=1
export PYTHONDONTWRITEBYTECODE=1

if [ "$MODE" = lab ]; then
  # A copy of notebooks/ in a temp folder: "Run All" plus autosave must not rewrite the committed
  # notebooks (refresh those with --save). JupyterLab refuses to run as root without --allow-root.
  demo_dir=$(mktemp -d -t llm-magics-demo-XXXXXX)
  cp -R notebooks "$demo_dir/notebooks"
  rm -rf "$demo_dir/notebooks/.ipynb_checkpoints"
  export LLM_MAGICS_HOME="$demo_dir/home"
  export LLM_MAGICS_OFFLINE_DELAY=${LLM_MAGICS_OFFLINE_DELAY:-0.03}
  root_flag=()
  [ "$(id -u)" = "0" ] && root_flag=(--allow-root)
  echo "::: JupyterLab on a copy of notebooks/ in $demo_dir/notebooks (offline provider; edits stay there); Ctrl-C to stop"
  exec .venv/bin/python -m jupyter lab --notebook-dir="$demo_dir/notebooks" --ServerApp.ip=127.0.0.1 --no-browser \
    ${root_flag[@]+"${root_flag[@]}"}
fi

# Fast for a check; a little slower when saving, so the saved timings look like streaming.
export LLM_MAGICS_OFFLINE_DELAY=${LLM_MAGICS_OFFLINE_DELAY:-$([ "$MODE" = save ] && echo 0.01 || echo 0.002)}
export DEMO_SAVE=$([ "$MODE" = save ] && echo 1 || echo 0)
echo "::: executing notebooks/*.ipynb on the offline provider"
set +e
.venv/bin/python - 2> >(grep -v "Kernel is running over TCP without encryption" >&2) <<'PY'
"""Execute each notebook in a temp copy of notebooks/; report cells, outputs, time and errors."""
import os, re, shutil, sys, tempfile, time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

src = Path("notebooks")
books = sorted(src.glob("*.ipynb"))
if not books:
    sys.exit("no notebooks found in notebooks/")
KEYLIKE = re.compile(r"\bsk-[A-Za-z0-9]{20,}")  # never save anything that looks like a key
failed = 0
with tempfile.TemporaryDirectory(prefix="llm-magics-demo-") as tmp:
    work = Path(tmp) / "notebooks"
    shutil.copytree(src, work)
    os.environ["LLM_MAGICS_HOME"] = str(Path(tmp) / "home")
    for book in books:
        nb = nbformat.read(work / book.name, as_version=4)
        t0 = time.perf_counter()
        client = NotebookClient(nb, timeout=300, kernel_name="python3", record_timing=False, resources={"metadata": {"path": str(work)}})
        error = ""
        try:
            client.execute()
        except CellExecutionError as exc:
            error = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        dt = time.perf_counter() - t0
        code = [c for c in nb.cells if c.cell_type == "code"]
        outs = sum(len(c.get("outputs", [])) for c in code)
        # A magic's UsageError prints to stderr instead of raising: count it as a failure too.
        errs = [c for c in code if any(o.get("output_type") == "error" or (o.get("name") == "stderr"
                and o.get("text", "").startswith("UsageError")) for o in c.get("outputs", []))]
        if errs and not error:
            first = next(o for o in errs[0].outputs if o.get("output_type") == "error" or o.get("name") == "stderr")
            error = (first.get("text") or f"{first.get('ename')}: {first.get('evalue')}").strip().splitlines()[0]
        ok = not error and not errs
        failed += not ok
        mark = "ok  " if ok else "FAIL"
        print(f"{mark} {book.name:<38} {len(code):>3} code cells  {outs:>3} outputs  {dt:6.1f} s"
              + (f"\n     {error}" if error else ""))
        if ok and os.environ.get("DEMO_SAVE") == "1":
            text = nbformat.writes(nb)
            if KEYLIKE.search(text):
                print(f"     not saved: {book.name} output contains a key-like string")
                failed += 1
            else:
                (src / book.name).write_text(text, encoding="utf-8")
print(f"{len(books) - failed}/{len(books)} notebooks ran top to bottom with no key"
      + (" (outputs saved)" if os.environ.get("DEMO_SAVE") == "1" else ""))
sys.exit(1 if failed else 0)
PY
rc=$?
wait
exit $rc
