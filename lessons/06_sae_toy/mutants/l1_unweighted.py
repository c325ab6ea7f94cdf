# Mutant: the L1 penalty ignores the decoder norms (the SAE can dodge it by growing W_dec). Must fail: sae_loss


def sae_loss(x, x_hat, acts, W_dec, l1_coefficient):
    mse = (x - x_hat).pow(2).sum(-1).mean()
    return mse + l1_coefficient * acts.sum(-1).mean()
