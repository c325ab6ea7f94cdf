"""Lesson 07's checks give the hints they promise, for the slips learners make (two submissions, each with one
slip in several exercises, graded once), and the audit after a call sees hooks and edited weights."""

from __future__ import annotations

import pytest
import torch

from course.grading.grader import Grader
from course.lessons import REPO_ROOT, find_lesson

SLIPS_A = '''
def fvu(x, x_hat):
    return (((x - x_hat) ** 2).sum() / (x ** 2).sum()).item()


def cache_activations(model, tokens, hook_name):
    saved = {}
    model.hook_dict[hook_name].fns.append(lambda act, hook: saved.update(act=act.detach()))
    model(tokens)
    return saved["act"]


def precision_recall_f1(fires, labels):
    hits = fires.float().T @ labels.float()
    recall = hits / fires.float().sum(0).clamp(min=1)[:, None]
    precision = hits / labels.float().sum(0).clamp(min=1)[None, :]
    return {"precision": precision, "recall": recall, "f1": 2 * precision * recall / (precision + recall).clamp(min=1e-12)}


_top = top_contexts


def top_contexts(acts, tokens, k=10, left=4, right=2):
    out = _top(acts, tokens, k, left, right)
    return {key: v.flip(0) for key, v in out.items()}


_ce = ce_loss_recovered


def ce_loss_recovered(model, sae, tokens, hook_name):
    out = _ce(model, sae, tokens, hook_name)
    return {**out, "recovered": (out["sae"] - out["clean"]) / (out["zero"] - out["clean"])}


_det = detection_scores


def detection_scores(rule, acts, n_bins=5):
    out = _det(rule, acts, n_bins)
    predicted, activating = rule.any(1), acts.max(1).values > 0
    return {**out, "balanced_accuracy": (predicted == activating).float().mean().item()}


def steered_logits(model, sae, tokens, hook_name, latent, value, mode="clamp"):
    direction = sae.W_dec[latent].detach() / sae.norm_scale

    def steer(act, hook):
        if mode == "clamp":
            z = sae.encode(act)
            z[..., latent] = value
            return sae.decode(z)
        return act + value * direction

    return model.run_with_hooks(tokens, fwd_hooks=[(hook_name, steer)])
'''

SLIPS_B = '''
def fvu(x, x_hat):
    return (((x - x_hat) ** 2).sum(1) / ((x - x.mean(0)) ** 2).sum(1)).mean().item()


def precision_recall_f1(fires, labels):
    hits = fires.float().T @ labels.float()
    precision = hits / fires.float().sum(0)[:, None]
    recall = hits / labels.float().sum(0)[None, :]
    return {"precision": precision, "recall": recall, "f1": 2 * precision * recall / (precision + recall)}


_top = top_contexts


def top_contexts(acts, tokens, k=10, left=4, right=2):
    out = _top(acts, tokens, k, left, right)
    flat = out["windows"] * acts.shape[1] + out["positions"]
    return {**out, "windows": flat // acts.shape[0], "positions": flat % acts.shape[0]}


def ce_loss_recovered(model, sae, tokens, hook_name):
    clean = model(tokens, return_type="loss").item()
    model.hook_dict[hook_name].fns.append(lambda a, h: sae(a))
    spliced = model(tokens, return_type="loss").item()
    zeroed = model.run_with_hooks(tokens, fwd_hooks=[(hook_name, lambda a, h: torch.zeros_like(a))],
                                  return_type="loss").item()
    return {"clean": clean, "sae": spliced, "zero": zeroed, "recovered": (zeroed - spliced) / (zeroed - clean)}


_det = detection_scores


def detection_scores(rule, acts, n_bins=5):
    return _det(rule.all(dim=1, keepdim=True).expand_as(rule), acts, n_bins)


def steered_logits(model, sae, tokens, hook_name, latent, value, mode="clamp"):
    mlp = model.blocks[int(hook_name.split(".")[1])].mlp
    with torch.no_grad():
        if hook_name.endswith("hook_post"):
            mlp.W_out.mul_(1.0001)
    return _steer(model, sae, tokens, hook_name, latent, value, mode)


_steer = steered_logits_reference = None
'''

EXPECT_A = {
    "1. fvu": "about the mean input",
    "2a.": "hook is still attached",
    "2b.": "hook is still attached",
    "3a.": "Precision and recall are swapped",
    "3b.": "Precision and recall are swapped",
    "4a.": "Strongest first",
    "6a.": "recovered is (zero - sae) / (zero - clean)",
    "6b.": "recovered is (zero - sae) / (zero - clean)",
    "7a.": "balanced_accuracy averages",
    "8a.": "keep the SAE's error term",
    "8c.": "keep the SAE's error term",
}
EXPECT_B = {
    "1. fvu": "mean of per-input ratios",
    "3a.": "NaN",
    "4a.": "i // n_ctx",
    "6a.": "hook is still attached",
    "6b.": "hook is still attached",
    "7a.": "ANY of its tokens",
    "8c.": "changed the model's",
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    lesson = find_lesson("07", REPO_ROOT / "lessons")
    base = lesson.solutions_path.read_text()
    tmp = tmp_path_factory.mktemp("slips")
    a, b = tmp / "a.py", tmp / "b.py"
    a.write_text(base + "\n" + SLIPS_A)
    b.write_text(base.replace("def steered_logits(", "def _steer(") + "\n" +
                 SLIPS_B.replace("_steer = steered_logits_reference = None\n", ""))
    with Grader(lesson, seed=7) as grader:
        return grader.grade_many([a, b], jobs=2)


@pytest.mark.parametrize("which, expect", [(0, EXPECT_A), (1, EXPECT_B)], ids=["slips-a", "slips-b"])
def test_hints_appear_for_the_slips(results, which, expect):
    by_title = {c.title: c for c in results[which].checks}
    for prefix, text in expect.items():
        check = next(c for t, c in by_title.items() if t.startswith(prefix))
        assert not check.passed, check.title
        assert text in check.hint, (check.title, check.message, check.hint)


def test_audit_sees_hooks_and_weights():
    from course.lm.hooks import audit
    from course.lm.model import LMConfig, TinyLM

    model = TinyLM(LMConfig(d_vocab=20, n_ctx=8, d_model=8, n_heads=2, d_head=4, d_mlp=16))
    clean = audit(1.5, model=model, tokens=torch.zeros(1, 3), hook_name="x")
    assert clean["result"] == 1.5 and clean["hooks_left"] == {"model": 0} and set(clean["weights"]) == {"model"}
    model.hook_dict["blocks.0.mlp.hook_post"].fns.append(lambda a, h: None)
    model.blocks[0].register_forward_hook(lambda *a: None)
    with torch.no_grad():
        model.blocks[0].mlp.b_out += 1
    dirty = audit(1.5, model=model)
    assert dirty["hooks_left"] == {"model": 2}
    assert torch.equal(dirty["weights"]["model"]["blocks.0.mlp.b_out"], clean["weights"]["model"]["blocks.0.mlp.b_out"] + 1)
