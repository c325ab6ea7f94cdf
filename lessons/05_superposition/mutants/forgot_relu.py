# Mutant: forgets the ReLU on the output. Must fail: ToyModel.forward


def _forward(self, features):
    h = torch.einsum("bif,ihf->bih", features, self.W)  # noqa: F821 - appended to solutions.py
    return torch.einsum("bih,ihf->bif", h, self.W) + self.b_final  # noqa: F821


ToyModel.forward = _forward  # noqa: F821
