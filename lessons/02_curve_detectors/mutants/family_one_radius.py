# Mutant: leaves out the radius test (a curve detector must hold at >= 2 radii). Must fail: find_family


def find_family(curves, lines, radii, step, floor):
    family = []
    n_radii, a = curves.shape[2], curves.shape[3]
    for u in range(len(curves)):
        line = float(lines[u].max())
        p, rest = divmod(int(curves[u].argmax()), n_radii * a)
        r, i = divmod(rest, a)
        peak = float(curves[u, p, r, i])
        if peak < floor or peak < 2 * line:
            continue
        tuning = curves[u, p, r]
        k = int(60 // step)
        right = tuning[[(i + j) % a for j in range(1, k + 1)]].min()
        left = tuning[[(i - j) % a for j in range(1, k + 1)]].min()
        if right < peak / 2 and left < peak / 2:
            family.append(u)
    return family
