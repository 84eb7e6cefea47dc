"""What leaves this instance: the background worker and, with federation, the delivery queue."""
