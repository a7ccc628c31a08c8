# The shortener service: `docker build -t shortener .` (or podman), then see compose.yaml.
#
# Two stages: the first installs the pinned dependencies (.ci/requirements.lock, hash-checked)
# into a virtual environment; the final image is the slim Python base, that environment and
# the source tree, run as an unprivileged user. No compiler or build tool reaches it (every
# locked package with C code ships a manylinux wheel for CPython 3.11; geoip2fast, pure
# Python, is built from its sdist in the first stage).
ARG PYTHON_IMAGE=docker.io/library/python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY .ci/requirements.lock /tmp/requirements.lock
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --require-hashes --prefer-binary -r /tmp/requirements.lock \
    # pip and setuptools are not needed to run: leave them behind.
    && /opt/venv/bin/pip uninstall -y pip setuptools

FROM ${PYTHON_IMAGE}
# Migrations are read next to the package (alembic.ini, migrations/), so the service runs
# from its source tree rather than from an installed wheel.
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY alembic.ini pyproject.toml ./
COPY migrations ./migrations
COPY templates ./templates
COPY shortener ./shortener
RUN useradd --system --uid 10001 --home-dir /data --create-home shortener \
    && python -m compileall -q /app/shortener
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    # Without PostgreSQL configured, an SQLite file in the one writable place (a volume).
    DATABASE_URL=sqlite:////data/shortener.db
USER 10001
VOLUME ["/data"]
EXPOSE 8000
# Alive and answering (not /readyz: a container whose Redis is away still serves redirects
# from the database, and restarting it would not bring Redis back).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# The `shortener` command: `serve` applies the migrations, then serves; any other command
# replaces it (`docker run IMAGE doctor`, `... migrate`, `... flush`, `... serve --workers 4`).
ENTRYPOINT ["python", "-m", "shortener.cli"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
