"""hams: a self-hosted voice-AI platform that speaks the Hamsa API."""

__version__ = "0.1.0"
