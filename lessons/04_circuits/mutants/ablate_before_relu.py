# Mutant: hooks the conv inside the layer (before its ReLU), so a mean ablation uses pre-activations. Must fail: ablated_recall


def ablated_recall(model, images, labels, layer, unit_sets, mode="zero"):
    module = getattr(model, layer).conv
    with torch.no_grad():  # noqa: F821 - appended to solutions.py
        seen = {}
        handle = module.register_forward_hook(lambda m, inputs, output: seen.__setitem__("act", output))
        try:
            classes = model(images).shape[1]
        finally:
            handle.remove()
        means = seen["act"].mean(dim=(0, 2, 3))
        total = torch.bincount(labels.flatten(), minlength=classes).float()  # noqa: F821
        rows = []
        for units in unit_sets:
            values = means[units] if mode == "mean" else torch.zeros(len(units))  # noqa: F821

            def replace(m, inputs, output, units=units, values=values):
                output = output.clone()
                output[:, units] = values.view(1, -1, 1, 1).to(output)
                return output

            handle = module.register_forward_hook(replace)
            try:
                pred = model(images).argmax(dim=1)
            finally:
                handle.remove()
            correct = torch.bincount(labels[pred == labels], minlength=classes).float()  # noqa: F821
            rows.append(correct / total.clamp_min(1))
    return torch.stack(rows)  # noqa: F821
