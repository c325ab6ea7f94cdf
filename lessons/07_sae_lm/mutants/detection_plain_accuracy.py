# Mutant: reports plain accuracy, which rewards a rule for calling most contexts quiet. Must fail: detection_scores
import torch


def detection_scores(rule, acts, n_bins=5):
    peak_per = acts.max(dim=1).values
    activating = peak_per > 0
    predicted = rule.any(dim=1)
    peak = peak_per.max()
    slice_of = (torch.ceil(peak_per / peak * n_bins) - 1).clamp(0, n_bins - 1).long()
    recall_by_bin = torch.stack([predicted[activating & (slice_of == b)].float().mean() for b in range(n_bins)])
    recall = predicted[activating].float().mean().item()
    fpr = predicted[~activating].float().mean().item()
    return {"recall_by_bin": recall_by_bin, "recall": recall, "false_positive_rate": fpr,
            "balanced_accuracy": (predicted == activating).float().mean().item()}
