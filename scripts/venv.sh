#!/usr/bin/env bash
# Create ./.venv (git-ignored) with a Python 3.12+ interpreter and install the
# Ansible oracle (scripts/oracle-requirements.txt: ansible 14.5.0 and its dependencies,
# pinned) into it, unless the marker says that exact set is there.
# The venv's python is also the oracle's target interpreter in the differential tests, so
# it carries what Ansible's modules need on a target (pexpect, for expect).
set -euo pipefail
cd "$(dirname "$0")/.."

REQUIREMENTS=scripts/oracle-requirements.txt
VENV="${PLAY_VENV:-.venv}"
MARKER="$VENV/.oracle-$(sha256sum "$REQUIREMENTS" | cut -c1-16)"

if [ -f "$MARKER" ] && [ -x "$VENV/bin/ansible-playbook" ]; then
    exit 0
fi

is_312_plus() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null
}

find_python() {
    local c
    for c in "${PLAY_PYTHON:-}" python3.13 python3.12 python3; do
        [ -n "$c" ] || continue
        if command -v "$c" >/dev/null 2>&1 && is_312_plus "$(command -v "$c")"; then
            command -v "$c"; return 0
        fi
    done
    for c in "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3 /usr/local/bin/python3.1[2-9]; do
        if [ -x "$c" ] && is_312_plus "$c"; then
            echo "$c"; return 0
        fi
    done
    return 1
}

if [ ! -x "$VENV/bin/python" ] || ! is_312_plus "$VENV/bin/python"; then
    if ! PY="$(find_python)"; then
        echo "error: no Python 3.12+ interpreter found (tried \$PLAY_PYTHON, python3.13, python3.12," >&2
        echo "       python3 on PATH and ~/.pyenv/versions/3.1[2-9]*). ansible-core 2.21 needs 3.12+;" >&2
        echo "       install one (e.g. 'pyenv install 3.12') or set PLAY_PYTHON=/path/to/python3.12." >&2
        exit 1
    fi
    echo "scripts/venv.sh: creating $VENV with $PY" >&2
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
fi

echo "scripts/venv.sh: installing $REQUIREMENTS into $VENV" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    -r "$REQUIREMENTS"
"$VENV/bin/ansible-playbook" --version >/dev/null
touch "$MARKER"
