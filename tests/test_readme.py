"""The README's test command is the one `.ci/run` runs, and its setup command starts the app."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    command = ci.strip().splitlines()[-1]
    assert "pytest" in command and f"\n{command}\n" in readme, "README's test command and .ci/run differ"


def test_readme_start_command_opens_the_app():
    readme = (REPO / "README.md").read_text()
    assert "pip install -e . && .venv/bin/course app" in readme
