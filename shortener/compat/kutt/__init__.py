"""Kutt's API v2 (/api/v2/...) over the links and stats services."""
