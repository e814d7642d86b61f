# The training job: TensorFlow, tf2onnx and the rest of the `train` extra. Mount the datasets on
# /data and the artifacts folder on /artifacts; arguments after the image name replace the default
# command, which retrains every shipped model. Build from the repository root:
#   docker build -f docker/trainer.Dockerfile -t nids-trainer .

FROM python:3.11-slim
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --gid 1000 trainer && useradd --uid 1000 --gid trainer --no-create-home trainer
WORKDIR /app
COPY pyproject.toml README.md ./
COPY preprocess ./preprocess
COPY trainer ./trainer
RUN pip install --no-cache-dir "./[train]"
RUN mkdir /data /artifacts && chown trainer:trainer /artifacts
# Keras and matplotlib write caches under HOME; /tmp keeps that working for any --user.
ENV PYTHONUNBUFFERED=1 \
    NIDS_DATA_DIR=/data \
    HOME=/tmp \
    MPLCONFIGDIR=/tmp/matplotlib
USER 1000:1000
VOLUME ["/artifacts"]
ENTRYPOINT ["python", "-m", "trainer"]
CMD ["ship", "--data-dir", "/data", "--out", "/artifacts"]
