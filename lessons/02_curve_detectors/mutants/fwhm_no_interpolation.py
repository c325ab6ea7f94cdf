# Mutant: counts whole steps to the first sample below half the peak (no interpolation). Must fail: tuning_width
import torch


def tuning_width(tuning, step):
    a = tuning.shape[-1]
    out = []
    for row in tuning:
        i = int(row.argmax())
        half = float(row[i]) / 2
        width = 0.0
        for direction in (1, -1):
            for j in range(1, a // 2 + 1):
                if float(row[(i + direction * j) % a]) < half:
                    width += step * j
                    break
            else:
                width = 360.0
                break
        out.append(min(width, 360.0))
    return torch.tensor(out)
