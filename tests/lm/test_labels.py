"""Ground-truth token properties, checked against a hand-labelled snippet."""

import pytest

from course.lm.corpus import read_texts, stdlib_files
from course.lm.labels import PROPERTIES, label_file
from course.lm.tokenizer import train_tokenizer

SNIPPET = '''"""Doc."""
import os


class Foo(Base):
    def bar(self, a=1):
        # note
        if a > 2:
            return self.baz(f"x{a}", [1, (2, 3)])
        raise ValueError('nope')
'''


@pytest.fixture(scope="module")
def labelled():
    tok = train_tokenizer(read_texts(stdlib_files()[:30]), vocab_size=400)
    ids, labels = label_file(SNIPPET, tok)
    pieces = [tok.decode([i]) for i in ids]
    return pieces, labels, tok.encode(SNIPPET).offsets


def props(labelled, word: str, nth: int = 0) -> set[str]:
    """The labels of the BPE token holding the first character of the nth occurrence of `word`."""
    pieces, labels, offsets = labelled
    at = -1
    for _ in range(nth + 1):
        at = SNIPPET.index(word, at + 1)
    i = next(i for i, (a, b) in enumerate(offsets) if a <= at < b)
    return {PROPERTIES[j] for j in labels[i].nonzero().flatten().tolist()}


def test_hand_labelled_snippet(labelled):
    assert {"keyword", "import_line", "line_start", "indent_0"} <= props(labelled, "import")
    assert {"keyword", "def_line", "line_start", "indent_1"} <= props(labelled, "def ")
    assert {"identifier", "self", "bracket_depth_1", "def_line"} <= props(labelled, "self", 0)
    assert {"identifier", "self", "return_line", "indent_3plus"} <= props(labelled, "self", 1)
    assert {"comment", "indent_2"} <= props(labelled, "# note")
    assert {"keyword", "if_line"} <= props(labelled, "if ")
    assert {"number", "bracket_depth_2plus"} <= props(labelled, "3)")
    assert {"class_name", "class_line"} <= props(labelled, "Foo")
    assert {"def_name", "def_line"} <= props(labelled, "bar")
    assert {"attribute", "return_line"} <= props(labelled, "baz")
    assert {"string", "fstring", "in_call"} <= props(labelled, 'x{a}')
    assert {"string", "docstring"} <= props(labelled, "Doc")
    assert {"builtin", "identifier", "raise_line"} <= props(labelled, "ValueError")
    assert "keyword" not in props(labelled, "ValueError")


def test_every_token_is_labelled_consistently(labelled):
    pieces, labels, _ = labelled
    assert labels.shape == (len(pieces), len(PROPERTIES))
    col = {p: i for i, p in enumerate(PROPERTIES)}
    # docstrings and f-strings are strings; keywords are never identifiers
    assert not (labels[:, col["docstring"]] & ~labels[:, col["string"]]).any()
    assert not (labels[:, col["fstring"]] & ~labels[:, col["string"]]).any()
    assert not (labels[:, col["keyword"]] & labels[:, col["identifier"]]).any()
    assert labels[:, col["docstring"]].any() and labels[:, col["fstring"]].any()
