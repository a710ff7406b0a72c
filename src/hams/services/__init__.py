"""Domain operations shared by the API and the workers; the only place with domain rules."""
