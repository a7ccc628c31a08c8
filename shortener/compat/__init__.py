"""Other shorteners' APIs (Shlink, YOURLS, Kutt) served over our links, keys and statistics:
thin adapters, no rules of their own."""
