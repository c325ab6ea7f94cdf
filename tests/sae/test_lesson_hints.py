"""Lesson 06 promises hints for the slips learners make: each promised slip, graded, must fail and show its hint.
Only the slipped exercises' checks run (and not the behavioural training check), to keep this quick."""

from __future__ import annotations

import pytest

from course.grading.grader import Grader
from course.lessons import REPO_ROOT, find_lesson
from course.markers import replace_solution

SLIPS = {
    # slip: (check's exercise, function whose block is replaced, wrong body, words the message or hint must contain)
    "b_dec not subtracted": ("SAE.forward", "forward", """
        pre = x @ self.W_enc + self.b_enc
        acts = self.activation(pre)
        return acts @ self.W_dec + self.b_dec, acts
        """, "without subtracting b_dec"),
    "no activation": ("SAE.forward", "forward", """
        pre = (x - self.b_dec) @ self.W_enc + self.b_enc
        return pre @ self.W_dec + self.b_dec, pre
        """, "negative values"),
    "no decoder bias": ("SAE.forward", "forward", """
        pre = (x - self.b_dec) @ self.W_enc + self.b_enc
        acts = self.activation(pre)
        return acts @ self.W_dec, acts
        """, "lacks b_dec"),
    "L1 unweighted": ("sae_loss", "sae_loss", """
        return (x - x_hat).pow(2).sum(-1).mean() + l1_coefficient * acts.sum(-1).mean()
        """, "without the decoder norms"),
    "L1 on the reconstruction": ("sae_loss", "sae_loss", """
        return (x - x_hat).pow(2).sum(-1).mean() + l1_coefficient * x_hat.abs().sum(-1).mean()
        """, "not on x or x_hat"),
    "squared error averaged over dims": ("sae_loss", "sae_loss", """
        return (x - x_hat).pow(2).mean() + l1_coefficient * (acts * W_dec.norm(dim=1)).sum(-1).mean()
        """, "averaged over the dimensions"),
    "columns normalised": ("normalise_decoder", "normalise_decoder", """
        return W_dec / W_dec.norm(dim=0, keepdim=True)
        """, "normalised the columns"),
    "parallel part returned": ("remove_parallel_grad", "remove_parallel_grad", """
        return (grad * W_dec).sum(dim=1, keepdim=True) * W_dec
        """, "returned the parallel part"),
    "parallel part over columns": ("remove_parallel_grad", "remove_parallel_grad", """
        return grad - (grad * W_dec).sum(dim=0, keepdim=True) * W_dec
        """, "still points partly along the rows"),
    "TopK per latent": ("topk_activation", "topk_activation", """
        values, idx = torch.relu(pre).topk(k, dim=0)
        return torch.zeros_like(pre).scatter(0, idx, values)
        """, "k values per latent"),
    "TopK without ReLU": ("topk_activation", "topk_activation", """
        values, idx = pre.topk(k, dim=-1)
        return torch.zeros_like(pre).scatter(-1, idx, values)
        """, "Negative values survived"),
    "BatchTopK without ReLU": ("batch_topk_activation", "batch_topk_activation", """
        flat = pre.flatten()
        values, idx = flat.topk(k * pre.shape[0])
        return torch.zeros_like(flat).scatter(0, idx, values).reshape(pre.shape)
        """, "quiet batch keeps"),
    "BatchTopK per input": ("batch_topk_activation", "batch_topk_activation", """
        values, idx = torch.relu(pre).topk(k, dim=-1)
        return torch.zeros_like(pre).scatter(-1, idx, values)
        """, "that is TopK"),
    "MMC over latents": ("mean_max_cosine", "mean_max_cosine", """
        f = features / features.norm(dim=1, keepdim=True)
        w = W_dec / W_dec.norm(dim=1, keepdim=True)
        return (f @ w.T).max(dim=0).values.mean()
        """, "each latent's best feature"),
    "MMC unnormalised": ("mean_max_cosine", "mean_max_cosine", """
        return (features @ W_dec.T).max(dim=1).values.mean()
        """, "Normalise both"),
    "no renormalisation": ("train", "train_step", """
        x_hat, acts = sae(x)
        loss = sae_loss(x, x_hat, acts, sae.W_dec, l1_coefficient)
        optimizer.zero_grad()
        loss.backward()
        sae.W_dec.grad = remove_parallel_grad(sae.W_dec.data, sae.W_dec.grad)
        optimizer.step()
        return loss.item()
        """, "normalise W_dec's rows"),
    "parallel gradient kept": ("train", "train_step", """
        x_hat, acts = sae(x)
        loss = sae_loss(x, x_hat, acts, sae.W_dec, l1_coefficient)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            sae.W_dec.copy_(normalise_decoder(sae.W_dec))
        return loss.item()
        """, "remove_parallel_grad"),
    "resampling copies live latents": ("resample_dead", "resample_dead", """
        with torch.no_grad():
            live = (~dead).nonzero().flatten()[: int(dead.sum())]
            sae.W_dec[dead] = sae.W_dec[live].clone()
            sae.W_enc[:, dead] = sae.W_enc[:, live].clone()
            sae.b_enc[dead] = 0.0
        return sae
        """, "copies a live one"),
    "resampled biases kept": ("resample_dead", "resample_dead", """
        n_dead = int(dead.sum())
        with torch.no_grad():
            x_hat, _ = sae(x)
            worst = (x - x_hat).pow(2).sum(-1).argsort(descending=True)[:n_dead]
            directions = x[worst] - sae.b_dec
            directions = directions / directions.norm(dim=1, keepdim=True)
            alive_norm = sae.W_enc[:, ~dead].norm(dim=0).mean()
            sae.W_dec[dead] = directions
            sae.W_enc[:, dead] = directions.T * alive_norm * 0.2
        return sae
        """, "encoder biases to 0"),
    "resampled encoder unscaled": ("resample_dead", "resample_dead", """
        n_dead = int(dead.sum())
        with torch.no_grad():
            x_hat, _ = sae(x)
            worst = (x - x_hat).pow(2).sum(-1).argsort(descending=True)[:n_dead]
            directions = x[worst] - sae.b_dec
            directions = directions / directions.norm(dim=1, keepdim=True)
            sae.W_dec[dead] = directions
            sae.W_enc[:, dead] = directions.T
            sae.b_enc[dead] = 0.0
        return sae
        """, "times 0.2"),
    "JumpReLU subtracts θ": ("jumprelu_forward", "forward", None, "does not subtract"),
    "rectangle closed at its edges": ("jumprelu_grads", "backward", """
        rect = ((z - threshold) / eps).abs() <= 0.5
        return (z > threshold) * grad_output, (-(threshold / eps) * rect * grad_output).sum(0), None
        """, "|u| < 1/2"),
    "step's gradient for JumpReLU": ("jumprelu_grads", "backward", """
        rect = ((z - threshold) / eps).abs() < 0.5
        return (z > threshold) * grad_output, (-(1.0 / eps) * rect * grad_output).sum(0), None
        """, "step function's pseudo-gradient"),
    "flipped sign": ("jumprelu_grads", "backward", """
        rect = ((z - threshold) / eps).abs() < 0.5
        return (z > threshold) * grad_output, ((threshold / eps) * rect * grad_output).sum(0), None
        """, "sign is flipped"),
    "full-width rectangle": ("jumprelu_grads", "backward", """
        rect = ((z - threshold) / eps).abs() < 1.0
        return (z > threshold) * grad_output, (-(threshold / eps) * rect * grad_output).sum(0), None
        """, "within ε/2"),
    "upstream gradient ignored": ("jumprelu_grads", "backward", """
        rect = ((z - threshold) / eps).abs() < 0.5
        return (z > threshold) * grad_output, (-(threshold / eps) * rect).sum(0), None
        """, "Multiply by grad_output"),
    "z gradient everywhere": ("jumprelu_grads", "backward", """
        rect = ((z - threshold) / eps).abs() < 0.5
        return grad_output, (-(threshold / eps) * rect * grad_output).sum(0), None
        """, "zero elsewhere"),
}


def _source(solutions: str, function: str, body: str | None) -> str:
    if body is None:  # JumpReLU.forward: the second `def forward` in the file, patched after the fact
        return solutions + "\n\ndef _forward(ctx, z, threshold, bandwidth):\n    ctx.save_for_backward(z, threshold)\n" \
            "    ctx.bandwidth = bandwidth\n    return (z - threshold) * (z > threshold)\n\n\n" \
            "JumpReLU.forward = staticmethod(_forward)\n"
    if function == "backward":  # the only `def backward`; its block follows `z, threshold = ...; eps = ...`
        return replace_solution(solutions, "backward", body)
    return replace_solution(solutions, function, body)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every slip graded once, by one grader running only the slipped exercises' value checks."""
    lesson = find_lesson("06", REPO_ROOT / "lessons")
    folder = tmp_path_factory.mktemp("slips")
    source = lesson.solutions_path.read_text()
    paths = []
    for i, (exercise, function, body, _) in enumerate(SLIPS.values()):
        paths.append(folder / f"slip{i}.py")
        paths[-1].write_text(_source(source, function, body))
    wanted = {exercise for exercise, *_ in SLIPS.values()}
    with Grader(lesson, seed=11) as grader:
        grader.checks = [c for c in grader.checks if c.exercise in wanted and c.judge is None]
        results = grader.grade_many(paths, jobs=2)
    return dict(zip(SLIPS, results))


@pytest.mark.parametrize("slip", list(SLIPS))
def test_promised_hint_appears(slip, graded):
    exercise, _, _, words = SLIPS[slip]
    checks = [c for c in graded[slip].checks if c.exercise == exercise]
    assert checks and not all(c.passed for c in checks), f"the slip {slip!r} passed"
    said = [c.message + " " + c.hint for c in checks if not c.passed]
    assert any(words in text for text in said), said
