# Mutant: puts the L1 penalty on the reconstruction x_hat instead of the latents. Must fail: sae_loss


def sae_loss(x, x_hat, acts, W_dec, l1_coefficient):
    mse = (x - x_hat).pow(2).sum(-1).mean()
    return mse + l1_coefficient * x_hat.abs().sum(-1).mean()
