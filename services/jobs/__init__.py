"""Long model-driven work over a deliberation, idempotent and resumable: dedup cards into canonical
values, mine and generate contexts, write and judge upgrade stories."""
