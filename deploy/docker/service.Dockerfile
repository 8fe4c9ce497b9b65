# syntax=docker/dockerfile:1.7
# One image per Trade Tracker service, built from the uv workspace:
#
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=billing -t trade-tracker/billing:dev .
#
# SERVICE is the folder name under services/ (gateway, identity, broker, market-data,
# chart-render, ai-analysis, strategy, billing). SERVICE=all builds the "tools" image with every
# workspace member installed; the one-shot jobs (stream provisioning, migrations of all services)
# run from it with an explicit command.

ARG PYTHON_IMAGE=python:3.11-slim
ARG NODE_IMAGE=node:22-slim
ARG UV_VERSION=0.13.9

# ---------------------------------------------------------------- web assets
# The gateway's front-end packages (htmx, lightweight-charts), exactly as locked; served from
# services/gateway/node_modules. Other services copy them but never serve them.
FROM ${NODE_IMAGE} AS web-assets
WORKDIR /web
COPY services/gateway/package.json services/gateway/package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---------------------------------------------------------------- builder
FROM ${PYTHON_IMAGE} AS builder
ARG UV_VERSION
ARG SERVICE
RUN test -n "$SERVICE" || (echo "build with --build-arg SERVICE=<name>|all" >&2; exit 1)

# uv comes from PyPI (pinned), never from a curl installer.
RUN --mount=type=cache,target=/root/.cache/pip pip install "uv==${UV_VERSION}"

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app

# 1) Third-party dependencies only: this layer changes only when uv.lock changes.
#    With --frozen uv installs straight from the lock file; no workspace sources are needed yet.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    if [ "$SERVICE" = "all" ]; then set -- --all-packages; else set -- --package "tt-$SERVICE"; fi; \
    uv sync --frozen --no-dev --no-install-workspace "$@"

# 2) Workspace sources, then sync again to install the workspace members themselves.
COPY contracts ./contracts
COPY libs ./libs
COPY sandbox ./sandbox
COPY services ./services
COPY --from=web-assets /web/node_modules ./services/gateway/node_modules
RUN --mount=type=cache,target=/root/.cache/uv \
    if [ "$SERVICE" = "all" ]; then set -- --all-packages; \
    else test -d "services/$SERVICE" || { echo "unknown service: $SERVICE" >&2; exit 1; }; \
         set -- --package "tt-$SERVICE"; fi; \
    uv sync --frozen --no-dev "$@"

# 3) Assemble what the runtime needs: the environment plus the (editable) sources it points at,
#    so each service's migrations travel with it. Compile them: the root filesystem is read-only
#    at run time.
RUN mkdir -p /out && cp -a .venv contracts libs /out/ \
    && if [ "$SERVICE" = "all" ]; then cp -a services sandbox /out/; \
       else mkdir -p /out/services && cp -a "services/$SERVICE" /out/services/; fi \
    && python -m compileall -q /out/contracts /out/libs /out/services

# ---------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="trade-tracker-${SERVICE}" \
      org.opencontainers.image.source="https://github.com/trade-tracker/trade-tracker" \
      org.opencontainers.image.version="${VERSION}"

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app

COPY --from=builder --chown=root:root /out /app
WORKDIR /app

ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TT_SERVICE=${SERVICE} \
    SERVICE_VERSION=${VERSION} \
    SERVICE_HOST=0.0.0.0 \
    LOG_JSON=true \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    MPLCONFIGDIR=/tmp/matplotlib

# Files stay owned by root and read-only for the service user.
USER 10001:10001

# Liveness of the ops app (gateway: its HTTP port). SERVICE_PORT is set by compose/Kubernetes.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('SERVICE_PORT', '8000'), timeout=2)"]

# python -m tt_<module>, where <module> is SERVICE with '-' turned into '_' (market-data -> tt_market_data).
# exec: python becomes PID 1 and receives SIGTERM directly.
CMD ["/bin/sh", "-c", "exec python -m \"tt_$(printf '%s' \"$TT_SERVICE\" | tr '-' '_')\""]
