#!/usr/bin/env bash
# Installs NanoFlux with every first-party plugin, editable, into .venv.
# Idempotent: a second run with unchanged pyproject files only checks the stamp.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV=".venv"

# bubblewrap gives the code sandbox its namespaces; without it sandboxed tools refuse to run.
if ! command -v bwrap >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing bubblewrap (apt)"
        apt-get update -qq >/dev/null && apt-get install -y -qq bubblewrap >/dev/null
    else
        echo "setup: warning: bubblewrap (bwrap) is not installed; sandboxed judge tools will refuse to run" >&2
    fi
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

packages=(plugins/*/ domains/*/)
stamp_now="$(cat scripts/setup.sh core/pyproject.toml "${packages[@]/%//pyproject.toml}" 2>/dev/null | sha256sum | cut -d' ' -f1)"
if [ -f "$VENV/.setup-stamp" ] && [ "$(cat "$VENV/.setup-stamp")" = "$stamp_now" ]; then
    echo "setup: up to date"
    exit 0
fi

"${PIP[@]}" install --upgrade pip
# The CPU build of torch first, so no plugin pulls a multi-GB CUDA build.
# Override with NANOFLUX_TORCH (e.g. "torch" on a GPU machine).
if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
    "${PIP[@]}" install "${NANOFLUX_TORCH:-torch==2.13.0}"
fi
editable=()
for package in "${packages[@]}"; do
    [ -f "$package/pyproject.toml" ] && editable+=(-e "$package")
done
"${PIP[@]}" install -e "core[dev,report,hf]" "${editable[@]}"
echo "$stamp_now" > "$VENV/.setup-stamp"
echo "setup: done ($("$VENV/bin/nanoflux" --version))"
