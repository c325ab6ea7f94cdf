"""Ground truth for interpretability: what every token of Python source *is*, from Python's own parsers.

`label_file(text, tokenizer)` tokenizes a file with our BPE and labels each BPE token with properties read off
the standard library's `tokenize` and `ast` modules at the token's first non-blank character:

    where it is:   string, docstring, fstring, comment, bracket_depth_1, bracket_depth_2plus, indent_0 ..
                   indent_3plus, in_call (inside a call's parentheses)
    what it is:    keyword, builtin, identifier, self, attribute (a name after "."), dunder, constant_name
                   (ALL_CAPS), number, operator, open_bracket, close_bracket, colon, comma, dot, equals,
                   newline, indentation, string_quote, line_start
    which line:    def_line, def_name (the name after def), class_line, class_name, import_line, decorator,
                   return_line, if_line, for_line, raise_line, assert_line
    plus           token:<text> for the most frequent tokens (their identity)

A unit (an SAE latent or an MLP neuron) is *explained* by a property when at least 80% of its firings (and at
least 50 of them) fall where the property holds: precision, the "specificity" of Towards Monosemanticity.
Recall (the share of the property's tokens where the unit fires) is reported too; it stays low for broad
properties because features split (one latent for strings in `raise`, another for docstrings, ...).
"""

from __future__ import annotations

import ast
import bisect
import builtins
import io
import keyword
import re
import tokenize as pytokenize

import torch
from torch import Tensor

LINE_KINDS = {"def_line": ("def ", "async def "), "class_line": ("class ",), "import_line": ("import ", "from "),
              "decorator": ("@",), "return_line": ("return",), "if_line": ("if ", "elif ", "else:", "while "),
              "for_line": ("for ",), "raise_line": ("raise ",), "assert_line": ("assert ",)}
PROPERTIES = (
    "string", "docstring", "fstring", "comment", "bracket_depth_1", "bracket_depth_2plus", "indent_0", "indent_1",
    "indent_2", "indent_3plus", "in_call", "keyword", "builtin", "identifier", "self", "attribute", "dunder",
    "constant_name", "number", "operator", "open_bracket", "close_bracket", "colon", "comma", "dot", "equals",
    "newline", "indentation", "string_quote", "line_start", "def_name", "class_name", *LINE_KINDS,
)
BUILTINS = frozenset(n for n in dir(builtins) if not n.startswith("_"))


def _docstring_spans(tree: ast.AST) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                spans.append(((first.lineno, first.col_offset), (first.end_lineno, first.end_col_offset)))
    return spans


def python_tokens(text: str) -> list[dict]:
    """Python tokens with char spans and context (bracket depth, call nesting, previous token). Raises
    SyntaxError/tokenize.TokenError for text that isn't Python."""
    tree = ast.parse(text)
    doc = _docstring_spans(tree)
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    to_off = lambda rc: line_starts[rc[0] - 1] + rc[1]  # noqa: E731
    doc_off = [(to_off(a), to_off(b)) for a, b in doc]
    out, depth, calls, prev = [], 0, [], None
    for tok in pytokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in (pytokenize.ENDMARKER,):
            continue
        start, end = to_off(tok.start), to_off(tok.end)
        info = {"type": tok.type, "string": tok.string, "start": start, "end": end, "depth": depth,
                "in_call": bool(calls and calls[-1]), "prev": prev}
        if tok.type == pytokenize.STRING:
            info["docstring"] = any(a <= start and end <= b for a, b in doc_off)
        out.append(info)
        if tok.type == pytokenize.OP and tok.string in "([{":
            is_call = tok.string == "(" and prev is not None and (prev["type"] == pytokenize.NAME and
                                                                   not keyword.iskeyword(prev["string"])
                                                                   or prev["string"] in (")", "]"))
            calls.append(is_call)
            depth += 1
        elif tok.type == pytokenize.OP and tok.string in ")]}":
            depth = max(depth - 1, 0)
            if calls:
                calls.pop()
        if tok.type not in (pytokenize.NL, pytokenize.COMMENT, pytokenize.INDENT, pytokenize.DEDENT):
            prev = info
    return out


def label_file(text: str, tokenizer, properties: tuple[str, ...] = PROPERTIES) -> tuple[list[int], Tensor]:
    """BPE token ids of `text` and their labels, (n_tokens, len(properties)) bool."""
    ptoks = python_tokens(text)
    starts = [t["start"] for t in ptoks]
    enc = tokenizer.encode(text)
    lines = text.split("\n")
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    col = {p: i for i, p in enumerate(properties)}
    labels = torch.zeros(len(enc.ids), len(properties), dtype=torch.bool)
    for i, (a, b) in enumerate(enc.offsets):
        piece = text[a:b]
        stripped = piece.lstrip(" \t")
        pos = a + len(piece) - len(stripped) if stripped else a
        row = labels[i]

        def put(name: str) -> None:
            if name in col:
                row[col[name]] = True

        if "\n" in piece:
            put("newline")
        if piece and not piece.strip() and "\n" not in piece:
            put("indentation")
        line_no = bisect.bisect_right(line_starts, pos) - 1
        line = lines[line_no] if line_no < len(lines) else ""
        body = line.lstrip(" ")
        indent = (len(line) - len(body)) // 4
        put(f"indent_{indent}" if indent < 3 else "indent_3plus")
        for name, prefixes in LINE_KINDS.items():
            if body.startswith(prefixes):
                put(name)
        if pos <= line_starts[line_no] + (len(line) - len(body)) and stripped:
            put("line_start")
        j = bisect.bisect_right(starts, pos) - 1
        if j < 0 or not (ptoks[j]["start"] <= pos < max(ptoks[j]["end"], ptoks[j]["start"] + 1)):
            continue  # blank space between Python tokens
        t = ptoks[j]
        if t["depth"] == 1:
            put("bracket_depth_1")
        elif t["depth"] >= 2:
            put("bracket_depth_2plus")
        if t["in_call"]:
            put("in_call")
        s, kind, prev = t["string"], t["type"], t["prev"]
        if kind == pytokenize.STRING:
            put("string")
            if t.get("docstring"):
                put("docstring")
            if re.match(r"^[rRbB]?[fF]", s):
                put("fstring")
            if stripped[:1] in "'\"" and stripped.strip("'\"") == "":
                put("string_quote")
        elif kind == pytokenize.COMMENT:
            put("comment")
        elif kind == pytokenize.NUMBER:
            put("number")
        elif kind == pytokenize.NAME:
            if keyword.iskeyword(s) or keyword.issoftkeyword(s):
                put("keyword")
            else:
                put("identifier")
                if s in BUILTINS:
                    put("builtin")
                if s == "self":
                    put("self")
                if s.startswith("__") and s.endswith("__") and len(s) > 4:
                    put("dunder")
                if len(s) > 1 and s.isupper():
                    put("constant_name")
                if prev is not None and prev["string"] == ".":
                    put("attribute")
                if prev is not None and prev["string"] == "def":
                    put("def_name")
                if prev is not None and prev["string"] == "class":
                    put("class_name")
        elif kind == pytokenize.OP:
            if s in "([{":
                put("open_bracket")
            elif s in ")]}":
                put("close_bracket")
            elif s == ":":
                put("colon")
            elif s == ",":
                put("comma")
            elif s == ".":
                put("dot")
            elif s == "=":
                put("equals")
            else:
                put("operator")
    return enc.ids, labels


def token_identity(ids: Tensor, token_ids: list[int]) -> Tensor:
    """(n, len(token_ids)) bool: which of the given token ids each position holds."""
    return ids[:, None] == torch.tensor(token_ids)[None, :]
