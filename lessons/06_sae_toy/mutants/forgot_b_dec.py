# Mutant: encodes x without subtracting b_dec first. Must fail: SAE.forward


def _forward(self, x):
    pre = x @ self.W_enc + self.b_enc
    acts = self.activation(pre)
    return acts @ self.W_dec + self.b_dec, acts


SAE.forward = _forward  # noqa: F821 - appended to solutions.py
