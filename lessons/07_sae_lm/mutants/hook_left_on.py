# Mutant: attaches the caching hook and never takes it off again. Must fail: cache_activations
import torch


def cache_activations(model, tokens, hook_name):
    saved = {}

    def save(act, hook):
        saved["act"] = act.detach()

    model.hook_dict[hook_name].fns.append(save)
    with torch.no_grad():
        model(tokens)
    return saved["act"]
