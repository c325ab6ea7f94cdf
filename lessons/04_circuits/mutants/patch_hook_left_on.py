# Mutant: leaves each patching hook on (no handle.remove()), so later passes patch earlier units too. Must fail: patch_each


def patch_each(model, x, source, layer, units):
    module = getattr(model, layer)
    with torch.no_grad():  # noqa: F821 - appended to solutions.py
        seen = {}
        handle = module.register_forward_hook(lambda m, inputs, output: seen.__setitem__("act", output))
        model(source)
        handle.remove()
        patched = []
        for u in units:
            def replace(m, inputs, output, u=u):
                output = output.clone()
                output[:, u] = seen["act"][:, u]
                return output

            module.register_forward_hook(replace)
            patched.append(model(x))
    return torch.stack(patched)  # noqa: F821
