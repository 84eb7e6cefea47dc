"""What arrives from other servers (federation issue)."""
