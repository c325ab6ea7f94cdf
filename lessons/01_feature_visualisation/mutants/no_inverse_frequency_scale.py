# Mutant: forgets the 1/f scale of the FFT parameterisation (white noise spectrum). Must fail: fft_image
import torch


def fft_image(spectrum, height, width, decay_power=1.0):
    coefficients = torch.view_as_complex(spectrum.contiguous())
    return torch.fft.irfft2(coefficients, s=(height, width), norm="ortho") / 4.0
