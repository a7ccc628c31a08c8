"""The dashboard's list of links with 75,000 links on SQLite: how long a page takes.

    python bench/dashboard_list_bench.py [--links N] [--repeat N]

Builds a temporary SQLite database through the migrations, gives one account `--links` links
(default 75,000; written straight into the table, a tenth of them tagged and some expired or
inactive), signs in through the pages, then times whole GET /dashboard answers (the app in
process through httpx: routing, queries, template): the first page, a page in the middle, the
last page (the deepest offset), a jump with a search, and each filter. The overview's charts
are part of every page, as in the browser.

Figures only; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from _harness import workspace_of
from sqlalchemy import insert, select

from shortener.config import Settings
from shortener.keys import md5_hex
from shortener.links import service
from shortener.main import create_app
from shortener.migrate import upgrade
from shortener.models import Link, LinkTag, User, utcnow
from shortener.workspaces.service import acting_as

TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
EMAIL = "bench@example.com"


async def fill(app: object, count: int) -> None:
    runtime = app.runtime  # type: ignore[attr-defined]
    async with runtime.sessionmaker() as session, session.begin():
        user = (await session.execute(select(User).where(User.email == EMAIL))).scalar_one()
        owner, workspace = user.id, await workspace_of(session, user)
        now = utcnow()
        for start in range(0, count, 5000):
            rows = []
            for i in range(start, min(count, start + 5000)):
                url = f"https://example.com/page/{i}"
                rows.append(
                    {
                        "key": f"k{i:06d}",
                        "url": url,
                        "url_md5": md5_hex(url),
                        "key_strategy": "random",
                        "owner_id": owner,
                        "workspace_id": workspace,
                        "created_at": now - timedelta(seconds=count - i),
                        "updated_at": now,
                        "expires_at": now - timedelta(days=1) if i % 50 == 0 else None,
                        "is_active": i % 40 != 0,
                        "redirect_type": 302,
                        "uses": 0,
                        "clicks": i % 97,
                        "bot_clicks": 0,
                        "forward_query": False,
                        "forward_path": False,
                    }
                )
            await session.execute(insert(Link), rows)
        ids = (await session.execute(select(Link.id).where(Link.key.like("k%0")))).scalars()
        await session.execute(insert(LinkTag), [{"link_id": i, "tag": "launch"} for i in ids])


async def bench(tmp: str, links: int, repeat: int) -> None:
    settings = Settings(
        environment="test",
        secret_key="bench-secret-key-that-is-long-enough-for-hs256",
        base_url="http://short.test",
        database_url=f"sqlite:///{tmp}/bench.db",
        redis_url=None,
        rate_limits_enabled=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://short.test") as c:
            page = await c.get("/register")
            token = TOKEN.search(page.text).group(1)  # type: ignore[union-attr]
            data = {"email": EMAIL, "password": "bench password 123", "csrf_token": token}
            registered = await c.post("/register", data=data)
            assert registered.status_code == 303, registered.text[:300]
            started = time.perf_counter()
            await fill(app, links)
            print(f"{links:,} links written in {time.perf_counter() - started:.1f} s")
            last = -(-links // 20)
            cases = {
                "page 1": {},
                "page 1,000": {"page": "1000"},
                f"last page ({last:,})": {"page": str(last)},
                "search 'page/7', page 50": {"q": "page/7", "page": "50"},
                "tag=launch": {"tag": "launch"},
                "status=inactive": {"status": "inactive"},
                "status=expired, page 20": {"status": "expired", "page": "20"},
                "domain=short.test": {"domain": "short.test"},
            }
            for name, params in cases.items():
                times = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    answer = await c.get("/dashboard", params=params)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert answer.status_code == 200, answer.text[:300]
                print(
                    f"{name:28} median {statistics.median(times):7.1f} ms"
                    f"  max {max(times):7.1f} ms  ({repeat} runs)"
                )
            # The list's own queries (count and page), without the overview's charts.
            print("the list's queries alone (links.service.list_links):")
            async with app.runtime.sessionmaker() as session:
                user = (await session.execute(select(User).where(User.email == EMAIL))).scalar_one()
                acting = await acting_as(session, user=user)
                for name, offset, filters in (
                    ("page 1", 0, {}),
                    ("last page", (last - 1) * 20, {}),
                    ("status=expired", 0, {"status": "expired"}),
                    ("tag=launch, page 100", 1980, {"tag": "launch"}),
                ):
                    times = []
                    for _ in range(repeat):
                        t0 = time.perf_counter()
                        await service.list_links(
                            session, acting=acting, limit=20, offset=offset, **filters
                        )
                        times.append((time.perf_counter() - t0) * 1000)
                    print(f"{name:28} median {statistics.median(times):7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--links", type=int, default=75_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        upgrade(f"sqlite:///{tmp}/bench.db")  # its own event loop: before ours
        asyncio.run(bench(tmp, args.links, args.repeat))


if __name__ == "__main__":
    main()
