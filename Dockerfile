# The tracker's daemon in a container. Build: docker build -t cursor-tracker .
# Run: see "Run it in Docker" in README.md (a volume at /data and DASHBOARD_PASSWORD are needed).
#
# Two stages: the first builds the wheel and installs it with its dependencies into a
# virtualenv; the second copies only that virtualenv, so no source tree, wheel or pip cache ships.

# One base for both stages: the virtualenv refers to the interpreter by path, so it must run on
# the Python it was made with. Pinned by tag so that a rebuild gets the same Python.
ARG PYTHON_IMAGE=python:3.12.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Only what the wheel is made of; .dockerignore keeps the rest out of the build context.
COPY pyproject.toml README.md ./
COPY tracker_core ./tracker_core
COPY tracker_tui ./tracker_tui
# Every dependency publishes Linux wheels (psycopg through its [binary] extra), so no compiler
# is needed. The wheel is built first so the image holds an installed package, not a source tree.
RUN python -m venv /opt/venv \
 && python -m pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/venv/bin/pip install /wheels/*.whl

FROM ${PYTHON_IMAGE}
# A fixed uid and gid, so a host directory bound to /data can be chowned to 10001 beforehand.
# The home directory is /data: the only place the user may write.
RUN groupadd --system --gid 10001 tracker \
 && useradd --system --no-log-init --uid 10001 --gid tracker --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin tracker \
 && mkdir /data \
 && chown tracker:tracker /data \
 && chmod 0700 /data
COPY --from=builder /opt/venv /opt/venv
# PYTHONUNBUFFERED: log lines reach `docker logs` as they are written, not when a buffer fills.
# DATABASE_URL: the SQLite file lives on the volume; point it at PostgreSQL to share a database
# (compose.yaml's postgres profile does).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_URL=sqlite:////data/tracker.db
WORKDIR /data
VOLUME ["/data"]
# Numeric, so that an orchestrator's "must not run as root" check can tell without /etc/passwd.
USER 10001:10001
# The daemon's default port ([daemon] port in the configuration).
EXPOSE 8080
# /healthz needs no password and answers 200 while the database can be read ("degraded" only
# means the data is stale, which a restart would not cure), 503 when it cannot. The slim image
# has no curl, so the check is Python's standard library: no answer, or an error status (4xx,
# 5xx), raises and exits 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
# 0.0.0.0 so the published port reaches it; the daemon refuses this without DASHBOARD_PASSWORD.
CMD ["cursor-tracker", "daemon", "--host", "0.0.0.0"]
