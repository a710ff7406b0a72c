"""Engines behind small Protocols: speech to text today; text to speech and text next."""
