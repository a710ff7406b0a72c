"""The bound on page numbers and offsets: past a 64-bit integer the database fails (500)."""

MAX_PAGE = 1_000_000_000  # times the largest page size (1000) still far below 2**63
