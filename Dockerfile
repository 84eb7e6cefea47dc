# fediverse-intranet container image.
#
#   docker build -t fediverse-intranet .
#   docker run -d -p 8000:8000 -v fi-data:/data \
#       -e FI_BASE_URL=https://intranet.example.org -e FI_SECRET_KEY=... fediverse-intranet
#
# Build arguments:
#   BASE_IMAGE     any image with python3 >= 3.11 and its venv module
#                  (default python:3.11-slim; a local Debian 12 base with python3-venv works)
#   PIP_INDEX_URL, PIP_FIND_LINKS, PIP_NO_INDEX
#                  passed to pip in the builder stage, e.g. for a mirror or an offline build
#                  from wheels in the build context: --build-arg PIP_NO_INDEX=1
#                  --build-arg PIP_FIND_LINKS=/src/wheels
# See docs/operations.md.

ARG BASE_IMAGE=python:3.11-slim

# ---- builder: the project and all its dependencies as wheels in /wheels ----
FROM ${BASE_IMAGE} AS builder

ARG PIP_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_NO_INDEX
ENV PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY . /src
# Every dependency ships binary wheels for CPython 3.11 on amd64 and arm64: no compiler.
RUN python3 -m venv /opt/build \
    && /opt/build/bin/python -m pip wheel --no-cache-dir --wheel-dir /wheels /src

# ---- runtime: the wheels installed into a venv, run as an unprivileged user ----
FROM ${BASE_IMAGE}

LABEL org.opencontainers.image.title="fediverse-intranet" \
      org.opencontainers.image.description="A self-hostable, federated social intranet" \
      org.opencontainers.image.licenses="EUPL-1.2"

ENV PATH=/opt/fi/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FI_DATA_DIR=/data \
    FI_BIND_HOST=0.0.0.0

COPY --from=builder /wheels /tmp/wheels
COPY docker/entrypoint.sh /usr/local/bin/fi-entrypoint

# Only the wheels from the builder: no index, no network. ("fi" is quoted: unquoted, the
# shell linter inside hadolint reads the user name as the keyword that ends an `if`.)
RUN python3 -m venv /opt/fi \
    && /opt/fi/bin/python -m pip install --no-cache-dir --no-index --find-links=/tmp/wheels \
        /tmp/wheels/*.whl \
    && rm -rf /tmp/wheels \
    && chmod 0755 /usr/local/bin/fi-entrypoint \
    && groupadd --gid 10001 "fi" \
    && useradd --no-log-init --uid 10001 --gid 10001 --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin "fi" \
    && mkdir -p /data \
    && chown 10001:10001 /data

WORKDIR /data
# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/opt/fi/bin/python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

ENTRYPOINT ["/usr/local/bin/fi-entrypoint"]
CMD ["serve"]
