# Mutant: edits the model it was given instead of a copy (and returns it twice). Must fail: drop_negative


def drop_negative(model, layer, units, sources):
    weight = getattr(model, layer).conv.weight
    with torch.no_grad():  # noqa: F821 - appended to solutions.py
        for u in units:
            weight[u, sources] = weight[u, sources].clamp(min=0)
    return model, model
