FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DUKABOT_DATA_DIR=/data DUKABOT_HOST=0.0.0.0
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY payments payments
COPY flows flows
COPY bot bot
COPY admin admin
COPY webhooks webhooks
RUN pip install --no-cache-dir . && useradd --create-home --uid 10001 dukabot && mkdir -p /data && chown dukabot /data
USER dukabot
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz')"
CMD ["sh", "-c", "dukabot db upgrade && exec dukabot serve"]
