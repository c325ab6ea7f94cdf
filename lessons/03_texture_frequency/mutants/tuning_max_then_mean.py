# Mutant: takes the best orientation for each phase, then averages over phase. Must fail: frequency_tuning


def frequency_tuning(responses):
    return responses.amax(dim=2).mean(dim=2)
