# Mutant: takes each latent's best feature (max over the wrong axis). Must fail: mean_max_cosine


def mean_max_cosine(W_dec, features):
    f = features / features.norm(dim=1, keepdim=True)
    w = W_dec / W_dec.norm(dim=1, keepdim=True)
    return (f @ w.T).max(dim=0).values.mean()
