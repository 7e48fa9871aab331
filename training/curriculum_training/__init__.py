"""Curriculum recommender: the offline training package.

Datasets in the LECR schema, splits, contrastive training of a shared bi-encoder, evaluation with
the competition's F2 and a dynamic relative margin, distillation, and ONNX export into an artifact
bundle that the TypeScript service loads. See ../README.md and ../../shared/ARCHITECTURE.md.
"""
__version__ = "0.1.0"
