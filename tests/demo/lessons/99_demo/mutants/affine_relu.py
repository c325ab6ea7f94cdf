# Mutant: a ReLU where the affine map has none. Must fail: Affine.forward


def _forward(self, x):
    return (x @ self.W.T + self.b).relu()


Affine.forward = _forward  # noqa: F821 - appended to solutions.py, where Affine exists
