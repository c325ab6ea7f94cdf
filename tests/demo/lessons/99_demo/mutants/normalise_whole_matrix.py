# Mutant: divides by the norm of the whole matrix, not each row's. Must fail: normalise, cosine_similarity_matrix


def normalise(x):
    return x / x.norm()
