"""The durable queue: named statements over the jobs and webhook_deliveries tables."""
