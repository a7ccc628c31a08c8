"""The headers of every answer the service gives, and of a redirect in particular.

One place for them: the app's middleware (SecurityHeaders, HtmlSecurityHeaders) adds them to
FastAPI's answers; the redirect path answers ahead of that stack, so it adds them itself.
A leaf module: middleware imports it.
"""

from __future__ import annotations

from shortener.request_headers import Headers

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
)

# Nothing inline: scripts and styles come from /static only; images from here or data: (QR).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
HTML_SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
]

NO_STORE = (b"cache-control", b"private, max-age=0")


def redirect_headers(location: str, redirect_type: int) -> Headers:
    """`location` must be an ASCII URL (stored URLs are; forward() re-encodes what the
    visitor adds): a header value with anything else is refused by the server."""
    headers = [(b"location", location.encode("ascii")), (b"content-length", b"0")]
    if redirect_type not in (301, 308):
        # Temporary redirects must reach us again, or the next click is never counted.
        headers.append(NO_STORE)
    headers.extend(SECURITY_HEADERS)
    return headers
