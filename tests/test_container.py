"""The container recipe, run outside a container: the Dockerfile's entrypoint and command with
its environment serve, its health check passes against them (and fails once they stop), and
compose.yaml wires PostgreSQL, Redis with an append-only file and two replicas."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.processes import ROOT, free_port, wait_until


def final_stage() -> dict[str, Any]:
    """ENV, ENTRYPOINT, CMD and HEALTHCHECK of the Dockerfile's last stage."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stage = text.split("\nFROM ")[-1]
    found: dict[str, Any] = {"env": {}}
    for line in stage.splitlines():
        line = line.strip()
        if line.startswith("ENV "):
            for pair in line[4:].split():
                if "=" in pair:
                    name, value = pair.split("=", 1)
                    found["env"][name] = value
        for word in ("ENTRYPOINT", "CMD"):
            if line.startswith(f"{word} "):
                found[word] = json.loads(line[len(word) + 1 :])
        if line.startswith("HEALTHCHECK "):
            found["HEALTHCHECK"] = json.loads(line.split(" CMD ", 1)[1])
    return found


def _outside(argv: list[str], port: int) -> list[str]:
    """The image's command for this machine: its python, a free port instead of 8000."""
    return [sys.executable if a == "python" else a.replace("8000", str(port)) for a in argv]


@pytest.mark.timeout(300)
def test_the_image_command_serves_and_its_health_check_follows_it(tmp_path: Path) -> None:
    stage = final_stage()
    assert stage["ENTRYPOINT"] == ["python", "-m", "shortener.cli"]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PYTEST"))}
    env.update({k: v.replace("$PATH", env["PATH"]) for k, v in stage["env"].items()})
    # What the image's layout gives: the source tree on the path, /data a writable volume.
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=f"sqlite:///{tmp_path}/shortener.db")
    env.update(ENVIRONMENT="production", SECRET_KEY="x" * 48, BASE_URL="https://sho.rt")
    command = _outside(stage["ENTRYPOINT"] + stage["CMD"], port)
    assert "0.0.0.0" in command  # reachable from outside the container
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    health = _outside(stage["HEALTHCHECK"], port)
    try:

        def healthy() -> bool:
            return subprocess.run(health, env=env, capture_output=True, timeout=10).returncode == 0

        wait_until(healthy, timeout=180, what="the HEALTHCHECK command passes")
        # serve applied the migrations into the volume's database.
        assert (tmp_path / "shortener.db").stat().st_size > 0
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
        log.close()
    assert code in (0, -signal.SIGTERM), (tmp_path / "serve.log").read_text()
    assert subprocess.run(health, env=env, capture_output=True, timeout=10).returncode != 0


def test_compose_runs_postgres_redis_with_aof_and_two_replicas() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "app"}
    redis = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis and "--appendfsync everysec" in redis
    app = services["app"]
    assert app["deploy"]["replicas"] == 2
    assert app["build"] == "."
    assert app["environment"]["DATABASE_URL"].endswith("@postgres:5432/shortener")
    assert app["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    needs = app["depends_on"]
    assert needs["migrate"]["condition"] == "service_completed_successfully"
    assert needs["postgres"]["condition"] == needs["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["command"] == ["migrate"]
