"""The redirect path as one package, read in this order:

- entry.py: which requests are redirects (`redirect_key`) and the Redirector that answers them,
  ahead of FastAPI's stack, top to bottom: look-up, checks, target, response, click;
- link.py: CachedLink, the redirect's view of a link, with its response headers built once;
- targeting.py: rules, A/B variants and forwarding of the visitor's path and query;
- headers.py: the security headers every answer carries, and a redirect's headers;
- answers.py: the error answers (404/410/405/429, the password form), prebuilt where they can be;
- known_keys.py: the per-worker filter of keys that exist, so unknown keys cost no look-up;
- lookup.py: the cheap database read of a cache miss (batched, no ORM session).

The link cache (shortener/cache.py) sits between entry and lookup: in-process LRU -> Redis ->
database, with invalidation. Nothing here is imported at package import: middleware.py imports
headers.py, which must not pull in the rest.
"""
