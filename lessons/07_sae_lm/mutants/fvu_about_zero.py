# Mutant: FVU with the total sum of squares about zero instead of about the mean. Must fail: fvu


def fvu(x, x_hat):
    return (((x - x_hat) ** 2).sum() / (x**2).sum()).item()
