# Mutant: the k best positions over all scenes, so a scene can appear twice. Must fail: top_examples
import torch


def top_examples(acts, k):
    h, w = acts.shape[-2:]
    values, flat = acts.flatten().topk(k)
    per_scene = h * w
    where = torch.stack([flat // per_scene, (flat % per_scene) // w, flat % w], 1)
    return values, where
