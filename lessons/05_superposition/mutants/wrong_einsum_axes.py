# Mutant: contracts the hidden axis where the feature axis belongs (W used untransposed). Must fail: ToyModel.forward


def _forward(self, features):
    h = torch.einsum("bif,ihf->bih", features, self.W)  # noqa: F821 - appended to solutions.py
    out = torch.einsum("bih,ihf->bif", h, self.W.flip(-1)) + self.b_final  # noqa: F821
    return torch.relu(out)  # noqa: F821


ToyModel.forward = _forward  # noqa: F821
