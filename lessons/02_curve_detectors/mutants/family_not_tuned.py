# Mutant: leaves out the tuning test (below half the peak within 60 degrees either side). Must fail: find_family


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
        near = [(i + j) % a for j in range(-int(30 // step), int(30 // step) + 1)]
        held = [q for q in range(n_radii) if float(curves[u, p, q, near].max()) >= max(2 * line, floor)]
        if len(held) >= 2:
            family.append(u)
    return family
