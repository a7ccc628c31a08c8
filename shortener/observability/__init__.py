"""Request ids, request logs and Prometheus metrics.

Kept apart from the modules they watch: those only bump plain integers (or call a hook), and
everything that costs more runs here, off the redirect path.
"""
