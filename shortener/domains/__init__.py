"""Custom domains: host names links live on besides BASE_URL's, their proofs and redirects."""
