"""Plumbing every room shares: the model clients (with accounting), retries, background jobs, the app
version."""
