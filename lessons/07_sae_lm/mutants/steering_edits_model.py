# Mutant: steers "add" by moving an MLP bias: the logits are right, but the shared model is changed for good. Must fail: steered_logits
import torch


def steered_logits(model, sae, tokens, hook_name, latent, value, mode="clamp"):
    direction = sae.W_dec[latent].detach() / sae.norm_scale
    mlp = model.blocks[int(hook_name.split(".")[1])].mlp
    with torch.no_grad():
        if mode == "add":
            if hook_name.endswith("hook_post"):
                mlp.b_out += value * direction @ mlp.W_out  # (post + v d) W_out + b = post W_out + (b + v d W_out)
            else:
                mlp.b_in += value * direction  # hook_pre: x W_in + (b_in + v d)
            return model(tokens)

        def steer(act, hook):
            return act + (value - sae.encode(act)[..., latent:latent + 1]) * direction

        return model.run_with_hooks(tokens, fwd_hooks=[(hook_name, steer)])
