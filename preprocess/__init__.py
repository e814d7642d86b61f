"""Preprocessing shared by the trainer and the service: the metadata schema and a numpy-only transform."""

from preprocess.metadata import CategoricalFeature, ModelMetadata, NumericFeature, load_metadata
from preprocess.transform import Preprocessor

__all__ = ["CategoricalFeature", "ModelMetadata", "NumericFeature", "Preprocessor", "load_metadata"]
