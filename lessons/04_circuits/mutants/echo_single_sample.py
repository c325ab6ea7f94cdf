# Mutant: reads only the one sample 180 degrees from the peak, ignoring the window. Must fail: echo_ratio


def echo_ratio(tuning, step, window=45.0):
    a = tuning.shape[-1]
    i = tuning.argmax(dim=-1, keepdim=True)
    peak = tuning.gather(-1, i).squeeze(-1)
    return tuning.gather(-1, (i + a // 2) % a).squeeze(-1) / peak.clamp_min(1e-12)
