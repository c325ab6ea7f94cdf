# Mutant: the echo is the response at exactly the opposite sample (no window). Must fail: echo_ratio
import torch


def echo_ratio(tuning, step, window=45.0):
    a = tuning.shape[-1]
    i = tuning.argmax(-1, keepdim=True)
    peak = tuning.gather(-1, i).squeeze(-1)
    return tuning.gather(-1, (i + a // 2) % a).squeeze(-1) / peak.clamp_min(1e-12)
