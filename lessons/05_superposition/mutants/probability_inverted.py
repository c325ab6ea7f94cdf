# Mutant: a feature is active with probability 1 - p. Must fail: generate_batch
import torch


def generate_batch(feature_probability, n_features, batch_size):
    n_instances = feature_probability.shape[0]
    values = torch.rand(batch_size, n_instances, n_features)
    active = torch.rand(batch_size, n_instances, n_features) > feature_probability[None, :, None]
    return torch.where(active, values, torch.zeros(()))
