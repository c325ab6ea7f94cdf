# Mutant: never zeroes the gradients, so every step follows the sum of all past gradients. Must fail: train
import torch


def train(model, steps=2000, batch_size=512, lr=1e-2):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        batch = generate_batch(model.feature_probability, model.cfg.n_features, batch_size)  # noqa: F821
        importance_loss(model(batch), batch, model.importance).backward()  # noqa: F821
        opt.step()
    return model
