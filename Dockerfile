# syntax=docker/dockerfile:1
# Tenantry's image: the web app built with Node, the Python environment built by uv
# from uv.lock, and a slim runtime without compilers, uv or Node that runs as an
# unprivileged user. `docker build -t tenantry .`; compose.yaml shows the whole stack.

# 1. The web app: static files the API serves at `/`.
FROM node:20-bookworm-slim AS web
WORKDIR /web
# The lock file first: this layer is reused until the dependencies change.
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

# 2. The Python environment, exactly as uv.lock pins it, without the dev tools.
FROM python:3.11-slim-bookworm AS python-build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY src/ ./src/
RUN uv sync --frozen --no-dev --no-editable

# 3. The runtime.
FROM python:3.11-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 tenantry \
    && useradd --system --uid 10001 --gid tenantry --home-dir /data \
        --shell /usr/sbin/nologin tenantry \
    && mkdir /data && chown tenantry:tenantry /data
COPY --from=python-build /app/.venv /app/.venv
COPY --from=web /web/dist /app/web
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production \
    SPA_DIR=/app/web
# The working folder is the only one the service may write to (an embedded SQLite
# database when ALLOW_SQLITE_IN_PRODUCTION=true); `serve` keeps its metrics in /tmp.
WORKDIR /data
USER tenantry:tenantry
EXPOSE 8000
# uvicorn stops gracefully on SIGTERM: give it SHUTDOWN_TIMEOUT_SECONDS (30) and a bit
# more before a kill (compose: stop_grace_period; Kubernetes: terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM
# The slim image has no curl: ask /healthz with the Python that is there anyway.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["tenantry"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
