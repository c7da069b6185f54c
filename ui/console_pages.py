"""The facilitator console's pages, in the order of the work (app.py lists them once signed in; the
access-control test opens each of them signed out)."""

from __future__ import annotations

#: (page file, menu title, icon); each page also calls ``ui.auth.require_facilitator``.
CONSOLE: list[tuple[str, str, str]] = [
    ("pages/deliberations.py", "Deliberations", ":material/groups:"),
    ("pages/deliberation_settings.py", "Settings", ":material/tune:"),
    ("pages/invites.py", "Invites", ":material/mail:"),
    ("pages/monitor.py", "Monitor", ":material/monitoring:"),
    ("pages/moderate.py", "Moderate", ":material/shield:"),
    ("pages/dedup_review.py", "Dedup review", ":material/merge:"),
    ("pages/jobs.py", "Jobs", ":material/play_circle:"),
    ("pages/import_study.py", "Import", ":material/upload_file:"),
    ("pages/system.py", "System", ":material/settings:"),
]
SIGN_IN = "pages/facilitator_login.py"
