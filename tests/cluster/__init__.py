"""Several real daemons on one real PostgreSQL database (issue 17)."""
