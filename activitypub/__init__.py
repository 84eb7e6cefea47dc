"""The ActivityPub protocol, free of web framework and database (federation issue)."""
