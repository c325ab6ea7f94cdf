# Mutant: clamps by decoding the edited latents alone, dropping the SAE's error term. Must fail: steered_logits
import torch


def steered_logits(model, sae, tokens, hook_name, latent, value, mode="clamp"):
    direction = sae.W_dec[latent].detach() / sae.norm_scale

    def steer(act, hook):
        if mode == "clamp":
            z = sae.encode(act)
            z[..., latent] = value
            return sae.decode(z)
        return act + value * direction

    with torch.no_grad():
        return model.run_with_hooks(tokens, fwd_hooks=[(hook_name, steer)])
