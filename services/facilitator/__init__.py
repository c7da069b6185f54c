"""What a facilitator does: set up deliberations and invites, review dedup (merge, split), grade
interviews, check the model and the database."""
