# Mutant: registers a forward hook per unit set and never removes it. Must fail: ablate_each
import torch


def ablate_each(model, x, layer, unit_sets):
    module = dict(model.named_modules())[layer]
    outs = []
    with torch.no_grad():
        for units in unit_sets:
            def zero(mod, inputs, output, units=units):
                output = output.clone()
                output[:, units] = 0
                return output

            module.register_forward_hook(zero)
            outs.append(model(x))
        outs.append(model(x))
    return torch.stack(outs)
