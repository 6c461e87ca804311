# App image for every service of docker-compose.yml. The classifier is trained on first start of `adscreen train`
# (or copy a trained model directory into the /data/models volume).
FROM python:3.11-slim
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY adscreen adscreen
COPY crawler crawler
COPY worker worker
COPY keywords keywords
COPY classifier classifier
COPY store store
COPY review review
COPY scoring scoring
COPY demo_site demo_site
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu torch==2.13.0 && pip install .
USER nobody
CMD ["adscreen", "--help"]
