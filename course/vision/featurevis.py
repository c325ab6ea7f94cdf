"""Feature visualisation: optimise images until a unit fires, many units in one batched optimisation.

Built on lucent's parameterisations (`fft_image`, `pixel_image`, `to_valid_rgb`), objectives (`Objective`,
`wrap_objective`) and transforms (`pad`, `jitter`, `random_scale`, `random_rotate`), with the defaults of
Lucid/Lucent (Olah, Mordvintsev and Schubert, "Feature Visualization", Distill 2017): an FFT parameterisation
whose spectrum is scaled by 1/f, decorrelated colour, a sigmoid, Adam at lr 0.05, and the standard transforms.
Lucent itself leaves a forward hook on every module per `render_vis` call, picks its device when imported,
opens an image window by default, upsamples small images to 224 px and renders one unit per call; `render`
does none of that:

    images = render(model, "conv4", [27, 93, 101])   # (3, 3, 64, 64) in [0, 1]: image b excites conv4:units[b]

* One optimisation renders all requested units at once (chunks of `batch`); image b is scored by the mean
  activation of channel units[b] over the feature map (lucent's "layer:unit" objective).
* Hooks go on the copy's visualised layer only and are removed on return, error or KeyboardInterrupt; the
  forward pass stops at that layer; gradients flow to the image only.
* The model is never touched: the optimisation runs on a private eval-mode copy (a model shared by several
  app sessions can be rendered by all of them at once), on the model's device, which `course.zoo.load` took
  from `course.device`. A model in training mode gets a warning (its copy is put in eval mode).
* Same `seed`, same pixels on the CPU: lucent draws from torch's and NumPy's global generators, so both are
  seeded for the call and restored after (calls are serialised by a lock, which also guards lucent's globals).
* No windows, no prints: progress goes to `progress(fraction, text)` if given (the CLI draws tqdm, the app
  `st.progress`). Images are returned on the CPU.

`render`'s signature is stable: lessons 02-04 make their figures with it, e.g. every curve detector at once,
`render(model, "conv4", curve_units, steps=256)`, or four diverse pictures of one unit,
`render(model, "conv4", [93] * 4, diversity=5.0)`. The pieces (`make_transforms`, the `channels` and
`grouped_diversity` objectives, `capture`/`run`, `private_copy`, `receptive_field`) are public for lessons that
need a variation; `course.vision.fvgrid` draws labelled grids and is the `course featurevis` command.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import warnings
import weakref
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from course.errors import UsageError

with warnings.catch_warnings():  # kornia 0.4.1 (lucent's) warns about torch.jit.script when imported
    warnings.simplefilter("ignore")
    from lucent.optvis import objectives as lobj
    from lucent.optvis import transform as ltf
    from lucent.optvis.param import color as lcolor
    from lucent.optvis.param import spatial as lspatial

Progress = Callable[..., None]  # progress(fraction in [0, 1], text=None)

TRANSFORMS = ("pad", "jitter", "scale", "rotate")  # the standard transforms, in lucent's order
SCALES = [1 + (i - 5) / 50.0 for i in range(11)]  # 0.90 .. 1.10 in steps of 0.02 (lucent's standard_transforms)
ANGLES = list(range(-10, 11)) + 5 * [0]  # degrees; 0 weighted 5x extra (lucent's)
LR = 5e-2  # Adam's learning rate, lucent's default
_LOCK = threading.RLock()  # lucent's module globals and the global RNGs are shared by all threads
_RF_CACHE: "weakref.WeakKeyDictionary[nn.Module, dict]" = weakref.WeakKeyDictionary()


class _Stop(Exception):
    """Raised by the hook once the visualised layer has run: nothing after it is needed."""


# ------------------------------------------------------------------------------------------------ pieces


def make_transforms(transforms: str | Iterable | None = "standard") -> list[Callable[[Tensor], Tensor]]:
    """Lucent's transforms by name: "standard" (= pad, jitter, scale, rotate), "none"/None, or a list of
    names from TRANSFORMS and/or callables (image batch -> image batch). "jitter" is lucent's jitter(8) before
    scaling and jitter(4) at the end."""
    if transforms is None or transforms == "none":
        return []
    if isinstance(transforms, str):
        if transforms != "standard":
            raise UsageError(f"transforms={transforms!r}: use 'standard', 'none' or a list of {', '.join(TRANSFORMS)}.")
        transforms = TRANSFORMS
    out, names = [], list(transforms)
    bad = [t for t in names if not callable(t) and t not in TRANSFORMS]
    if bad:
        raise UsageError(f"Unknown transforms {bad}: choose from {', '.join(TRANSFORMS)} (or pass callables).")
    if "pad" in names:
        out.append(ltf.pad(12, mode="constant", constant_value=0.5))
    if "jitter" in names:
        out.append(ltf.jitter(8))
    if "scale" in names:
        out.append(ltf.random_scale(SCALES))
    if "rotate" in names:
        out.append(ltf.random_rotate(ANGLES))
    if "jitter" in names:
        out.append(ltf.jitter(4))
    return out + [t for t in names if callable(t)]


@lobj.wrap_objective()
def channels(layer: str, units: Sequence[int]):
    """Lucent objective: image b's mean activation of channel units[b] of `layer`, summed over images (negated,
    as lucent objectives are minimised). Summing keeps each image's gradient independent of the others."""
    idx = torch.as_tensor(list(units))

    def inner(T):
        act = T(layer)  # (B, C, h, w)
        return -act[torch.arange(len(idx), device=act.device), idx.to(act.device)].mean((-2, -1)).sum()

    return inner


@lobj.wrap_objective()
def grouped_diversity(layer: str, units: Sequence[int]):
    """Lucent's `diversity` (minus the summed cosine similarity of the images' Gram matrices over the batch
    size), computed only among images of the same unit, vectorised: -sum_{i != j, same unit} <G_i, G_j> / B."""
    same = torch.as_tensor(list(units))
    same = (same[:, None] == same[None, :]) & ~torch.eye(len(same), dtype=torch.bool)

    def inner(T):
        act = T(layer)
        flat = act.flatten(2)  # (B, C, h*w)
        grams = torch.nn.functional.normalize(flat @ flat.transpose(1, 2), p=2, dim=(1, 2)).flatten(1)  # (B, C*C)
        sim = grams @ grams.T  # (B, B)
        return -(sim * same.to(sim.device)).sum() / act.shape[0]

    return inner


def _decorrelate_on(device: torch.device):
    matrix = torch.tensor(lcolor.color_correlation_normalized.T, device=device)

    def linear_decorrelate_color(tensor: Tensor) -> Tensor:  # lucent's, on our device instead of "cuda if any"
        return (tensor.permute(0, 2, 3, 1) @ matrix).permute(0, 3, 1, 2)

    return linear_decorrelate_color


@contextlib.contextmanager
def lucent_on(device: torch.device, seed: int | None = None):
    """Within the block lucent makes its tensors on `device` and, with a `seed`, draws from seeded global
    generators (torch's CPU generator for initial images, NumPy's for the transforms); all restored on exit."""
    with _LOCK:
        saved = (lspatial.device, ltf.device, lcolor._linear_decorrelate_color)
        np_state = np.random.get_state()
        lspatial.device = ltf.device = device
        lcolor._linear_decorrelate_color = _decorrelate_on(device)
        try:
            with torch.random.fork_rng(devices=[]):
                if seed is not None:
                    torch.default_generator.manual_seed(seed)
                    np.random.seed(seed % 2**32)
                yield
        finally:
            lspatial.device, ltf.device, lcolor._linear_decorrelate_color = saved
            np.random.set_state(np_state)


@contextlib.contextmanager
def capture(model: nn.Module, layer: str, stop: bool = True):
    """Within the block, `store[layer]` is the layer's latest output; with `stop`, the forward pass ends there
    (catch `StopForward` with `run`). The hook is removed on exit, whatever happens."""
    module = dict(model.named_modules())[layer]
    store: dict[str, Tensor] = {}

    def hook(m, i, o):
        store[layer] = o
        if stop:
            raise _Stop

    handle = module.register_forward_hook(hook)
    try:
        yield store
    finally:
        handle.remove()


def run(model: nn.Module, x: Tensor) -> None:
    """model(x), ended early by a `capture(..., stop=True)` hook."""
    try:
        model(x)
    except _Stop:
        pass


# ------------------------------------------------------------------------------------------------ checks


def layer_names(model: nn.Module) -> list[str]:
    """The layers a user would name: `model.layers` where the model lists them, else every named submodule."""
    listed = getattr(model, "layers", None)
    return list(listed) if listed else [n for n, _ in model.named_modules() if n]


def layer_width(model: nn.Module, layer: str, size: int = 64) -> int:
    """How many channels (units) `layer` has, from one small forward pass."""
    work = private_copy(model)
    with capture(work, layer) as store, torch.no_grad():
        run(work, torch.full((1, 3, size, size), 0.5, device=_device(work)))
    return int(store[layer].shape[1])


def receptive_field(model: nn.Module, layer: str, probe: int = 128) -> int:
    """Side in pixels of the input region that can change `layer`'s centre unit (support of its input
    gradient on a `probe`-pixel image; `probe` itself when it is bigger). Cached per model and layer."""
    cache = _RF_CACHE.setdefault(model, {})
    if (layer, probe) not in cache:
        work = private_copy(model)
        x = torch.rand(2, 3, probe, probe, generator=torch.Generator().manual_seed(0)).to(_device(work))
        x.requires_grad_(True)
        with capture(work, layer) as store:
            run(work, x)
            act = store[layer]
            h, w = act.shape[-2:]
            (grad,) = torch.autograd.grad(act[:, :, h // 2, w // 2].sum(), x)
        support = grad.abs().sum((0, 1)) > 0
        rows, cols = support.any(1).nonzero().flatten(), support.any(0).nonzero().flatten()
        cache[(layer, probe)] = int(max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)) if len(rows) else 0
    return cache[(layer, probe)]


def check_request(model: nn.Module, layer: str, units: Sequence[int], size: int) -> int:
    """Raise a UsageError for an unknown layer or a unit out of range; warn when `size` is smaller than the
    layer's receptive field. Returns the layer's width."""
    names = layer_names(model)
    if layer not in dict(model.named_modules()) or not layer:
        raise UsageError(f"{type(model).__name__} has no layer {layer!r}. Its layers: {', '.join(names)}. "
                         "Name one of them, e.g. render(model, 'conv4', [93]) or "
                         "`course featurevis scenenet conv4 93`.")
    width = layer_width(model, layer)
    bad = [u for u in units if not 0 <= int(u) < width]
    if bad or not units:
        raise UsageError(f"{layer} has {width} units, numbered 0 to {width - 1}; "
                         f"{'no units were asked for' if not units else f'{bad} is out of range'}.")
    rf = receptive_field(model, layer, probe=max(128, 2 * size))
    if rf > size:
        warnings.warn(f"{layer}'s receptive field is {rf} px, larger than the {size} px image: the picture shows "
                      f"only part of what a unit sees. Use size >= {rf}.", stacklevel=3)
    return width


def _device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    if p is not None:
        return p.device
    from course.device import get_device

    return get_device()


# ------------------------------------------------------------------------------------------------ render


def render(model: nn.Module, layer: str, units: int | Sequence[int], *, steps: int = 256, size: int = 64,
           param: str = "fft", decorrelate: bool = True, transforms: str | Iterable | None = "standard",
           diversity: float = 0.0, negative: bool = False, seed: int = 0, batch: int | None = None,
           progress: Progress | None = None) -> Tensor:
    """Feature visualisations of `layer`'s `units`: (len(units), 3, size, size) in [0, 1], on the CPU.

    model:       any nn.Module taking (N, 3, H, W) in [0, 1] (the zoo's models normalise inside); it is left
                 exactly as it was (no hooks, same mode, no gradients accumulated).
    layer, units: a module name ("conv4") and unit indices; image b maximises units[b]. Repeat a unit to get
                 several images of it (with `diversity` > 0 they are pushed apart).
    steps:       Adam steps (lr 0.05). size: image side in pixels (warns below the layer's receptive field).
    param:       "fft" (lucent's fft_image: spectrum scaled by 1/f, then / 4) or "pixel" (raw pixels).
    decorrelate: colour through lucent's decorrelation matrix before the sigmoid.
    transforms:  "standard" (pad 12, jitter 8, scale 0.9-1.1, rotate +-10 deg, jitter 4), "none", or a list
                 of names from TRANSFORMS and/or callables.
    diversity:   weight of lucent's diversity term among images of the same unit (try 1-10 on scenenet).
    negative:    minimise instead: the images that most *inhibit* the units.
    seed:        initial images and transforms; the same seed gives the same pixels on the CPU.
    batch:       units per optimisation (None: all at once); copies of one unit should share a chunk.
    progress:    progress(fraction, text) after every step.
    """
    units = [int(units)] if isinstance(units, (int, np.integer)) else [int(u) for u in units]
    if param not in ("fft", "pixel"):
        raise UsageError(f"param={param!r}: use 'fft' (lucent's default) or 'pixel'.")
    if steps < 0 or size < 8:
        raise UsageError(f"steps must be >= 0 and size >= 8 (got steps={steps}, size={size}).")
    if model.training:
        warnings.warn("The model is in training mode; the render uses an eval-mode copy (the model is unchanged).",
                      stacklevel=2)
    check_request(model, layer, units, size)
    work = private_copy(model)  # hooks go on this copy only: other threads may be using `model` right now
    device, n = _device(work), len(units)
    batch = n if not batch or batch <= 0 else min(batch, n)
    chunks = [list(range(i, min(n, i + batch))) for i in range(0, n, batch)]
    out = torch.empty(n, 3, size, size)
    with lucent_on(device, seed):
        init = _initial(param, n, size)  # drawn for all units at once: a unit's start doesn't depend on `batch`
        for c, idx in enumerate(chunks):
            np.random.seed((seed + 1) % 2**32)  # each chunk sees the same transforms: chunking changes nothing
            out[idx] = _optimise(work, layer, [units[i] for i in idx], init[idx], steps, param, decorrelate,
                                 make_transforms(transforms), diversity, negative, progress, (c, len(chunks)))
    return out


def private_copy(model: nn.Module) -> nn.Module:
    """An eval-mode copy of `model` whose parameters need no gradient: the optimisation hooks and runs it, so the
    caller's model (perhaps shared by several app sessions at once) never carries a hook, even for a moment."""
    return copy.deepcopy(model).eval().requires_grad_(False)


def _initial(param: str, n: int, size: int) -> Tensor:
    shape = (n, 3, size, size)
    params, _ = lspatial.fft_image(shape) if param == "fft" else lspatial.pixel_image(shape)
    return params[0].detach().clone()


def _optimise(model, layer, units, init, steps, param, decorrelate, transforms, diversity, negative, progress,
              chunk) -> Tensor:
    size = init.shape[2]  # (n, 3, size, ...) for both parameterisations
    shape = (len(units), 3, size, size)
    params, image_f = lspatial.fft_image(shape) if param == "fft" else lspatial.pixel_image(shape)
    with torch.no_grad():
        params[0].copy_(init)
    image_f = lcolor.to_valid_rgb(image_f, decorrelate=decorrelate)
    objective = channels(layer, units)
    if diversity:
        objective = objective - diversity * grouped_diversity(layer, units)
    if negative:
        objective = -1 * objective
    transform_f = ltf.compose(transforms)
    opt = torch.optim.Adam(params, lr=LR)
    with capture(model, layer) as store:
        T = lambda name: image_f() if name == "input" else store[name]  # noqa: E731 - lucent's "T"
        for step in range(steps):
            run(model, transform_f(image_f()))
            loss = objective(T)
            (params[0].grad,) = torch.autograd.grad(loss, params)
            opt.step()
            if progress is not None:
                done = (chunk[0] * steps + step + 1) / (chunk[1] * steps)
                where = f", batch {chunk[0] + 1}/{chunk[1]}" if chunk[1] > 1 else ""
                progress(done, f"step {step + 1}/{steps}{where}")
    with torch.no_grad():
        return image_f().detach().float().cpu()
