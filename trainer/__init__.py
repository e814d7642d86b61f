"""Training job: real NSL-KDD and BoT-IoT data to balanced CNN and CNN+LSTM models exported to ONNX."""

import os

# TensorFlow's C++ start-up chatter (oneDNN, CPU features) buries the trainer's own progress lines.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
