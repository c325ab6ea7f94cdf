"""Which characters of generated code Python's tokenizer puts inside string literals, even when the code is
unfinished: checked against hand-marked snippets, and against `course.lm.labels` on whole valid files."""

from __future__ import annotations

import pytest

from course.lm.measure import char_in_string, string_spans, tokens_in_string


def marked(text: str) -> str:
    return "".join(c if f else "_" for c, f in zip(text, char_in_string(text)))


@pytest.mark.parametrize("text, expected", [
    ('x = "abc"\n', '____"abc"_'),
    ("x = 'a' + \"b\"\n", "____'a'___\"b\"_"),
    ('s = """doc\nmore"""\ny = 1\n', '____"""doc\nmore"""_______'),
    ("# it's a comment\nx = 1\n", "_" * 23),
    ('x = "abc\ny = 2\n', '____"abc_______'),  # unterminated: to the end of its line, then code again
    ('s = """abc\ndef\n', '____"""abc\ndef\n'),  # unterminated triple quote: to the end
    ("f(a, 'b\n    c = 'd'\n", "_____'b_________'d'_"),
    ("x = (1,\n 'two'", "_________'two'"),  # an unclosed bracket at the end: what came before still counts
    ("        return x\n    y = 'a'\nz = 'b'", "_" * 25 + "'a'_____'b'"),  # dedents to no earlier level
    ("x = f'{y}'\n", "____f'{y}'_"),
])
def test_hand_marked(text, expected):
    assert marked(text) == expected


def test_tokens_take_their_first_non_blank_character():
    pieces = ["x", " =", " '", "abc", "'", "\n", "y", " = ", "'", "\n"]
    assert tokens_in_string(pieces) == [False, False, True, True, True, False, False, False, True, False]


def test_agrees_with_the_labels_on_whole_files():
    """On valid files, `string` from course.lm.labels (tokenize + ast on the whole file) is the same per token."""
    from course.lm.corpus import read_texts, stdlib_files
    from course.lm.labels import PROPERTIES, label_file
    from course.lm.train import load

    _, tok = load("pylm")
    col = PROPERTIES.index("string")
    checked = 0
    for text in read_texts(stdlib_files()[40:46]):
        try:
            ids, labels = label_file(text, tok)
        except Exception:
            continue
        pieces = [text[a:b] for a, b in tok.encode(text).offsets]
        got = tokens_in_string(pieces)
        assert got == labels[:, col].tolist()
        checked += len(ids)
    assert checked > 1000


def test_spans_are_sorted_and_inside_the_text():
    text = "a = 'x'\nb = \"\"\"y\n"
    spans = string_spans(text)
    assert spans == sorted(spans) and all(0 <= a < b <= len(text) for a, b in spans)
