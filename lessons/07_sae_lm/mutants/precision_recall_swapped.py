# Mutant: divides the hits by the property's count for precision and by the unit's for recall. Must fail: precision_recall_f1


def precision_recall_f1(fires, labels):
    hits = fires.float().T @ labels.float()
    recall = hits / fires.float().sum(0).clamp(min=1)[:, None]
    precision = hits / labels.float().sum(0).clamp(min=1)[None, :]
    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
    return {"precision": precision, "recall": recall, "f1": f1}
