"""One function per user action: open a session, call the core, commit, return public schemas."""
