# Mutant: never removes the hook, so every step of the loop adds one more. Must fail: visualise


def channel_objective(model, layer, unit, images):
    store = {}
    module = dict(model.named_modules())[layer]
    module.register_forward_hook(lambda m, inputs, output: store.__setitem__("out", output))
    model(images)
    return store["out"][:, unit].mean(dim=(-2, -1))
