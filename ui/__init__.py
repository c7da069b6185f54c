"""Streamlit glue: session keys, cached resources, shared widgets. Pages import from here."""
