# Mutant: splices the SAE in at the MLP's pre-activations (hook_pre) instead of the hook it was given. Must fail: ce_loss_recovered
import torch


def ce_loss_recovered(model, sae, tokens, hook_name):
    where = hook_name.replace("hook_post", "hook_pre")
    with torch.no_grad():
        clean = model(tokens, return_type="loss").item()
        spliced = model.run_with_hooks(tokens, fwd_hooks=[(where, lambda a, h: sae(a))], return_type="loss").item()
        zeroed = model.run_with_hooks(tokens, fwd_hooks=[(where, lambda a, h: torch.zeros_like(a))],
                                      return_type="loss").item()
    return {"clean": clean, "sae": spliced, "zero": zeroed, "recovered": (zeroed - spliced) / (zeroed - clean)}
