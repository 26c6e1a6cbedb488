# Sourced by the other scripts: make ./.venv with Python 3.11+ and install Dolmen into it.
# Usage: . scripts/_venv.sh EXTRAS   (EXTRAS like "" or "[dev]")
set -euo pipefail

find_python() {
    for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3 python; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "error: Dolmen needs Python 3.11 or newer; install it, or point PYTHON at it" >&2
    return 1
}

if [ ! -x .venv/bin/python ]; then
    python="$(find_python)"
    echo "Creating .venv with $("$python" --version)"
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".$1"
