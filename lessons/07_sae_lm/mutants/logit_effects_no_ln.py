# Mutant: forgets the final LayerNorm's weight between the residual stream and the unembedding. Must fail: logit_effects


def logit_effects(model, sae, latent):
    direction = sae.W_dec[latent] / sae.norm_scale
    return (direction @ model.blocks[-1].mlp.W_out @ model.unembed.W_U).detach()
