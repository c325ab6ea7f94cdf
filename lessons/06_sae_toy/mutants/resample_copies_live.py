# Mutant: "resamples" by copying live latents into the dead ones instead of re-initialising them. Must fail: resample_dead
import torch


def resample_dead(sae, x, dead):
    with torch.no_grad():
        live = (~dead).nonzero().flatten()[: int(dead.sum())]
        sae.W_dec[dead] = sae.W_dec[live].clone()
        sae.W_enc[:, dead] = sae.W_enc[:, live].clone()
        sae.b_enc[dead] = sae.b_enc[live].clone()
    return sae
