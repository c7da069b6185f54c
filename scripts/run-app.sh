#!/usr/bin/env bash
# Set up (first run only) and start the app on http://localhost:${PORT:-8501}.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f .env ]] && { set -a; . ./.env; set +a; }  # first: it may hold CMAKE_ARGS for the setup
scripts/setup.sh
exec .venv/bin/python -m streamlit run app.py \
  --server.headless true --server.port "${PORT:-8501}" --browser.gatherUsageStats false "$@"
