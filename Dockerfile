# lstmviz: the Streamlit app on CPU-only PyTorch.
#   docker build -t lstmviz .
#   docker run --rm -p 8501:8501 lstmviz      # then open http://localhost:8501
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --gid 10001 app && useradd --create-home --uid 10001 --gid app app
WORKDIR /app

# CPU-only torch first (a few hundred MB instead of the multi-GB CUDA build); requirements.txt
# says torch>=2.3, which this satisfies, so the second step adds only the rest.
COPY requirements.txt .
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && pip install --no-cache-dir -r requirements.txt

COPY . .

USER 10001:10001
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=8)"]
CMD ["streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
