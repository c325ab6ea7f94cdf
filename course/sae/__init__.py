"""Sparse autoencoders: models (ReLU + L1, TopK, BatchTopK), a streaming trainer, metrics, toy ground truth.

    from course.sae import SAE, SAEConfig, SAETrainConfig, train_sae, evaluate
"""

from course.sae.metrics import evaluate, mean_max_cosine
from course.sae.sae import SAE, SAEConfig
from course.sae.train import SAETrainConfig, train_sae

__all__ = ["SAE", "SAEConfig", "SAETrainConfig", "evaluate", "mean_max_cosine", "train_sae"]
