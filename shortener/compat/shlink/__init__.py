"""Shlink's REST API (v3, and v2 for older clients), as its JavaScript SDK and web client use it."""
