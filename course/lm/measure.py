"""Ground truth for generated code: which characters Python's own tokenizer puts inside string literals.

Steering a latent should be judged by measurement, not by eye: "clamping the string latent made the model
write strings" becomes "the share of generated tokens that `tokenize` places inside a string literal rose from
X to Y". Generated code is rarely a whole valid file (a window starts mid-function, a sample ends mid-line), so
unlike `course.lm.labels` (which parses whole files with `ast`) this reads it leniently:

    * an unterminated '...' or "..." string counts as a string to the end of its line, and the tokenizer goes
      on from the next line (Python 3.11 reports it as an ERRORTOKEN quote, 3.12 raises a TokenError);
    * an unterminated triple-quoted string counts to the end of the text;
    * a dedent to no earlier indentation level (a window that starts inside a block) restarts the tokenizer
      at that line; an unclosed bracket at the end stops it there (every token before it was seen).

    spans = string_spans(text)                      # [(start, end)] character offsets of string literals
    flags = tokens_in_string(pieces)                # per token (decoded pieces): is its first non-blank char in one?
"""

from __future__ import annotations

import bisect
import io
import tokenize

_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+: f-strings come in pieces
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)
_QUOTES = ("'", '"')


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    return starts


def string_spans(text: str) -> list[tuple[int, int]]:
    """Character spans [start, end) of the string literals in `text` (see the module docstring for how
    unfinished code is read)."""
    starts = _line_starts(text)
    lines = text.splitlines(keepends=True)
    off = lambda base, rc: starts[min(base + rc[0] - 1, len(starts) - 1)] + rc[1]  # noqa: E731
    end_of_line = lambda i: starts[i + 1] - 1 if i + 1 < len(starts) else len(text)  # noqa: E731
    spans: list[tuple[int, int]] = []
    base = 0  # index of the line this run of the tokenizer started at
    while base < len(lines):
        restart = None
        fstring_at: list[int] = []
        feed = iter(lines[base:])
        try:
            for tok in tokenize.generate_tokens(lambda: next(feed, "")):
                if tok.type == tokenize.STRING:
                    spans.append((off(base, tok.start), off(base, tok.end)))
                elif _FSTRING_START is not None and tok.type == _FSTRING_START:
                    fstring_at.append(off(base, tok.start))
                elif _FSTRING_END is not None and tok.type == _FSTRING_END and fstring_at:
                    spans.append((fstring_at.pop(), off(base, tok.end)))
                elif tok.type == tokenize.ERRORTOKEN and tok.string[:1] in _QUOTES:  # 3.11: unterminated '...'
                    line = base + tok.start[0] - 1
                    spans.append((off(base, tok.start), end_of_line(line)))
                    restart = line + 1
                    break
        except tokenize.TokenError as e:
            msg, (row, col) = e.args[0], e.args[1]
            at = off(base, (row, col))
            if "string" in msg and at < len(text):
                line = base + row - 1
                triple = text[at:].lstrip("rRbBfFuU")[:3] in ('"""', "'''")
                if triple or "multi-line" in msg:
                    spans.append((at, len(text)))
                else:  # 3.12: an unterminated single-quoted string
                    spans.append((at, end_of_line(line)))
                    restart = line + 1
            # "EOF in multi-line statement": an unclosed bracket; every token before it has been seen
        except (IndentationError, SyntaxError) as e:  # a dedent to no earlier level: start again at that line
            row = getattr(e, "lineno", None) or 1
            restart = base + max(row - 1, 0)
            if restart <= base:
                restart = base + 1
        if restart is None:
            break
        base = restart
    return sorted(spans)


def char_in_string(text: str) -> list[bool]:
    """Per character of `text`: inside a string literal (its quotes included)?"""
    flags = [False] * len(text)
    for a, b in string_spans(text):
        for i in range(a, min(b, len(text))):
            flags[i] = True
    return flags


def tokens_in_string(pieces: list[str]) -> list[bool]:
    """Per token (the decoded pieces of a token sequence, in order): does Python's tokenizer put the token's
    first non-blank character (its first character, if it is all blank) inside a string literal?"""
    text = "".join(pieces)
    spans = string_spans(text)
    lefts = [a for a, _ in spans]
    out, pos = [], 0
    for p in pieces:
        stripped = p.lstrip(" \t\n")
        at = pos + (len(p) - len(stripped) if stripped else 0)
        j = bisect.bisect_right(lefts, at) - 1
        out.append(bool(p) and j >= 0 and spans[j][0] <= at < spans[j][1])
        pos += len(p)
    return out
