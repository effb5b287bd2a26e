FROM python:3.11-slim

# Inside a container the server listens on every interface of the container (a published port is forwarded to the
# container's address, never to its loopback) and keeps its data in the /data volume, owned by the user it runs as.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DUKABOT_DATA_DIR=/data DUKABOT_HOST=0.0.0.0 DUKABOT_PORT=8080
WORKDIR /app
# DejaVu Sans for PDF receipts (admin/receipt_pdf.py): PDF's built-in fonts know Latin-1 only.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY core core
COPY payments payments
COPY fiscal fiscal
COPY notify notify
COPY flows flows
COPY bot bot
COPY admin admin
COPY webhooks webhooks
RUN pip install --no-cache-dir . \
    && groupadd --gid 10001 dukabot \
    && useradd --create-home --uid 10001 --gid 10001 dukabot \
    && mkdir -p /data \
    && chown 10001:10001 /data
# Numeric, so that a runtime that checks for a non-root user (Kubernetes' runAsNonRoot) can tell. A new named volume
# on /data starts as the image's /data, owned by this user; a host folder mounted there must be writable by uid 10001.
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080
# /healthz at the container's network address, where the published port leads: a server listening on loopback only
# is unhealthy, not green while no client reaches it (webhooks/healthcheck.py).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["python", "-m", "webhooks.healthcheck"]
CMD ["sh", "-c", "dukabot db upgrade && exec dukabot serve"]
