"""The learner's best scores survive, and a damaged record is set aside, not silently lost."""

from course import progress


def test_best_score_kept(tmp_path):
    assert progress.best("05", tmp_path) is None
    assert progress.record("05", 3, 10, tmp_path)
    assert not progress.record("05", 2, 10, tmp_path)  # worse: not a new best
    assert progress.record("05", 7, 10, tmp_path)
    assert progress.best("05", tmp_path) == (7, 10)
    assert progress.load(tmp_path)["05"]["attempts"] == 3


def test_damaged_file_is_kept_aside(tmp_path):
    (tmp_path / ".progress.json").write_text("{broken")
    assert progress.load(tmp_path) == {}
    assert (tmp_path / ".progress.json.damaged").read_text() == "{broken"
