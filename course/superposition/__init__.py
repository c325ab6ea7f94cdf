"""Toy models of superposition (Elhage et al. 2022): batched models, training, analysis and phase diagrams.

    from course.superposition import ToyModel, ToyModelConfig, train
    model = ToyModel(ToyModelConfig(n_features=5, n_hidden=2, n_instances=8),
                     feature_probability=50 ** -torch.linspace(0, 1, 8), importance=0.9 ** torch.arange(5))
    train(model, steps=5000, progress=True)
"""

from course.superposition.model import ToyModel, ToyModelConfig, TrainConfig, train

__all__ = ["ToyModel", "ToyModelConfig", "TrainConfig", "train"]
