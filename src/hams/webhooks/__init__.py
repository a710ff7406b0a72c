"""Durable webhook delivery: rows written with the job's outcome, sent with retries."""
