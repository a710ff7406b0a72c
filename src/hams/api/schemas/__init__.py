"""Wire models (camelCase on the wire), named by role."""
