"""Stimuli: conventions (orientation counter-clockwise, y down), values pixel by pixel, batching, determinism."""

import math

import pytest
import torch

from course.vision import stimuli as S


def grey(img):
    assert img.shape[1] == 3 and torch.equal(img[:, 0], img[:, 1]) and torch.equal(img[:, 0], img[:, 2])
    return img[:, 0]


def test_shapes_range_and_sizes():
    for img in (S.line(0), S.edge(0), S.curve(0, 8), S.grating(0.1, 0), S.texture(0.2), S.high_low(0), S.uniform()):
        assert img.shape == (1, 3, 64, 64) and img.dtype == torch.float32
        assert 0 <= img.min() and img.max() <= 1
    assert S.line([0, 45, 90], size=(20, 30)).shape == (3, 3, 20, 30)
    with pytest.raises(ValueError, match="batch sizes"):
        S.curve([0, 90], [4, 8, 12])


def test_line_pixels():
    img = grey(S.line(0, size=8, width=2, contrast=-1))[0]  # black horizontal bar through the centre, on white
    expected = torch.ones(8, 8)
    expected[3:5] = 0  # rows whose centres are 0.5 px from the centre line (y = 4)
    assert torch.allclose(img, expected, atol=1e-5)
    vertical = grey(S.line(90, size=8, width=2, contrast=1))[0]  # white on black
    assert torch.allclose(vertical, 1 - expected.T, atol=1e-5)
    assert torch.allclose(S.line(0), S.line(180), atol=1e-4)  # a line's orientation is mod 180


def test_orientation_is_counter_clockwise_with_y_down():
    # a line at 45 degrees rises to the right: the top-right and bottom-left corners are on it
    img = grey(S.line(45, size=9, width=1, contrast=1))[0]
    assert img[0, 8] > 0.99 and img[8, 0] > 0.99 and img[0, 0] < 0.01 and img[8, 8] < 0.01
    # edges: orientation points to the light side
    up = grey(S.edge(90, size=8))[0]
    assert torch.allclose(up[:4], torch.ones(4, 8), atol=1e-5) and torch.allclose(up[4:], torch.zeros(4, 8), atol=1e-5)
    right = grey(S.edge(0, size=8))[0]
    assert torch.allclose(right[:, 4:], torch.ones(8, 4), atol=1e-5)
    assert torch.allclose(right[:, :4], torch.zeros(8, 4), atol=1e-5)


def test_curve_geometry():
    # convex side up (90): the arc's midpoint is at the centre and its ends hang below it
    img = 1 - grey(S.curve(90, 10, size=41, span=120, width=1, contrast=-1))[0]  # ink = 1
    ys, xs = torch.nonzero(img > 0.5, as_tuple=True)
    assert img[20, 20] > 0.99  # the midpoint, pixel centre (20.5, 20.5) is the image centre
    assert ys.min() == 20 and ys.max() > 23  # nothing above the midpoint; the ends lower down
    # every inked pixel is about `radius` from the circle's centre, (20.5, 30.5)
    d = torch.sqrt((xs + 0.5 - 20.5) ** 2 + (ys + 0.5 - 30.5) ** 2)
    assert (d - 10).abs().max() <= 1.0
    # its half-angle span: the ends are 60 degrees either side of straight up
    ang = torch.rad2deg(torch.atan2(30.5 - (ys + 0.5), xs + 0.5 - 20.5))
    assert 27 <= ang.min() <= 33 and 147 <= ang.max() <= 153
    # rotating the orientation by 90 rotates the picture by 90 (counter-clockwise)
    a, b = S.curve(0, 10, size=41), S.curve(90, 10, size=41)
    assert torch.allclose(torch.rot90(a, 1, (2, 3)), b, atol=1e-4)


def test_grating_period_and_phase():
    img = grey(S.grating(0.25, 0, size=16, contrast=1))[0]  # varies along x, period 4
    assert torch.allclose(img[:, :-4], img[:, 4:], atol=1e-5) and torch.allclose(img[0], img[7])
    x = torch.arange(16) + 0.5 - 8
    assert torch.allclose(img[0], 0.5 + 0.5 * torch.cos(2 * math.pi * 0.25 * x), atol=1e-5)


def power_peak(field):
    spec = torch.fft.fftshift(torch.fft.fft2(field - field.mean()).abs() ** 2)
    n = field.shape[-1]
    f = torch.fft.fftshift(torch.fft.fftfreq(n))
    r = torch.sqrt(f.view(-1, 1) ** 2 + f.view(1, -1) ** 2)
    return float((spec * r).sum() / spec.sum())


def test_texture_frequency_and_determinism():
    a = S.texture_field(0.25, 3, size=64)
    assert torch.equal(a, S.texture_field(0.25, 3, size=64))  # same seed, same texture
    assert not torch.allclose(a, S.texture_field(0.25, 4, size=64))
    assert abs(power_peak(a[0]) - 0.25) < 0.04 and abs(power_peak(S.texture_field(0.06, 3)[0]) - 0.06) < 0.02
    batch = S.texture([0.1, 0.2], seed=[5, 6])
    assert torch.equal(batch[1:], S.texture(0.2, seed=6))  # batched = one at a time


def test_high_low_sides():
    img = grey(S.high_low(0, high=0.3, low=0.03, seed=1))[0]  # fine texture on the right
    right, left = img[:, 36:], img[:, :28]
    rough = lambda t: (t[:, 1:] - t[:, :-1]).abs().mean()  # noqa: E731
    assert rough(right) > 4 * rough(left)
    flipped = grey(S.high_low(180, high=0.3, low=0.03, seed=1))[0]
    assert rough(flipped[:, :28]) > 4 * rough(flipped[:, 36:])


def test_centre_moves_the_stimulus():
    moved = S.curve(90, 6, size=32, centre=(10, 12))
    shifted = torch.roll(S.curve(90, 6, size=32, centre=(16, 16)), shifts=(-4, -6), dims=(2, 3))
    assert torch.allclose(moved[..., 2:-8, 2:-8], shifted[..., 2:-8, 2:-8], atol=1e-5)


def test_angles():
    assert torch.equal(S.angles(90), torch.tensor([0.0, 90, 180, 270]))
    assert len(S.angles(15, full=False)) == 12


def test_segments_have_ends():
    img = grey(S.line(0, size=16, length=6, width=2, contrast=1))[0]  # white segment, 6 px + round caps, on black
    ink = torch.nonzero(img > 0.5)
    assert set(ink[:, 0].tolist()) == {7, 8} and (ink[:, 1].min(), ink[:, 1].max()) == (4, 11)
    assert img[7:9, 5:11].min() > 0.99 and img[7:9, 4].max() < 0.9  # the caps are half a stroke wide, soft
    assert torch.allclose(S.line(30, length=0), S.line(30))  # length 0: endless
    assert torch.allclose(S.line(30, length=200, size=32), S.line(30, size=32), atol=1e-4)
