"""Lucent's InceptionV1 (GoogLeNet, the model of the Distill circuits thread), taking RGB in [0, 1] like our models.

`inceptionv1(pretrained=True)` builds lucent's port of the TensorFlow "inception5h" model and loads its
ImageNet weights through torch.hub: from torch.hub's cache (~/.cache/torch/hub/checkpoints/inception5h.pth)
when they are there, else downloaded (online only). `pretrained=False` gives random weights, offline. The
famous curve detectors are units of `mixed3b` (e.g. 379, 385, 938 in Cammarata et al., Distill 2020), which
see about 100 pixels of a 224 x 224 input.

Only `lucent.modelzoo` is imported (not `lucent.optvis`, which picks a device when imported), the model adds
no hooks, and nothing here shows images.
"""

from __future__ import annotations

import torch

from course.errors import CourseError

WEIGHTS_URL = "https://github.com/ProGamerGov/pytorch-old-tensorflow-models/raw/master/inception5h.pth"
LAYERS = ["conv2d0", "conv2d1", "conv2d2", "mixed3a", "mixed3b", "mixed4a", "mixed4b", "mixed4c", "mixed4d",
          "mixed4e", "mixed5a", "mixed5b"]


from lucent.modelzoo.inceptionv1.InceptionV1 import InceptionV1 as _LucentInceptionV1  # noqa: E402


class CourseInceptionV1(_LucentInceptionV1):
    """Lucent's InceptionV1; `forward` takes [0, 1] images and returns the 1008 softmax outputs.

    (Not named "InceptionV1", so lucent's `render_vis(..., preprocess=True)` won't scale inputs a second time;
    pass `preprocess=False` anyway.)
    """

    layers = LAYERS
    census_size = (224, 224)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x * 255 - 117)

    def __repr__(self) -> str:
        params = sum(p.numel() for p in self.parameters())
        return f"CourseInceptionV1(lucent's InceptionV1, {params / 1e6:.1f}M params, layers {', '.join(LAYERS)})"


def inceptionv1(pretrained: bool = True, progress: bool = False) -> torch.nn.Module:
    """InceptionV1 in eval mode, input (N, 3, H, W) in [0, 1] (scaled inside to the [-117, 138] it was trained on)."""
    model = CourseInceptionV1(pretrained=False)
    if pretrained:
        try:
            state = torch.hub.load_state_dict_from_url(WEIGHTS_URL, progress=progress, map_location="cpu")
        except Exception as e:  # offline and not cached: URLError, OSError, HTTPError...
            cache = torch.hub.get_dir() + "/checkpoints/inception5h.pth"
            raise CourseError(
                f"InceptionV1's ImageNet weights are not in torch.hub's cache ({cache}) and could not be downloaded "
                f"({type(e).__name__}: {e}). On a machine that is online, run `python -c \"import course.zoo as z; "
                f"z.load('inceptionv1')\"` once (or copy {WEIGHTS_URL} to {cache}); or use "
                f"`course.zoo.load('inceptionv1', pretrained=False)` for random weights.") from None
        model.load_state_dict(state)
    return model.eval()
