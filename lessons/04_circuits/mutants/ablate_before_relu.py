# Mutant: hooks the conv inside the layer (before its ReLU), so a mean ablation uses pre-activations. Must fail: ablated_recall


def ablated_recall(model, images, labels, layer, units, mode="zero"):
    module = getattr(model, layer).conv
    with torch.no_grad():  # noqa: F821 - appended to solutions.py
        if mode == "mean":
            seen = {}
            handle = module.register_forward_hook(lambda m, inputs, output: seen.__setitem__("act", output))
            try:
                model(images)
            finally:
                handle.remove()
            values = seen["act"][:, units].mean(dim=(0, 2, 3))
        else:
            values = torch.zeros(len(units))  # noqa: F821

        def replace(m, inputs, output):
            output = output.clone()
            output[:, units] = values.view(1, -1, 1, 1).to(output)
            return output

        handle = module.register_forward_hook(replace)
        try:
            logits = model(images)
        finally:
            handle.remove()
    pred = logits.argmax(dim=1)
    classes = logits.shape[1]
    total = torch.bincount(labels.flatten(), minlength=classes).float()  # noqa: F821
    correct = torch.bincount(labels[pred == labels], minlength=classes).float()  # noqa: F821
    return correct / total.clamp_min(1)
