# Mutant: minimises the unit's activation (forgets that Adam minimises the loss). Must fail: visualise
import torch
import torch.nn.functional as F


def visualise(model, layer, unit, steps=64, size=48, lr=0.05):
    spectrum = (torch.randn(1, 3, size, size // 2 + 1, 2) * 0.01).requires_grad_(True)
    opt = torch.optim.Adam([spectrum], lr=lr)
    for _ in range(steps):
        image = to_valid_rgb(fft_image(spectrum, size, size))  # noqa: F821 - appended to solutions.py
        x = F.pad(image, (12, 12, 12, 12), value=0.5)
        x = jitter(x, int(torch.randint(-8, 9, ())), int(torch.randint(-8, 9, ())))  # noqa: F821
        x = scale_rotate(x, 0.9 + 0.2 * torch.rand(()).item(), 20 * torch.rand(()).item() - 10)  # noqa: F821
        loss = channel_objective(model, layer, unit, x).mean()  # noqa: F821
        opt.zero_grad()
        loss.backward()
        opt.step()
    return to_valid_rgb(fft_image(spectrum, size, size))[0].detach()  # noqa: F821
