#!/usr/bin/env bash
# Set up (first run only) and start the app on http://localhost:${PORT:-8501}.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
[[ -f .env ]] && { set -a; . ./.env; set +a; }
exec .venv/bin/python -m streamlit run app.py \
  --server.headless true --server.port "${PORT:-8501}" --browser.gatherUsageStats false "$@"
