#!/usr/bin/env bash
# Developer entry point.
#   ./dev.sh app  [streamlit args]  install what is missing into .venv, start the app on :8501
#   ./dev.sh test [pytest args]     install what is missing (Debian chromium included), lint, run all tests
# A re-run installs nothing: a stamp file in .venv records the hash of the requirements it satisfied.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

VENV=.venv
PY="$VENV/bin/python"
PYTHON="${PYTHON:-python3}"   # interpreter used to create the venv (needs 3.11+)

usage() {
    echo "usage: $0 {app|test} [args...]" >&2
    echo "  app   start the Streamlit app at http://localhost:8501 (extra args go to streamlit run)" >&2
    echo "  test  ruff + the whole pytest suite, browser tests included (extra args go to pytest)" >&2
}

ensure_venv() {
    if [[ -x "$PY" ]]; then
        return
    fi
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "dev.sh: need Python 3.11 or newer as '$PYTHON' (set PYTHON=/path/to/python3.11)" >&2
        exit 1
    fi
    echo "dev.sh: creating $VENV with $("$PYTHON" --version)"
    "$PYTHON" -m venv "$VENV"
}

# ensure_requirements FILE... : pip-install the files unless a stamp says they are already satisfied.
ensure_requirements() {
    local hash stamp
    hash="$(cat "$@" | sha256sum | cut -c1-16)"
    stamp="$VENV/.stamp-$hash"
    if [[ -f "$stamp" ]]; then
        return
    fi
    echo "dev.sh: installing $* into $VENV"
    "$PY" -m pip install --quiet --upgrade pip
    if ! "$PY" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("torch") is None)'; then
        # On this project's build machines torch==2.13.0 is a local CPU wheel (seconds, no download).
        # Elsewhere it comes from PyPI; to use another build (CPU-only, CUDA, ...), pre-install any
        # torch>=2.3 into .venv yourself: it is kept, since this step only runs when torch is missing.
        "$PY" -m pip install torch==2.13.0
    fi
    local args=()
    local f
    for f in "$@"; do
        args+=(-r "$f")
    done
    "$PY" -m pip install "${args[@]}"
    touch "$stamp"
}

ensure_chromium() {
    local chromium="${LSTMVIZ_CHROMIUM:-/usr/bin/chromium}"
    if [[ -x "$chromium" ]]; then
        return
    fi
    if [[ -n "${LSTMVIZ_CHROMIUM:-}" ]]; then
        echo "dev.sh: LSTMVIZ_CHROMIUM=$LSTMVIZ_CHROMIUM is not an executable file" >&2
        exit 1
    fi
    local sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo)
        else
            sudo=(none)
        fi
    fi
    if [[ "${sudo[*]}" == none ]] || ! command -v apt-get >/dev/null 2>&1; then
        cat >&2 <<'EOF'
dev.sh: the browser tests need Chromium and /usr/bin/chromium is missing.
  Debian/Ubuntu:  sudo apt-get install chromium
  elsewhere:      .venv/bin/playwright install chromium
                  then export LSTMVIZ_CHROMIUM=/path/to/that/chrome and re-run ./dev.sh test
EOF
        exit 1
    fi
    echo "dev.sh: installing Debian chromium for the browser tests"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
}

cmd="${1:-}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
    app)
        ensure_venv
        ensure_requirements requirements.txt
        exec "$VENV/bin/streamlit" run app.py --server.port 8501 --server.address 0.0.0.0 \
            --browser.gatherUsageStats false "$@"
        ;;
    test)
        ensure_venv
        ensure_requirements requirements.txt requirements-test.txt
        # What test installed satisfies app too: stamp it so ./dev.sh app starts at once.
        touch "$VENV/.stamp-$(cat requirements.txt | sha256sum | cut -c1-16)"
        ensure_chromium
        # Lint first, but run the tests whatever it says: one run reports both.
        lint_rc=0
        "$VENV/bin/ruff" check . || lint_rc=$?
        test_rc=0
        "$PY" -m pytest -q "$@" || test_rc=$?
        if [[ $lint_rc != 0 ]]; then
            echo "dev.sh: ruff check failed (exit $lint_rc)" >&2
        fi
        # pytest's own exit code wins (5 = no tests collected); else ruff's.
        if [[ $test_rc != 0 ]]; then
            exit "$test_rc"
        fi
        exit "$lint_rc"
        ;;
    -h | --help | help)
        usage
        ;;
    *)
        usage
        exit 2
        ;;
esac
