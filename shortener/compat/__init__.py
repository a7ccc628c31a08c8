"""Other shorteners' APIs served over our links, keys and statistics: thin adapters, no rules."""
