"""Schemathesis over Shlink's routes (/rest/), as tests/security/test_fuzz_api.py does over ours:
no 5xx, and every answer in the published schema with a status it documents."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import LIVE_TIMEOUT
from tests.processes import ThreadedServer
from tests.security.test_fuzz_api import (  # noqa: F401 - fixtures
    EXAMPLES_PER_OPERATION,
    admin_headers,
    api_schema,
    live_server,
)

# mercure-info always answers Shlink's 501 "not configured" (live updates are off): a 5xx by
# design, which the not-a-server-error check would flag; tests/compat/shlink checks it.
schema = (
    schemathesis.pytest.from_fixture("api_schema")
    .include(path_regex="^/rest/")
    .exclude(path="/rest/v3/mercure-info")
)


@pytest.mark.timeout(600)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_shlink_api_fuzz(  # type: ignore[no-untyped-def]
    case,
    live_server: ThreadedServer,  # noqa: F811 - the fixture imported above
    admin_headers: dict[str, str],  # noqa: F811
) -> None:
    case.call_and_validate(
        base_url=live_server.url,
        headers=admin_headers,
        timeout=LIVE_TIMEOUT,
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
