# Mutant: the training step never renormalises the decoder rows. Must fail: train


def train_step(sae, x, optimizer, l1_coefficient):
    x_hat, acts = sae(x)
    loss = sae_loss(x, x_hat, acts, sae.W_dec, l1_coefficient)  # noqa: F821 - appended to solutions.py
    optimizer.zero_grad()
    loss.backward()
    sae.W_dec.grad = remove_parallel_grad(sae.W_dec.data, sae.W_dec.grad)  # noqa: F821
    optimizer.step()
    return loss.item()
