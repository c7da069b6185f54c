"""What a researcher does: build moral-graph snapshots and export them, import published study data."""
