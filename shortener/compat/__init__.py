"""Other shorteners' APIs (Shlink, YOURLS, Kutt), spoken over our own services."""
