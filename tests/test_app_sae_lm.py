"""Lesson 07's page: the feature browser (by property and by index, a neuron beside the latent), the steering
playground (steered and unsteered side by side, the measurement over held-out prompts) and the census panel;
every button pressed twice in two sessions, figures legible at 1,400 px.

The browser's store is built here from a few held-out files (the same code as the real one, `measure_features`,
on 24 windows instead of 1,949), and the steering measurement reads prompts from a few files: the page's code
paths, at a size a test can afford. The real store's speed is tested in tests/sae/test_lesson07_figures.py."""

from __future__ import annotations

import pytest
import torch
from streamlit.testing.v1 import AppTest

from course.lessons import REPO_ROOT
from course.ui import compute
from course.ui.testing import press_every_button

PAGE = REPO_ROOT / "apps" / "lesson_pages" / "07_sae_lm.py"
TIMEOUT = 300


@pytest.fixture(scope="module")
def small_store():
    """A FeatureData for pylm-sae on 24 windows of held-out code (every latent and neuron of the real models)."""
    from course.lm.corpus import read_texts, split_files
    from course.lm.labels import PROPERTIES, label_file
    from course.lm.train import load
    from course.sae.features import measure_features
    from course.sae.shipped import load as load_sae

    model, tok = load("pylm")
    sae, entry = load_sae("pylm-sae")
    ids, labs = [], []
    for text in read_texts(split_files("val")[:40]):
        try:
            i, lab = label_file(text, tok)
        except Exception:
            continue
        ids += i
        labs.append(lab)
        if len(ids) > 24 * 128:
            break
    tokens = torch.tensor(ids[:24 * 128]).view(24, 128)
    labels = torch.cat(labs)[:24 * 128].view(24, 128, -1)
    return measure_features(sae, model, tokens, labels, list(PROPERTIES), entry.config["hook"], "pylm-sae")


@pytest.fixture
def page(monkeypatch, tmp_path, small_store):
    import course.sae.steering as steering
    import course.ui.sae_lm as sae_lm

    monkeypatch.setenv("COURSE_LESSONS_DIR", str(REPO_ROOT / "lessons"))
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(sae_lm, "feature_data", lambda name="pylm-sae", progress=None: small_store)
    real = steering.held_out_prompts
    monkeypatch.setattr(steering, "held_out_prompts", lambda tok, n=64, length=32, seed=0, max_files=None:
                        real(tok, n, length, seed, max_files=20))
    compute.clear()
    yield
    compute.clear()


def texts(at) -> str:
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "info", "warning") for e in getattr(at, kind))


def run(at):
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_feature_browser_by_property_and_by_index(page, small_store):
    at = run(AppTest.from_file(str(PAGE), default_timeout=TIMEOUT))
    assert "Prepare the feature browser" in [b.label for b in at.button]  # nothing on disk, not built yet
    at.button(key="sl_prepare_button").click()
    run(at)
    page_text = texts(at)
    assert "Latent " in page_text and "MLP neuron" in page_text
    assert "Census: best property" in page_text and "precision" in page_text
    assert "Rule-based explanation" in page_text and "balanced accuracy" in page_text
    assert "Top contexts" in page_text and "Logit effects" in page_text
    assert any("drawn in" in c.value for c in at.caption)  # the time is tested on the full store, in CPU seconds
    prop = at.selectbox(key="sl_prop")
    explained = small_store.properties()
    assert prop.options and len(prop.options) == len(explained)  # every property that explains a latent
    prop.set_value(explained[-1])
    run(at)
    pick = at.selectbox(key="sl_latent_pick")
    assert [int(o.split(":")[0]) for o in pick.options] == [e["latent"] for e in small_store.by_property(explained[-1])]
    first = pick.value
    assert f"Latent {first}" in texts(at)
    at.radio(key="sl_how").set_value("by index")
    run(at)
    at.number_input(key="sl_latent").set_value(int(first) + 1)
    run(at)
    assert f"Latent {int(first) + 1}" in texts(at)


def test_every_button_in_the_browser(page):
    press_every_button(PAGE, timeout=TIMEOUT)


def test_steering_playground(page):
    at = run(AppTest.from_file(str(PAGE), default_timeout=TIMEOUT))
    at.radio(key="sl_section").set_value("Steering playground")
    run(at)
    at.slider(key="sl_new").set_value(16)
    at.button(key="sl_generate").click()
    run(at)
    page_text = texts(at)
    assert "Unsteered" in page_text and "Steered: latent 1288 clamped to 20" in page_text
    assert page_text.count("of the new tokens are inside strings") == 2
    at.select_slider(key="sl_n_prompts").set_value(8)
    at.button(key="sl_measure").click()
    run(at)
    assert "over 8 held-out prompts" in texts(at)
    at.slider(key="sl_value").set_value(5.0)
    run(at)
    assert "settings changed" in texts(at)


def test_every_button_in_the_steering_playground(page):
    def prepare(at):
        at.radio(key="sl_section").set_value("Steering playground")
        at.run()
        at.slider(key="sl_new").set_value(8)
        at.select_slider(key="sl_n_prompts").set_value(8)

    press_every_button(PAGE, prepare=prepare, timeout=TIMEOUT)


def test_census_panel(page):
    at = run(AppTest.from_file(str(PAGE), default_timeout=TIMEOUT))
    at.radio(key="sl_section").set_value("Is it a good SAE?")
    run(at)
    at.button(key="sl_prepare_button").click()
    run(at)
    page_text = texts(at)
    assert "FVU" in page_text and "CE loss recovered" in page_text and "MLP neurons" in page_text
