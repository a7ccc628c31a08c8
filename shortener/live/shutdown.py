"""Has the server begun to shut down? (So that open event streams can end first.)

uvicorn stops accepting connections on SIGTERM and then waits for every response in progress
to finish before it runs the lifespan shutdown; an event stream never finishes by itself, so
without help each open dashboard tab would hold a stop up for `timeout_graceful_shutdown`
seconds and then be cancelled. uvicorn tells the application nothing at that point, but while
it serves, its Server.handle_exit is the process's SIGTERM handler, and the `should_exit` flag
it sets is what we read. Nothing is patched or replaced: under another server (or a uvicorn
running in a thread, which installs no signal handlers) this answers False, and a stream ends
when its client leaves, when the server's graceful timeout cancels it, or at the lifespan
shutdown, whichever comes first.
"""

from __future__ import annotations

import signal


def server_exiting() -> bool:
    handler = signal.getsignal(signal.SIGTERM)
    server = getattr(handler, "__self__", None)
    return bool(getattr(server, "should_exit", False))
