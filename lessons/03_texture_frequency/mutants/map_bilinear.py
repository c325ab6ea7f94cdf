# Mutant: upsamples the feature map bilinearly instead of repeating each value over its cell. Must fail: response_map


def response_map(model, layer, unit, image):
    act = activations(model, image[None], [layer])[layer][:, unit:unit + 1]  # noqa: F821 - appended to solutions.py
    return F.interpolate(act, size=image.shape[-2:], mode="bilinear", align_corners=False)[0, 0]  # noqa: F821
