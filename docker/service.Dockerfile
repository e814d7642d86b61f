# The prediction API: only the service's runtime dependencies (no TensorFlow, pandas or
# scikit-learn), run by a non-root user. Build from the repository root:
#   docker build -f docker/service.Dockerfile -t nids-service .

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Only what the service package needs (the metadata contract, the inference core and the service): the trainer stays out of this image.
COPY pyproject.toml README.md ./
COPY preprocess ./preprocess
COPY inference ./inference
COPY service ./service
# `.` without extras: the base dependency list is the service's runtime.
RUN pip install --no-cache-dir .

FROM python:3.11-slim
RUN groupadd --system --gid 10001 nids \
    && useradd --system --uid 10001 --gid nids --home-dir /app --no-create-home nids
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The shipped models, so the image serves on its own; compose mounts ./artifacts over them.
COPY artifacts ./artifacts
# The SQLite fallback (no NIDS_DATABASE_URL) writes ./data, which the service user must own.
RUN mkdir data && chown nids:nids data
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    NIDS_HOST=0.0.0.0 \
    NIDS_PORT=8000 \
    NIDS_WORKERS=1 \
    NIDS_ARTIFACTS_DIR=/app/artifacts
USER 10001:10001
EXPOSE 8000
# Liveness only (/readyz also needs the database); python because slim images have no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('NIDS_PORT', '8000'), timeout=4)"]
# Uvicorn with NIDS_WORKERS processes on NIDS_HOST:NIDS_PORT (see service/__main__.py).
CMD ["python", "-m", "service"]
