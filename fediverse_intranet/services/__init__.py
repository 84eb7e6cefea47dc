"""Domain services: the one place where rules live. Web routes and inbox handlers stay thin."""
