"""Lesson 01 promises hints for the slips learners make: each slip, graded, must lose its points and show the
promised words in its message or hint. Only the slipped exercises' checks run, to keep this quick."""

from __future__ import annotations

import pytest

from course.grading.grader import Grader
from course.lessons import REPO_ROOT, find_lesson
from course.markers import replace_solution

LOOP = """
spectrum = (torch.randn(1, 3, size, size // 2 + 1, 2) * 0.01).requires_grad_(True)
opt = torch.optim.Adam([spectrum], lr=lr)
for _ in range(steps):
    x = F.pad(to_valid_rgb(fft_image(spectrum, size, size)), (12, 12, 12, 12), value=0.5)
    loss = {sign}channel_objective(model, layer, unit, x).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
return to_valid_rgb(fft_image(spectrum, size, size))[0].detach()
"""

SLIPS = {
    # slip: (exercise, function, wrong body, words the message or hint must contain)
    "clamp instead of sigmoid": ("pixel_image", "pixel_image", "return raw.clamp(0, 1)", "sigmoid"),
    "no 1/f scale": ("fft_image", "fft_image", """
        c = torch.view_as_complex(spectrum.contiguous())
        return torch.fft.irfft2(c, s=(height, width), norm="ortho") / 4.0
        """, "without the 1/f scale"),
    "no magic 4": ("fft_image", "fft_image", """
        fy = torch.fft.fftfreq(height)[:, None]
        fx = torch.fft.rfftfreq(width)[None, :]
        scale = 1.0 / torch.clamp(torch.sqrt(fx * fx + fy * fy), min=1.0 / max(height, width)) ** decay_power
        return torch.fft.irfft2(torch.view_as_complex(spectrum.contiguous()) * scale, s=(height, width), norm="ortho")
        """, "factor 4"),
    "colour normalised twice": ("to_valid_rgb", "to_valid_rgb", """
        if decorrelate:
            n = COLOR_CORRELATION_SVD_SQRT.norm(dim=0).max()
            image = torch.einsum("ij,bjhw->bihw", COLOR_CORRELATION_SVD_SQRT / n / n, image)
        return torch.sigmoid(image)
        """, "normalised twice"),
    "colour matrix transposed": ("to_valid_rgb", "to_valid_rgb", """
        if decorrelate:
            m = COLOR_CORRELATION_SVD_SQRT / COLOR_CORRELATION_SVD_SQRT.norm(dim=0).max()
            image = torch.einsum("ji,bjhw->bihw", m, image)
        return torch.sigmoid(image)
        """, "transpose"),
    "jitter with roll": ("jitter", "jitter", "return torch.roll(images, shifts=(dy, dx), dims=(-2, -1))", "wraps"),
    "rotates clockwise": ("scale_rotate", "scale_rotate", """
        B, C, H, W = images.shape
        a, b = (W - 1) / 2, (H - 1) / 2
        cos, sin = math.cos(math.radians(-angle)), math.sin(math.radians(-angle))
        theta = torch.tensor([[cos / scale, -sin * b / (a * scale), 0.0], [sin * a / (b * scale), cos / scale, 0.0]])
        grid = F.affine_grid(theta.expand(B, 2, 3), [B, C, H, W], align_corners=True)
        return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
        """, "wrong way"),
    "diversity keeps i == j": ("diversity", "diversity", """
        flat = activations.flatten(2)
        grams = flat @ flat.transpose(1, 2)
        grams = grams / grams.flatten(1).norm(dim=1)[:, None, None]
        return -torch.einsum("icd,jcd->ij", grams, grams).sum() / activations.shape[0]
        """, "i == j"),
    "diversity unnormalised": ("diversity", "diversity", """
        flat = activations.flatten(2)
        grams = flat @ flat.transpose(1, 2)
        s = torch.einsum("icd,jcd->ij", grams, grams)
        return -(s.sum() - s.diagonal().sum()) / activations.shape[0]
        """, "unit Frobenius norm"),
    "maximising the negative": ("visualise", "visualise", LOOP.format(sign=""), "MINUS the objective"),
    "hooks left on": ("visualise", "channel_objective", """
        store = {}
        dict(model.named_modules())[layer].register_forward_hook(lambda m, i, o: store.__setitem__("out", o))
        model(images)
        return store["out"][:, unit].mean(dim=(-2, -1))
        """, "hooks from earlier calls were never removed"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    lesson = find_lesson("01", REPO_ROOT / "lessons")
    folder = tmp_path_factory.mktemp("slips")
    paths = []
    for i, (exercise, function, body, _) in enumerate(SLIPS.values()):
        paths.append(folder / f"slip{i}.py")
        paths[-1].write_text(replace_solution(lesson.solutions_path.read_text(), function, body))
    wanted = {exercise for exercise, *_ in SLIPS.values()}
    with Grader(lesson, seed=11) as grader:
        grader.checks = [c for c in grader.checks if c.exercise in wanted]
        results = grader.grade_many(paths, jobs=2)
    return dict(zip(SLIPS, results))


@pytest.mark.parametrize("slip", list(SLIPS))
def test_promised_hint_appears(slip, graded):
    exercise, _, _, words = SLIPS[slip]
    checks = [c for c in graded[slip].checks if c.exercise == exercise]
    assert checks and not all(c.passed for c in checks), f"the slip {slip!r} passed"
    said = " ".join(c.message + " " + c.hint for c in checks if not c.passed)
    assert words in said, said
