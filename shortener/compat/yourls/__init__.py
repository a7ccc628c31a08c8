"""YOURLS's /yourls-api.php over the links and stats services."""
