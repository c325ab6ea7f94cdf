# Mutant: takes y as pointing up (direction (cos t, sin t)), so every arc is mirrored. Must fail: arc_taps


def arc_taps(orientation, radius, spacing, span, size=3):
    t = math.radians(orientation)  # noqa: F821 - appended to solutions.py
    ux, uy = math.cos(t), math.sin(t)  # noqa: F821
    cx, cy = -radius * ux, -radius * uy
    distance = torch.full((size, size), math.inf)  # noqa: F821
    tangent = torch.zeros(size, size)  # noqa: F821
    half = size // 2
    for i in range(size):
        for j in range(size):
            qx, qy = (j - half) * spacing - cx, (i - half) * spacing - cy
            angle = math.degrees(math.atan2(abs(qx * uy - qy * ux), qx * ux + qy * uy))  # noqa: F821
            if angle <= span / 2:
                distance[i, j] = abs(math.hypot(qx, qy) - radius)  # noqa: F821
                tangent[i, j] = (math.degrees(math.atan2(-qy, qx)) + 90) % 180  # noqa: F821
    return distance, tangent
