#!/usr/bin/env bash
# Installs NanoFlux with every first-party plugin, editable, into .venv; assembles the
# default model roster; ends with `nanoflux doctor`, which really runs every part.
# Idempotent: a second run with unchanged pyproject files only checks the stamp and the
# models. The stamp is written only after doctor passed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV=".venv"

# llama-cpp-python, pinned, built once per version and flags. A plain pip install
# compiles it with -march=native: that wheel crashed on an AVX512/AMX machine and cannot
# move to another CPU. GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS build one CPU library per
# x86-64 feature level instead; nanoflux_llamacpp picks one at load time.
LLAMA_VERSION="0.3.36"
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON"
# The default roster: attacker and judge, defender (see README, "Models").
ROSTER=(qwen2.5-coder-1.5b qwen2.5-coder-0.5b)

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
    "$VENV/bin/nanoflux" models pull "${ROSTER[@]}" >/dev/null
    "$VENV/bin/python" -m nanoflux_llamacpp.server_binary build >/dev/null
    echo "setup: up to date (run .venv/bin/nanoflux doctor to check every part again)"
    exit 0
fi

"${PIP[@]}" install --upgrade pip
# The CPU build of torch first, so no plugin pulls a multi-GB CUDA build.
# Override with NANOFLUX_TORCH (e.g. "torch" on a GPU machine).
if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
    "${PIP[@]}" install "${NANOFLUX_TORCH:-torch==2.13.0}"
fi

# The portable llama-cpp-python wheel, from our own cache: pip's wheel cache is keyed by
# name and version only, so a native wheel built by an earlier plain install would be
# reused whatever CMAKE_ARGS say. The key here is version, flags, python and machine.
py_tag="$("$VENV/bin/python" -c 'import sys, platform; print(f"cp{sys.version_info[0]}{sys.version_info[1]}-{platform.machine()}")')"
flags_key="$(printf '%s' "$LLAMA_CMAKE_ARGS" | sha256sum | cut -c1-12)"
WHEELS="${NANOFLUX_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nanoflux/wheels}/llama-cpp-python-$LLAMA_VERSION-$py_tag-$flags_key"
if [ ! -f "$WHEELS/build.json" ]; then
    echo "setup: building llama-cpp-python $LLAMA_VERSION portably ($LLAMA_CMAKE_ARGS); once, about 20 minutes on 2 cores"
    rm -rf "$WHEELS.partial" && mkdir -p "$WHEELS.partial"
    started=$(date +%s)
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" "${PIP[@]}" wheel --no-deps --no-cache-dir --no-binary llama-cpp-python \
        -w "$WHEELS.partial" "llama-cpp-python==$LLAMA_VERSION"
    "$VENV/bin/python" - "$WHEELS.partial" "$LLAMA_VERSION" "$LLAMA_CMAKE_ARGS" "$(( $(date +%s) - started ))" <<'EOF'
import datetime, hashlib, json, pathlib, re, sys, zipfile
folder, version, cmake_args, seconds = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
wheel = next(folder.glob("llama_cpp_python-*.whl"))
names = zipfile.ZipFile(wheel).namelist()
variants = sorted(m.group(1) for n in names if (m := re.search(r"libggml-cpu-([\w-]+)\.so$", n)))
flags = cmake_args.split()
record = {
    "llama_cpp_python": version,
    "cmake_args": cmake_args,
    "native": "-DGGML_NATIVE=OFF" not in flags,
    "backend_dl": "-DGGML_BACKEND_DL=ON" in flags,
    "variants": variants,
    "wheel": wheel.name,
    "wheel_sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
    "built": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "build_seconds": seconds,
}
if record["backend_dl"] and not variants:
    sys.exit("setup: the llama-cpp-python wheel has no libggml-cpu-*.so variants")
(folder / "build.json").write_text(json.dumps(record, indent=2) + "\n")
EOF
    rm -rf "$WHEELS" && mv "$WHEELS.partial" "$WHEELS"
fi
record="$VENV/share/nanoflux/llama-cpp-build.json"
if ! cmp -s "$WHEELS/build.json" "$record"; then
    # --force-reinstall: whatever llama-cpp-python is there (a native build) gives way
    "${PIP[@]}" install --no-deps --force-reinstall "$WHEELS"/llama_cpp_python-*.whl
    mkdir -p "$(dirname "$record")" && cp "$WHEELS/build.json" "$record"
fi

editable=()
for package in "${packages[@]}"; do
    [ -f "$package/pyproject.toml" ] && editable+=(-e "$package")
done
# llama-cpp-python is already satisfied at the pinned version, so nothing rebuilds it
"${PIP[@]}" install -e "core[dev,report,hf]" "${editable[@]}"

# llama.cpp's own server, for llamacpp-server: (continuous batching, so lanes decode
# together). Compiled from the same version's sdist against the libraries the wheel
# installed: only the server's ~20 files, no ggml code, so no CPU flags at all (about
# 3 minutes on 2 cores, once). Cached in ~/.cache/nanoflux/llama-server (or
# NANOFLUX_SERVER_CACHE) by version, the wheel's flags, the recipe, python and machine.
"$VENV/bin/python" -m nanoflux_llamacpp.server_binary build

"$VENV/bin/nanoflux" models pull "${ROSTER[@]}"
echo "setup: checking every part (nanoflux doctor)"
"$VENV/bin/nanoflux" doctor
echo "$stamp_now" > "$VENV/.setup-stamp"
echo "setup: done ($("$VENV/bin/nanoflux" --version))"
