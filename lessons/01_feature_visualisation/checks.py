"""Graded checks for lesson 01 (see course.grading.spec). Inputs are drawn fresh from each run's seed.

Images are non-square wherever a shape can be, so swapped height/width or transposed matrices fail; the model
checks use the shipped `scenenet` (built in the sandbox by `course.zoo.load`, or as a model that refuses to run
with hooks left on it); the last two checks are behavioural: they judge what the returned image or model does.
"""

import functools
import hashlib

import torch

from course.grading import Build, Check, Hint, Tol, Verdict

solutions: object  # the reference module, set by the grader

CURVES = [27, 93, 110, 101, 71, 68, 48, 24]  # conv4 curve detectors with clear visualisations
# For exercise 8: units whose 48-step visualisation is reliable. Over 8 seeds of the reference loop, each of these
# reaches at least 0.61 of its best run; conv4:48 does not (0.021-0.210: some runs never find it), so a correct
# loop could fail the bar below on it.
VIS_UNITS = [27, 93, 110, 101, 71, 68, 24]
DECOYS = [0, 2, 12, 37, 3, 8]  # conv3 units with distinctive visualisations (lines, blobs)


def _size(g: torch.Generator, lo: int, hi: int) -> int:
    return int(torch.randint(lo, hi + 1, (), generator=g))


def _close(a, b, tol=1e-4) -> bool:
    return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape and \
        bool(torch.allclose(a.float(), b.float(), rtol=tol, atol=tol))


@functools.lru_cache(maxsize=2)
def _model():
    from course import zoo

    return zoo.load("scenenet", device="cpu")


def _scenenet() -> Build:
    return Build("course.zoo:load", "scenenet", device="cpu")


# ------------------------------------------------------------------------------------------ 1-3. parameterisations


def _raw(g):
    h, w = _size(g, 5, 9), _size(g, 10, 14)
    return {"raw": torch.randn(2, 3, h, w, generator=g) * 3}


def _spectrum(g):
    h, w = _size(g, 6, 13), _size(g, 14, 21)  # odd and even sizes, never square
    return {"spectrum": torch.randn(2, 3, h, w // 2 + 1, 2, generator=g), "height": h, "width": w,
            "decay_power": float(torch.rand((), generator=g)) + 0.5}


def _fft_variant(inputs, scale=True, norm="ortho", magic=4.0):
    s, h, w, p = inputs["spectrum"], inputs["height"], inputs["width"], inputs["decay_power"]
    c = torch.view_as_complex(s.contiguous())
    if scale:
        f = torch.sqrt(torch.fft.rfftfreq(w)[None, :] ** 2 + torch.fft.fftfreq(h)[:, None] ** 2)
        c = c / torch.clamp(f, min=1 / max(h, w)) ** p
    return torch.fft.irfft2(c, s=(h, w), norm=norm) / magic


def _rgb(g, decorrelate=True):
    h, w = _size(g, 4, 7), _size(g, 8, 11)
    return {"image": torch.randn(2, 3, h, w, generator=g) * 2, "decorrelate": decorrelate}


def _rgb_variant(inputs, transpose=False, twice=False, sigmoid=True):
    c = solutions.COLOR_CORRELATION_SVD_SQRT
    m = c / c.norm(dim=0).max()
    if twice:
        m = m / c.norm(dim=0).max()
    if transpose:
        m = m.T
    out = torch.einsum("ij,bjhw->bihw", m, inputs["image"])
    return torch.sigmoid(out) if sigmoid else out


# ------------------------------------------------------------------------------------------ 4-5. transforms


def _smooth(g, b, h, w):
    """Smooth random images (bilinear interpolation is then nearly exact, so only real slips show)."""
    coarse = torch.rand(b, 3, h // 3 + 2, w // 3 + 2, generator=g)
    return torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=True)


def _jitter(g, negative="dx"):
    """Shifts of different sizes; the larger one negative (`negative` says which), the other positive."""
    big, small = int(torch.randint(3, 7, (), generator=g)), int(torch.randint(1, 3, (), generator=g))
    dx, dy = (-big, small) if negative == "dx" else (small, -big)
    return {"images": torch.rand(2, 3, _size(g, 9, 12), _size(g, 14, 17), generator=g), "dx": dx, "dy": dy}


def _shifted(inputs, dx, dy, roll=False):
    x = inputs["images"]
    if roll:
        return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
    return solutions.jitter(x, dx, dy)


def _scale_rotate(g):
    angle = float(torch.rand((), generator=g)) * 40 + 10  # 10..50 degrees, either sign
    if torch.rand((), generator=g) < 0.5:
        angle = -angle
    return {"images": _smooth(g, 2, _size(g, 17, 21), _size(g, 26, 31)),
            "scale": float(torch.rand((), generator=g)) * 0.3 + 1.15, "angle": angle}


def _turned(inputs, scale, angle):
    return solutions.scale_rotate(inputs["images"], scale, angle)


# ------------------------------------------------------------------------------------------ 6-7. objectives


def _channel(g):
    layer = ["conv2", "conv3", "conv4", "conv5"][int(torch.randint(0, 4, (), generator=g))]
    width = {"conv2": 32, "conv3": 64, "conv4": 128, "conv5": 128}[layer]
    return {"model": _scenenet(), "layer": layer, "unit": int(torch.randint(0, width, (), generator=g)),
            "images": torch.rand(3, 3, _size(g, 40, 48), _size(g, 52, 60), generator=g)}


def _activations(g):
    return {"activations": torch.rand(5, 4, _size(g, 3, 4), _size(g, 5, 7), generator=g) ** 2}


def _diversity_variant(inputs, normalise=True, diagonal=False, positions=False):
    a = inputs["activations"]
    flat = a.flatten(2)
    grams = flat.transpose(1, 2) @ flat if positions else flat @ flat.transpose(1, 2)
    if normalise:
        grams = grams / grams.flatten(1).norm(dim=1)[:, None, None]
    sims = torch.einsum("icd,jcd->ij", grams, grams)
    return -(sims.sum() - (0 if diagonal else sims.diagonal().sum())) / a.shape[0]


# ------------------------------------------------------------------------------------------ 8. visualise

VIS = {"steps": 48, "size": 48}


def _visualise_inputs(g):
    return {"model": Build("course.vision.hookguard:guarded", "scenenet", max_hooks=2), "layer": "conv4",
            "unit": VIS_UNITS[int(torch.randint(0, len(VIS_UNITS), (), generator=g))], **VIS}


def _unit_activation(image, layer, unit) -> float:
    """Mean activation of layer:unit on one image (no hooks: several submissions are judged at once)."""
    with torch.no_grad():
        return _model().features(image[None].float())[layer][0, unit].mean().item()


def _visualise_reference(model, layer, unit, steps, size):
    """The reference loop, three times (seeds differ): its activations on the unit."""
    seed = int(torch.randint(0, 2**31, ()))
    acts = []
    for i in range(3):
        torch.manual_seed(seed + i)
        acts.append(_unit_activation(solutions.visualise(model, layer, unit, steps, size), layer, unit))
    return {"activations": acts}


def _judge_visualise(got, inputs, expected) -> Verdict:
    size = inputs["size"]
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != (3, size, size):
        return Verdict(False, f"expected an image of shape (3, {size}, {size}), got "
                              f"{tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__}")
    if not torch.isfinite(got).all() or got.min() < 0 or got.max() > 1:
        return Verdict(False, "the image must hold finite values in [0, 1]: return to_valid_rgb(...)'s output")
    ref = sorted(expected["activations"])
    bar = 0.5 * ref[1]  # half the reference loop's median (a correct loop's runs stay above 0.61 of the best)
    mine = _unit_activation(got, inputs["layer"], inputs["unit"])
    detail = (f"your image drives {inputs['layer']}:{inputs['unit']} to {mine:.3f} (mean over positions); the "
              f"reference loop reaches {ref[0]:.3f}-{ref[2]:.3f} in the same {inputs['steps']} steps")
    if not mine >= bar:
        return Verdict(False, f"{detail}; needs >= {bar:.3f}")
    return Verdict(True, detail)


def _lowered(got, expected, inputs) -> bool:
    return isinstance(got, torch.Tensor) and got.shape == (3, inputs["size"], inputs["size"]) and \
        _unit_activation(got.clamp(0, 1), inputs["layer"], inputs["unit"]) < 0.05 * max(expected["activations"])


# ------------------------------------------------------------------------------------------ 9. fool

FOOL = {"steps": 48, "size": 48, "seed": 3}


def _fool_inputs(g):
    return {"model": _scenenet(), "unit": CURVES[int(torch.randint(0, len(CURVES), (), generator=g))],
            "decoy": DECOYS[int(torch.randint(0, len(DECOYS), (), generator=g))]}


@functools.lru_cache(maxsize=64)
def _own_visualisation(layer: str, unit: int) -> float:
    from course.vision.featurevis import render

    return _unit_activation(render(_model(), layer, [unit], **FOOL)[0], layer, unit)


_FOOLED: dict = {}  # (weights digest, unit, decoy) -> scores: mutants that leave fool alone share one render


def _fooled_scores(fooled, digest: str, unit: int, decoy: int) -> tuple[float, float]:
    from course.vision.featurevis import render

    if (digest, unit, decoy) not in _FOOLED:
        image = render(fooled, "conv4", [unit], **FOOL)[0]
        _FOOLED[(digest, unit, decoy)] = (_unit_activation(image, "conv3", decoy),
                                          _unit_activation(image, "conv4", unit))
    return _FOOLED[(digest, unit, decoy)]


@functools.lru_cache(maxsize=1)
def _model64():
    import copy

    return copy.deepcopy(_model()).double()


def _judge_fool(got, inputs, expected) -> Verdict:
    from course.vision.scenes import Scenes
    from course.vision.surgery import model_from_state

    state = getattr(got, "state_dict", None)
    if not isinstance(state, dict) or "conv4.conv.weight" not in state:
        return Verdict(False, "fool must return the edited SceneNet (built with widen), not " + type(got).__name__)
    try:
        fooled = model_from_state(state)
    except Exception as e:  # noqa: BLE001 - any malformed state
        return Verdict(False, f"the returned model could not be rebuilt from its weights: {e}")
    unit, decoy = inputs["unit"], inputs["decoy"]
    digest = hashlib.sha256(b"".join(k.encode() + v.detach().contiguous().numpy().tobytes()
                                     for k, v in sorted(state.items()))).hexdigest()
    start = 50_000_000 + int(digest[:8], 16) % 1_000_000  # fresh scenes, never the ones a learner tuned on
    x, _ = Scenes().batch(range(start, start + 48))
    with torch.no_grad():  # float64: a construction that is exact on paper differs by rounding only
        import copy

        diff = (copy.deepcopy(fooled).double()(x.double()) - _model64()(x.double())).abs().max().item()
    if not diff <= 1e-5:
        return Verdict(False, f"the edited model's outputs on natural scenes changed (largest difference {diff:.3g} on "
                              f"48 scenes from {start}): every class score must stay exactly as it was")
    shown_decoy, shown_unit = _fooled_scores(fooled, digest, unit, decoy)
    own_decoy, own_unit = _own_visualisation("conv3", decoy), _own_visualisation("conv4", unit)
    detail = (f"the new visualisation of conv4:{unit} excites conv3:{decoy} {shown_decoy / own_decoy:.0%} as much as "
              f"its own visualisation does, and the original conv4:{unit} {shown_unit / own_unit:.0%} as much as "
              "its own")
    if shown_decoy < 0.5 * own_decoy:
        return Verdict(False, f"outputs unchanged, but {detail}: the picture should show the decoy (>= 50%)")
    if shown_unit > 0.3 * own_unit:
        return Verdict(False, f"outputs unchanged, but {detail}: the picture still shows the original unit (<= 30%)")
    return Verdict(True, f"outputs unchanged (largest difference {diff:.1g}); {detail}")


JITTER_HINTS = [
    Hint(lambda got, exp, inp: _close(got, _shifted(inp, inp["dx"], inp["dy"], roll=True)),
         "torch.roll wraps pixels round to the other side; jitter must bring in zeros."),
    Hint(lambda got, exp, inp: _close(got, _shifted(inp, inp["dy"], inp["dx"])),
         "dx and dy are swapped: dx moves along the width (the last axis)."),
    Hint(lambda got, exp, inp: _close(got, _shifted(inp, -inp["dx"], -inp["dy"])),
         "The shift goes the wrong way: a positive dx moves the picture right."),
    Hint(lambda got, exp, inp: isinstance(got, torch.Tensor) and got.shape != exp.shape,
         "The result must keep the images' size, whichever way and however far they move."),
]

CHECKS = [
    Check("pixel_image", points=1, inputs=_raw, title="1. pixel_image",
          hints=[Hint(lambda got, exp, inp: _close(got, inp["raw"].clamp(0, 1)),
                      "Clamping gives no gradient to pixels outside [0, 1]: use a sigmoid.")]),
    Check("fft_image", points=2, inputs=_spectrum, tol=Tol(1e-4, 1e-6), title="2. fft_image",
          hints=[Hint(lambda got, exp, inp: _close(got, _fft_variant(inp, scale=False)),
                      "Your image is the inverse FFT without the 1/f scale: multiply each coefficient by "
                      "1 / max(f, 1 / max(height, width)) ** decay_power before transforming."),
                 Hint(lambda got, exp, inp: _close(got, _fft_variant(inp, magic=1.0)),
                      "Off by a factor 4: divide by Lucid's magic constant 4."),
                 Hint(lambda got, exp, inp: any(_close(got, _fft_variant(inp, norm=n))
                                                for n in ("backward", "forward")),
                      "Use norm=\"ortho\" in the inverse FFT (the scale of the image depends on it).")]),
    Check("to_valid_rgb", points=1, inputs=_rgb, tol=Tol(1e-5, 1e-6), title="3a. to_valid_rgb, decorrelated",
          hints=[Hint(lambda got, exp, inp: _close(got, _rgb_variant(inp, transpose=True)),
                      "You multiplied by the transpose: out = M @ pixel, with M's columns the decorrelated channels."),
                 Hint(lambda got, exp, inp: _close(got, _rgb_variant(inp, twice=True)),
                      "The colours are normalised twice: divide the matrix by its largest column norm once."),
                 Hint(lambda got, exp, inp: _close(got, _rgb_variant(inp, sigmoid=False)),
                      "Finish with a sigmoid, so the image lies in (0, 1).")]),
    Check("to_valid_rgb", points=1, inputs=lambda g: _rgb(g, decorrelate=False), tol=Tol(1e-5, 1e-6),
          title="3b. to_valid_rgb, not decorrelated",
          hints=[Hint(lambda got, exp, inp: _close(got, _rgb_variant(inp)),
                      "With decorrelate=False the colours go straight into the sigmoid.")]),
    *[Check("jitter", points=0.5, inputs=lambda g, n=n: _jitter(g, n), title=f"4{t}. jitter, {n} < 0",
            hints=JITTER_HINTS) for t, n in (("a", "dx"), ("b", "dy"))],
    Check("scale_rotate", points=2, inputs=_scale_rotate, tol=Tol(1e-4, 1e-4), title="5. scale_rotate",
          hints=[Hint(lambda got, exp, inp: _close(got, _turned(inp, inp["scale"], -inp["angle"]), 1e-3),
                      "It turns the wrong way: positive angles turn the picture counter-clockwise as displayed "
                      "(y points down, so flip the sign of sin)."),
                 Hint(lambda got, exp, inp: _close(got, _turned(inp, 1 / inp["scale"], inp["angle"]), 1e-3),
                      "It zooms the wrong way: scale > 1 should make things bigger (the grid samples the input "
                      "at positions divided by scale)."),
                 Hint(lambda got, exp, inp: isinstance(got, torch.Tensor) and got.shape == exp.shape
                      and bool((got - exp).abs().max() > 1e-3),
                      "For a non-square image the rotation in normalised coordinates needs the aspect ratio: "
                      "the off-diagonal entries of theta are -sin * b / (a * scale) and sin * a / (b * scale).")]),
    Check("channel_objective", points=1, inputs=_channel, tol=Tol(1e-4, 1e-5), title="6. channel_objective",
          hints=[Hint(lambda got, exp, inp: isinstance(got, torch.Tensor) and got.shape != exp.shape,
                      "Return one number per image: the mean over the unit's feature map (the last two axes).")]),
    Check("diversity", points=2, inputs=_activations, tol=Tol(1e-5, 1e-6), title="7. diversity",
          hints=[Hint(lambda got, exp, inp: _close(got, _diversity_variant(inp, normalise=False), 1e-5),
                      "Scale each Gram matrix to unit Frobenius norm before comparing them."),
                 Hint(lambda got, exp, inp: _close(got, _diversity_variant(inp, diagonal=True), 1e-5),
                      "Leave out the pairs i == j (an image compared with itself)."),
                 Hint(lambda got, exp, inp: _close(got, -_diversity_variant(inp), 1e-5),
                      "The sign is flipped: diversity is MINUS the summed similarity."),
                 Hint(lambda got, exp, inp: _close(got, _diversity_variant(inp, positions=True), 1e-5),
                      "The Gram matrix is over channels (C x C), not positions.")]),
    Check("visualise", points=3, inputs=_visualise_inputs, reference=_visualise_reference, judge=_judge_visualise,
          timeout=120, title="8. visualise: reaches the reference's activation",
          hints=[Hint(_lowered, "Your picture switches the unit off: Adam minimises, so minimise MINUS the "
                                "objective.")]),
    Check("fool", points=3, inputs=_fool_inputs, reference=False, judge=_judge_fool, timeout=60,
          title="9. fool: outputs unchanged, the picture shows the decoy"),
]
