#!/usr/bin/env python3
"""Rebuild tests/data/peer_xpath.json: the XPath expression cases of three peers' test suites.

    python bench/peer_xpath_extract.py ENKETO_GIT WEBFORMS_GIT JAVAROSA_GIT

Each argument is a bare git directory (a clone or mirror) of, in this order,
enketo/openrosa-xpath-evaluator, getodk/web-forms and getodk/javarosa; the files are read from
HEAD with `git show`, nothing is checked out. Only test *data* is taken (expression, expected
value, the XML the case runs against); no peer code is copied.

How the cases are found. The JavaScript and TypeScript suites build their cases in many ways
(tables of rows, templates, string.replace, nested forEach, it.each, helpers that set up a
document), so rather than matching their text, this script runs them: a small interpreter for
the subset of JavaScript/TypeScript that test files use walks describe/it/beforeEach, forEach,
consts and templates, and the peers' assertion helpers (assertString, testContext.assertNumberValue,
assert.equal(xEval(...).numberValue, ...), assertThrow, it.fails, expect(...).toThrow, ...) are
replaced by recorders. Anything the interpreter cannot know (a DOM node's property, a real
clock, a post-processed result) becomes an Unknown value, and an assertion that meets one is
counted as not extracted, with its reason, instead of being guessed. JavaRosa's XPathEvalTest
calls testEval("expr", [instance, ec,] expected) with Java literals; those arguments are
evaluated the same way (Java's Double, Boolean, String, exceptions, DateUtils.getDate).
XPathParseTest's table gives syntax errors (expected parse tree null) and literal values.

Output: a list of cases {"source": "owner/repo:path:line[#n]", "expr", "expected", "kind":
string|number|boolean|error, optional "document" (XML), "context_node" (a description of the
node the peer evaluated at), "timezone", "now" (ISO instant), "pattern" (a regular expression
the string value must match, expected null), "length" (the string value's UTF-16 length),
"round_factor" (the peer compares Math.round(value * f) / f), "tolerance" (toBeCloseTo),
"handlers" (JavaRosa test function handlers in effect), "exception" (the Java exception JavaRosa
expects), "type" ("date": JavaRosa expects a Date), "language" (jr:itext), "note", "test" (the
peer's test title)}. Numbers that JSON cannot hold are
{"number": "NaN" | "Infinity" | "-Infinity"}. Counts of what was not extracted, by reason, go
to tests/data/peer_xpath_unextracted.json.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

try:
    from zoneinfo import ZoneInfo
except ImportError:  # pragma: no cover
    ZoneInfo = None

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "peer_xpath.json"
UNEXTRACTED = ROOT / "tests" / "data" / "peer_xpath_unextracted.json"

ENKETO, WEBFORMS, JAVAROSA = ("enketo/openrosa-xpath-evaluator", "getodk/web-forms", "getodk/javarosa")
# Both JavaScript suites run with TZ=America/Phoenix (enketo: package.json / karma.conf.js;
# web-forms: packages/xpath/vite.config.ts). A fixed instant stands for their clocks.
PEER_TZ = "America/Phoenix"
DATE_HINT = re.compile(r"date|time|today|now\(|\d{4}-\d{1,2}-\d{1,2}|format", re.I)
NOW = _dt.datetime(2024, 5, 1, 10, 30, 0, tzinfo=_dt.timezone(_dt.timedelta(hours=-7)))


# ============================================================ git

def git(gitdir: str, *args: str) -> str:
    return subprocess.run(["git", "-C", gitdir, *args], check=True, capture_output=True).stdout.decode("utf-8")


def git_files(gitdir: str, prefix: str) -> list[str]:
    return [p for p in git(gitdir, "ls-tree", "-r", "HEAD", "--name-only", "--", prefix).splitlines() if p]


# ============================================================ tokenizer (JavaScript, TypeScript, Java)

class Tok:
    __slots__ = ("kind", "value", "line", "nl", "end_line")

    def __init__(self, kind, value, line, nl, end_line=None):
        self.kind, self.value, self.line, self.nl = kind, value, line, nl
        self.end_line = end_line or line

    def __repr__(self):
        return f"Tok({self.kind},{self.value!r},{self.line})"


PUNCT = sorted("""... === !== **= >>> <<= >>= => == != <= >= && || ?? ?. ++ -- += -= *= /= %= **
&= |= ^= << >> { } ( ) [ ] ; , < > + - * / % & | ^ ! ~ ? : = . @ #""".split(), key=len, reverse=True)
REGEX_PRECEDERS = {"(", ",", "=", ":", "[", "!", "&", "|", "?", "{", "}", ";", "+", "-", "*", "%",
                   "<", ">", "~", "^", "=>", "==", "===", "!=", "!==", "&&", "||", "??", "<=", ">=",
                   "+=", "-=", "return", "typeof", "case", "do", "else", "in", "of", "new", "void"}
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


class TokenizeError(Exception):
    pass


def _read_escape(src: str, i: int) -> tuple[str, int]:
    """src[i] is the character after a backslash; returns (text, next index)."""
    ch = src[i]
    if ch in ESCAPES and not (ch == "0" and i + 1 < len(src) and src[i + 1].isdigit()):
        return ESCAPES[ch], i + 1
    if ch == "u":
        if src[i + 1] == "{":
            end = src.index("}", i)
            return chr(int(src[i + 2:end], 16)), end + 1
        return chr(int(src[i + 1:i + 5], 16)), i + 5
    if ch == "x":
        return chr(int(src[i + 1:i + 3], 16)), i + 3
    if ch == "\r" and src[i + 1:i + 2] == "\n":
        return "", i + 2
    if ch in "\n\r\u2028\u2029":
        return "", i + 1  # line continuation
    return ch, i + 1


def tokenize(src: str, java: bool = False) -> list[Tok]:
    toks: list[Tok] = []
    i, n, line, nl = 0, len(src), 1, True

    def prev_allows_regex():
        if not toks:
            return True
        t = toks[-1]
        if t.kind == "punct":
            return t.value in REGEX_PRECEDERS and t.value not in (")", "]", "}") or t.value == "}"
        return t.kind == "name" and t.value in REGEX_PRECEDERS

    def scan_template(i, line):
        """Backtick at src[i-1]; returns (quasis, expr token lists, index after, line)."""
        quasis, exprs, buf = [], [], []
        while True:
            if i >= n:
                raise TokenizeError("unterminated template")
            ch = src[i]
            if ch == "`":
                quasis.append("".join(buf))
                return quasis, exprs, i + 1, line
            if ch == "\\":
                text, i = _read_escape(src, i + 1)
                buf.append(text)
                continue
            if ch == "$" and src[i + 1:i + 2] == "{":
                quasis.append("".join(buf))
                buf = []
                sub, i, line = tokenize_until_brace(i + 2, line)
                exprs.append(sub)
                continue
            if ch == "\n":
                line += 1
            buf.append(ch)
            i += 1

    def tokenize_until_brace(i, line):
        return tokenize_from(src, i, line, java, stop_at_close=True)

    while i < n:
        ch = src[i]
        if ch == "\n":
            line += 1
            nl = True
            i += 1
            continue
        if ch in " \t\r\f\v\ufeff\u00a0":
            i += 1
            continue
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
            continue
        if src.startswith("/*", i):
            j = src.find("*/", i + 2)
            if j < 0:
                raise TokenizeError("unterminated comment")
            line += src.count("\n", i, j)
            nl = nl or "\n" in src[i:j]
            i = j + 2
            continue
        start_line = line
        if ch in "'\"":
            buf, j = [], i + 1
            while True:
                if j >= n:
                    raise TokenizeError(f"unterminated string at line {line}")
                c = src[j]
                if c == ch:
                    break
                if c == "\\":
                    if src[j + 1] == "\n":
                        line += 1
                    text, j = _read_escape(src, j + 1)
                    buf.append(text)
                    continue
                if c == "\n":
                    raise TokenizeError(f"newline in string at line {line}")
                buf.append(c)
                j += 1
            if java and ch == "'":
                toks.append(Tok("char", "".join(buf), start_line, nl))
            else:
                toks.append(Tok("str", "".join(buf), start_line, nl))
            i, nl = j + 1, False
            continue
        if ch == "`" and not java:
            quasis, exprs, i, line = scan_template(i + 1, line)
            toks.append(Tok("tmpl", (quasis, exprs), start_line, nl, line))
            nl = False
            continue
        m = re.match(r"0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?",
                     src[i:i + 60])
        if m and (ch.isdigit() or (ch == "." and src[i + 1:i + 2].isdigit())):
            text = m.group(0).replace("_", "")
            if text[:2].lower() == "0x":
                value = float(int(text, 16))
            elif text[:2].lower() == "0b":
                value = float(int(text[2:], 2))
            elif text[:2].lower() == "0o":
                value = float(int(text[2:], 8))
            else:
                value = float(text)
            i += len(m.group(0))
            if i < n and src[i] in "nfFdDlL":
                i += 1
            toks.append(Tok("num", value, start_line, nl))
            nl = False
            continue
        if ch.isalpha() or ch in "_$" or ord(ch) > 127:
            j = i + 1
            while j < n and (src[j].isalnum() or src[j] in "_$" or ord(src[j]) > 127):
                j += 1
            toks.append(Tok("name", src[i:j], start_line, nl))
            i, nl = j, False
            continue
        if ch == "/" and not java and prev_allows_regex():
            j, in_class = i + 1, False
            while j < n:
                c = src[j]
                if c == "\\":
                    j += 2
                    continue
                if c == "[":
                    in_class = True
                elif c == "]":
                    in_class = False
                elif c == "/" and not in_class:
                    break
                elif c == "\n":
                    raise TokenizeError(f"newline in regex at line {line}")
                j += 1
            k = j + 1
            while k < n and src[k].isalpha():
                k += 1
            toks.append(Tok("regex", (src[i + 1:j], src[j + 1:k]), start_line, nl))
            i, nl = k, False
            continue
        for p in PUNCT:
            if src.startswith(p, i):
                toks.append(Tok("punct", p, start_line, nl))
                i += len(p)
                nl = False
                break
        else:
            raise TokenizeError(f"unexpected character {ch!r} at line {line}")
    toks.append(Tok("eof", None, line, True))
    return toks


def tokenize_from(src, i, line, java, stop_at_close):
    """Tokenize src from i until the '}' that closes a template's ${ (depth 0)."""
    depth = 0
    # Re-use tokenize() on progressively: simplest is to find the end by a small scanner that
    # understands strings, templates and comments, then tokenize that slice.
    j, n = i, len(src)
    while j < n:
        c = src[j]
        if c in "'\"":
            k = j + 1
            while src[k] != c:
                k += 2 if src[k] == "\\" else 1
            j = k + 1
            continue
        if c == "`":
            j = _skip_template(src, j + 1)
            continue
        if src.startswith("//", j) or src.startswith("/*", j):
            j = (src.find("\n", j) if src[j + 1] == "/" else src.find("*/", j) + 2)
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            if depth == 0:
                break
            depth -= 1
        j += 1
    inner = src[i:j]
    toks = tokenize(inner, java)
    for t in toks:
        t.line += line - 1
        t.end_line += line - 1
    return toks, j + 1, line + inner.count("\n")


def _skip_template(src, j):
    while True:
        c = src[j]
        if c == "\\":
            j += 2
            continue
        if c == "`":
            return j + 1
        if c == "$" and src[j + 1] == "{":
            _, j, _ = tokenize_from(src, j + 2, 0, False, True)
            continue
        j += 1


# ============================================================ parser

class ParseError(Exception):
    pass


OPEN = {"(": ")", "[": "]", "{": "}"}
BINARY_PREC = {
    "??": 1, "||": 2, "&&": 3, "|": 4, "^": 5, "&": 6,
    "==": 7, "!=": 7, "===": 7, "!==": 7,
    "<": 8, ">": 8, "<=": 8, ">=": 8, "instanceof": 8, "in": 8, "as": 8, "satisfies": 8,
    "<<": 9, ">>": 9, ">>>": 9, "+": 10, "-": 10, "*": 11, "/": 11, "%": 11, "**": 12,
}
ASSIGN_OPS = {"=", "+=", "-=", "*=", "/=", "%=", "**=", "&=", "|=", "^=", "<<=", ">>=", "??=", "||=", "&&="}
STMT_KEYWORDS = {"const", "let", "var", "function", "if", "for", "while", "return", "throw", "try",
                 "class", "interface", "type", "import", "export", "break", "continue", "do", "switch",
                 "declare", "enum", "abstract"}


class Parser:
    def __init__(self, toks: list[Tok]):
        self.t, self.i = toks, 0

    # ---- helpers
    def peek(self, k=0) -> Tok:
        return self.t[min(self.i + k, len(self.t) - 1)]

    def at(self, value, k=0) -> bool:
        tok = self.peek(k)
        return tok.kind in ("punct", "name") and tok.value == value

    def take(self) -> Tok:
        tok = self.t[self.i]
        self.i = min(self.i + 1, len(self.t) - 1)
        return tok

    def expect(self, value) -> Tok:
        tok = self.take()
        if tok.value != value or tok.kind not in ("punct", "name"):
            raise ParseError(f"expected {value!r} at line {tok.line}, found {tok.value!r}")
        return tok

    def match_close(self, i: int) -> int:
        """Index of the token closing the bracket at token index i."""
        opener = self.t[i].value
        closer = OPEN.get(opener, ">" if opener == "<" else None)
        depth = 0
        for j in range(i, len(self.t)):
            tok = self.t[j]
            if tok.kind != "punct":
                continue
            if tok.value == opener:
                depth += 1
            elif tok.value == closer:
                depth -= 1
                if depth == 0:
                    return j
            elif opener == "<" and tok.value in (">>", ">>>"):
                depth -= len(tok.value)
                if depth <= 0:
                    return j
        raise ParseError(f"unbalanced {opener!r} at line {self.t[i].line}")

    def semicolon(self):
        if self.at(";"):
            self.take()

    # ---- TypeScript types: skipped
    def skip_type(self, stops=("=", ";", ",", ")", "]", "}", "=>", "{")):
        start = self.i
        while True:
            tok = self.peek()
            if tok.kind == "eof":
                return
            if tok.kind == "punct":
                if tok.value in ("(", "[", "<") or (tok.value == "{" and self.i == start):
                    self.i = self.match_close(self.i) + 1
                    continue
                if tok.value == "{" and self.t[self.i - 1].value in ("|", "&", ":", "<", ",", "readonly", "=>"):
                    self.i = self.match_close(self.i) + 1
                    continue
                if tok.value == "=>":
                    if "=>" in stops and self.i > start:
                        return
                    self.take()
                    continue
                if tok.value in stops:
                    return
                if tok.value == ">" and ">" in stops:
                    return
            elif tok.nl and self.i > start and self.t[self.i - 1].kind in ("name", "str", "num") \
                    and self.t[self.i - 1].value not in ("readonly", "keyof", "typeof", "is", "extends"):
                return  # ASI after a type annotation
            self.take()

    def try_generic_args(self) -> bool:
        """At '<': skip type arguments of a call (it.each<Case>(...)) if that is what they are."""
        if not self.at("<"):
            return False
        try:
            j = self.match_close(self.i)
        except ParseError:
            return False
        for tok in self.t[self.i + 1:j]:
            if tok.kind == "punct" and tok.value not in ("<", ">", ",", ".", "[", "]", "|", "&", "{", "}",
                                                           ":", ";", "(", ")", "=>", "?"):
                return False
        nxt = self.t[j + 1]
        if nxt.kind == "punct" and nxt.value in ("(", "`") or nxt.kind == "tmpl":
            self.i = j + 1
            return True
        return False

    # ---- program and statements
    def program(self) -> list:
        body = []
        while self.peek().kind != "eof":
            body.append(self.statement())
        return body

    def block(self) -> list:
        self.expect("{")
        body = []
        while not self.at("}"):
            if self.peek().kind == "eof":
                raise ParseError("unterminated block")
            body.append(self.statement())
        self.take()
        return body

    def statement(self):
        tok = self.peek()
        line = tok.line
        if tok.kind == "punct":
            if tok.value == "{":
                return ("block", self.block())
            if tok.value == ";":
                self.take()
                return ("empty",)
            if tok.value == "@":  # Java/TS annotation: @Test, @Parameterized.Parameter(value = 0)
                self.take()
                self.take()
                while self.at("."):
                    self.take()
                    self.take()
                if self.at("("):
                    self.i = self.match_close(self.i) + 1
                return ("empty",)
        if tok.kind == "name":
            v = tok.value
            nxt = self.peek(1)
            if v in ("const", "let", "var") and not (nxt.kind == "punct" and nxt.value in ("(", ".", "=")):
                self.take()
                decl = self.var_decl(v)
                self.semicolon()
                return decl
            if v == "async" and self.at("function", 1):
                self.take()
                v = "function"
            if v == "function" and nxt.kind == "name":
                self.take()
                name = self.take().value
                fn = self.function_rest(name, line)
                return ("fundecl", name, fn)
            if v == "if":
                self.take()
                self.expect("(")
                test = self.expression()
                self.expect(")")
                cons = self.statement()
                alt = None
                if self.at("else"):
                    self.take()
                    alt = self.statement()
                return ("if", test, cons, alt)
            if v == "for":
                return self.for_statement()
            if v == "while":
                self.take()
                self.expect("(")
                test = self.expression()
                self.expect(")")
                return ("while", test, self.statement())
            if v == "do":
                self.take()
                body = self.statement()
                self.expect("while")
                self.expect("(")
                test = self.expression()
                self.expect(")")
                self.semicolon()
                return ("dowhile", body, test)
            if v == "return":
                self.take()
                arg = None
                if not (self.at(";") or self.at("}") or self.peek().nl or self.peek().kind == "eof"):
                    arg = self.expression()
                self.semicolon()
                return ("return", arg)
            if v == "throw":
                self.take()
                arg = self.expression()
                self.semicolon()
                return ("throw", arg, line)
            if v in ("break", "continue"):
                self.take()
                self.semicolon()
                return (v,)
            if v == "try":
                self.take()
                body = self.block()
                param, handler, final = None, None, None
                if self.at("catch"):
                    self.take()
                    if self.at("("):
                        self.take()
                        param = self.pattern()
                        if self.at(":"):
                            self.take()
                            self.skip_type()
                        self.expect(")")
                    handler = self.block()
                if self.at("finally"):
                    self.take()
                    final = self.block()
                return ("try", body, param, handler, final)
            if v in ("interface", "enum") and nxt.kind == "name" or v == "declare" and nxt.kind == "name":
                while not self.at("{"):
                    self.take()
                self.i = self.match_close(self.i) + 1
                return ("empty",)
            if v == "abstract" and self.at("class", 1):
                self.take()
                v = "class"
            if v == "class" and nxt.kind == "name":
                while not self.at("{"):
                    self.take()
                self.i = self.match_close(self.i) + 1
                return ("empty",)
            if v == "type" and nxt.kind == "name" and (self.at("=", 2) or self.at("<", 2)):
                depth = 0
                while True:
                    t = self.take()
                    if t.kind == "punct" and t.value in ("(", "[", "{", "<"):
                        depth += 1
                    elif t.kind == "punct" and t.value in (")", "]", "}", ">"):
                        depth -= 1
                    elif t.kind == "eof" or (t.kind == "punct" and t.value == ";" and depth <= 0):
                        return ("empty",)
            if v == "import" and not (nxt.kind == "punct" and nxt.value in ("(", ".")):
                while not (self.at(";") or self.peek().kind == "eof"):
                    t = self.take()
                    if t.kind == "str" and not self.at(";"):
                        break
                self.semicolon()
                return ("empty",)
            if v == "export":
                self.take()
                if self.at("default"):
                    self.take()
                return self.statement()
            if v == "switch":
                self.take()
                self.expect("(")
                disc = self.expression()
                self.expect(")")
                self.expect("{")
                cases = []
                while not self.at("}"):
                    if self.at("case"):
                        self.take()
                        test = self.expression()
                    else:
                        self.expect("default")
                        test = None
                    self.expect(":")
                    body = []
                    while not (self.at("case") or self.at("default") or self.at("}")):
                        body.append(self.statement())
                    cases.append((test, body))
                self.take()
                return ("switch", disc, cases)
        expr = self.expression()
        self.semicolon()
        return ("expr", expr)

    def for_statement(self):
        self.take()
        if self.at("await"):
            self.take()
        self.expect("(")
        init = None
        if self.at("const") or self.at("let") or self.at("var"):
            kind = self.take().value
            save = self.i
            pat = self.pattern()
            if self.at(":"):
                self.take()
                self.skip_type()
            if self.at("of") or self.at("in"):
                which = self.take().value
                iterable = self.expression()
                self.expect(")")
                return ("forof" if which == "of" else "forin", kind, pat, iterable, self.statement())
            self.i = save
            init = self.var_decl(kind)
        elif not self.at(";"):
            init = ("expr", self.expression())
        self.expect(";")
        test = None if self.at(";") else self.expression()
        self.expect(";")
        update = None if self.at(")") else self.expression()
        self.expect(")")
        return ("for", init, test, update, self.statement())

    def var_decl(self, kind):
        decls = []
        while True:
            pat = self.pattern()
            if self.at("!"):
                self.take()
            if self.at(":"):
                self.take()
                self.skip_type()
            init = None
            if self.at("="):
                self.take()
                init = self.assignment()
            decls.append((pat, init))
            if not self.at(","):
                break
            self.take()
        return ("var", kind, decls)

    # ---- patterns (destructuring)
    def pattern(self):
        tok = self.peek()
        if tok.kind == "punct" and tok.value == "[":
            self.take()
            elems, rest = [], None
            while not self.at("]"):
                if self.at(","):
                    self.take()
                    elems.append(None)
                    continue
                if self.at("..."):
                    self.take()
                    rest = self.pattern()
                else:
                    elems.append(self.pattern_with_default())
                if self.at(","):
                    self.take()
            self.take()
            return ("parr", elems, rest)
        if tok.kind == "punct" and tok.value == "{":
            self.take()
            props, rest = [], None
            while not self.at("}"):
                if self.at("..."):
                    self.take()
                    rest = self.pattern()
                else:
                    ktok = self.take()
                    if ktok.kind == "punct" and ktok.value == "[":
                        key = self.assignment()
                        self.expect("]")
                        computed = True
                    else:
                        key, computed = ktok.value, False
                    if self.at(":"):
                        self.take()
                        sub = self.pattern_with_default()
                    else:
                        sub = ("pid", key)
                        if self.at("="):
                            self.take()
                            sub = ("pdef", sub, self.assignment())
                    props.append((key, computed, sub))
                if self.at(","):
                    self.take()
            self.take()
            return ("pobj", props, rest)
        tok = self.take()
        if tok.kind != "name":
            raise ParseError(f"expected a name at line {tok.line}, found {tok.value!r}")
        return ("pid", tok.value)

    def pattern_with_default(self):
        pat = self.pattern()
        if self.at("="):
            self.take()
            return ("pdef", pat, self.assignment())
        return pat

    def params(self):
        """At '(' of a parameter list: parses up to and including ')'."""
        self.expect("(")
        params = []
        while not self.at(")"):
            if self.at("..."):
                self.take()
                pat = ("prest", self.pattern())
            else:
                while self.peek().kind == "name" and self.peek().value in ("readonly", "public", "private",
                                                                           "protected", "final") \
                        and self.peek(1).kind == "name":
                    self.take()
                pat = self.pattern()
            if self.at("?"):
                self.take()
            if self.at(":"):
                self.take()
                self.skip_type()
            if self.at("="):
                self.take()
                pat = ("pdef", pat, self.assignment())
            params.append(pat)
            if self.at(","):
                self.take()
        self.expect(")")
        return params

    def function_rest(self, name, line):
        if self.at("<"):
            self.i = self.match_close(self.i) + 1
        params = self.params()
        if self.at(":"):
            self.take()
            self.skip_type(stops=("{",))
        body = self.block()
        return ("func", params, body, False, name, line)

    # ---- expressions
    def expression(self):
        e = self.assignment()
        if self.at(","):
            seq = [e]
            while self.at(","):
                self.take()
                seq.append(self.assignment())
            return ("seq", seq)
        return e

    def arrow_ahead(self) -> bool:
        tok = self.peek()
        if tok.kind == "name" and self.at("=>", 1):
            return True
        if tok.kind == "name" and tok.value == "async" and (self.at("(", 1) or self.peek(1).kind == "name"):
            return self._arrow_after_parens(self.i + 1) if self.at("(", 1) else self.at("=>", 2)
        if tok.kind == "punct" and tok.value == "(":
            return self._arrow_after_parens(self.i)
        if tok.kind == "punct" and tok.value == "<":  # generic arrow <T>(x: T) => ...
            try:
                j = self.match_close(self.i)
            except ParseError:
                return False
            return self.t[j + 1].value == "(" and self._arrow_after_parens(j + 1)
        return False

    def _arrow_after_parens(self, i) -> bool:
        try:
            j = self.match_close(i)
        except ParseError:
            return False
        nxt = self.t[j + 1]
        if nxt.kind == "punct" and nxt.value == "=>":
            return True
        if nxt.kind == "punct" and nxt.value == ":":
            save = self.i
            try:
                self.i = j + 2
                self.skip_type(stops=("=>", ";", ",", ")", "]", "}", "="))
                return self.at("=>")
            except ParseError:
                return False
            finally:
                self.i = save
        return False

    def arrow(self):
        line = self.peek().line
        if self.at("async"):
            self.take()
        if self.at("<"):
            self.i = self.match_close(self.i) + 1
        if self.peek().kind == "name":
            params = [("pid", self.take().value)]
        else:
            params = self.params()
            if self.at(":"):
                self.take()
                self.skip_type(stops=("=>",))
        self.expect("=>")
        if self.at("{"):
            return ("func", params, self.block(), True, None, line)
        return ("func", params, [("return", self.assignment())], True, None, line)

    def assignment(self):
        if self.arrow_ahead():
            return self.arrow()
        left = self.conditional()
        tok = self.peek()
        if tok.kind == "punct" and tok.value in ASSIGN_OPS:
            self.take()
            right = self.assignment()
            return ("assign", tok.value, self.to_target(left), right)
        return left

    def to_target(self, e):
        kind = e[0]
        if kind in ("ident", "member", "index"):
            return e
        if kind == "array":
            return ("parr", [None if x is None else self.to_target(x) for x in e[1] if not (x and x[0] == "spread")],
                    next((self.to_target(x[1]) for x in e[1] if x and x[0] == "spread"), None))
        if kind == "object":
            props = []
            for p in e[1]:
                if p[0] == "spread":
                    continue
                _, key, computed, value = p
                props.append((key, computed, self.to_target(value)))
            return ("pobj", props, None)
        if kind == "assign" and e[1] == "=":
            return ("pdef", self.to_target(e[2]), e[3])
        raise ParseError(f"cannot assign to {kind}")

    def conditional(self):
        test = self.binary(0)
        if self.at("?"):
            self.take()
            cons = self.assignment()
            self.expect(":")
            alt = self.assignment()
            return ("cond", test, cons, alt)
        return test

    def binary(self, min_prec):
        left = self.unary()
        while True:
            tok = self.peek()
            op = tok.value if tok.kind in ("punct", "name") else None
            prec = BINARY_PREC.get(op)
            if prec is None or prec <= min_prec:
                return left
            if tok.kind == "name" and op not in ("instanceof", "in", "as", "satisfies"):
                return left
            if op in ("as", "satisfies") and tok.nl:
                return left
            self.take()
            if op in ("as", "satisfies"):
                self.skip_type(stops=("=", ";", ",", ")", "]", "}", "=>", "?", ":", "&&", "||", "??", "+", "-",
                                      "*", "===", "!==", "==", "!=", "."))
                continue
            right = self.binary(prec - 1 if op == "**" else prec)
            left = ("logical" if op in ("&&", "||", "??") else "binary", op, left, right)

    def unary(self):
        tok = self.peek()
        if tok.kind == "punct" and tok.value in ("!", "-", "+", "~"):
            self.take()
            return ("unary", tok.value, self.unary())
        if tok.kind == "punct" and tok.value in ("++", "--"):
            self.take()
            return ("update", tok.value, self.unary(), True)
        if tok.kind == "name" and tok.value in ("typeof", "void", "delete", "await"):
            nxt = self.peek(1)
            if not (nxt.kind == "punct" and nxt.value in (")", ",", ";", ".", "=")):
                self.take()
                return ("unary", tok.value, self.unary())
        if tok.kind == "punct" and tok.value == "<" and self.peek(1).kind == "name" and self.at(">", 2):
            self.i += 3  # <Type>expr cast (old TypeScript / Java generic method call)
            return self.unary()
        e = self.postfix()
        tok = self.peek()
        if tok.kind == "punct" and tok.value in ("++", "--") and not tok.nl:
            self.take()
            return ("update", tok.value, e, False)
        return e

    def postfix(self):
        e = self.primary()
        while True:
            tok = self.peek()
            if tok.kind == "punct":
                v = tok.value
                if v == "." or v == "?.":
                    self.take()
                    if self.at("(") and v == "?.":
                        e = ("call", e, self.arguments(), tok.line, True)
                        continue
                    if self.at("[") and v == "?.":
                        self.take()
                        idx = self.expression()
                        self.expect("]")
                        e = ("index", e, idx, True)
                        continue
                    name = self.take()
                    if name.kind == "punct" and name.value == "#":
                        name = self.take()
                    e = ("member", e, name.value, v == "?.")
                    continue
                if v == "[" and not tok.nl or v == "[" and e[0] != "ident":
                    self.take()
                    idx = self.expression()
                    self.expect("]")
                    e = ("index", e, idx, False)
                    continue
                if v == "(":
                    e = ("call", e, self.arguments(), tok.line, False)
                    continue
                if v == "!" and (self.peek(1).kind == "eof" or self.peek(1).value in (".", ")", ",", ";", "]", "}", "[", "(", "?.")
                                 or self.peek(1).nl):
                    self.take()  # TypeScript non-null assertion
                    continue
                if v == "<" and self.try_generic_args():
                    continue
            if tok.kind == "tmpl":
                self.take()
                e = ("tagged", e, self.template(tok))
                continue
            return e

    def arguments(self):
        self.expect("(")
        args = []
        while not self.at(")"):
            if self.at("..."):
                self.take()
                args.append(("spread", self.assignment()))
            else:
                args.append(self.assignment())
            if self.at(","):
                self.take()
            elif not self.at(")"):
                raise ParseError(f"expected , or ) at line {self.peek().line}, found {self.peek().value!r}")
        self.take()
        return args

    def template(self, tok):
        quasis, token_lists = tok.value
        exprs = []
        for toks in token_lists:
            sub = Parser(toks)
            exprs.append(sub.expression())
        return ("tmpl", quasis, exprs, tok.line)

    def primary(self):
        tok = self.take()
        k, v = tok.kind, tok.value
        if k == "num":
            return ("num", v)
        if k in ("str", "char"):
            return ("str", v, tok.line)
        if k == "tmpl":
            return self.template(tok)
        if k == "regex":
            return ("regex", v[0], v[1])
        if k == "name":
            if v == "function":
                name = self.take().value if self.peek().kind == "name" else None
                return self.function_rest(name, tok.line)
            if v == "new":
                callee = self.primary()
                while self.at(".") or (self.at("<") and self.try_generic_args_new()):
                    if self.at("."):
                        self.take()
                        callee = ("member", callee, self.take().value, False)
                args = self.arguments() if self.at("(") else []
                if self.at("{"):  # Java anonymous class body
                    self.i = self.match_close(self.i) + 1
                return ("new", callee, args, tok.line)
            if v == "class":
                while not self.at("{"):
                    self.take()
                self.i = self.match_close(self.i) + 1
                return ("unknown", "class expression")
            if v in ("true", "false"):
                return ("lit", v == "true")
            if v == "null":
                return ("lit", None)
            if v == "undefined":
                return ("lit", UNDEF)
            if v == "this":
                return ("this",)
            return ("ident", v, tok.line)
        if k == "punct":
            if v == "(":
                e = self.expression()
                self.expect(")")
                return ("paren", e)
            if v == "[":
                elems = []
                while not self.at("]"):
                    if self.at(","):
                        self.take()
                        elems.append(("hole",))
                        continue
                    if self.at("..."):
                        self.take()
                        elems.append(("spread", self.assignment()))
                    else:
                        elems.append(self.assignment())
                    if self.at(","):
                        self.take()
                    elif not self.at("]"):
                        raise ParseError(f"expected , or ] at line {self.peek().line}, found {self.peek().value!r}")
                self.take()
                return ("array", elems, tok.line)
            if v == "{":
                return self.object_literal(tok)
        raise ParseError(f"unexpected {v!r} at line {tok.line}")

    def try_generic_args_new(self):
        try:
            j = self.match_close(self.i)
        except ParseError:
            return False
        self.i = j + 1
        return True

    def object_literal(self, tok):
        props = []
        while not self.at("}"):
            if self.at("..."):
                self.take()
                props.append(("spread", self.assignment()))
            else:
                ktok = self.take()
                computed = False
                if ktok.kind == "punct" and ktok.value == "[":
                    key = self.assignment()
                    self.expect("]")
                    computed = True
                elif ktok.kind == "num":
                    key = JSStr.make(js_num_str(ktok.value), ktok.line)
                else:
                    key = JSStr.make(ktok.value, ktok.line)
                if not computed and ktok.kind == "name" and key in ("get", "set", "async") and \
                        self.peek().kind == "name":
                    ktok = self.take()
                    key = ktok.value
                if self.at("(") or self.at("<"):
                    fn = self.function_rest(key, ktok.line)
                    props.append(("prop", key, computed, fn))
                elif self.at(":"):
                    self.take()
                    props.append(("prop", key, computed, self.assignment()))
                elif self.at("="):  # shorthand with default, only valid as a pattern
                    self.take()
                    props.append(("prop", key, computed, ("assign", "=", ("ident", key, ktok.line), self.assignment())))
                else:
                    props.append(("prop", key, computed, ("ident", key, ktok.line)))
            if self.at(","):
                self.take()
            elif not self.at("}"):
                raise ParseError(f"expected , or }} at line {self.peek().line}, found {self.peek().value!r}")
        self.take()
        return ("object", props, tok.line)


# ============================================================ values

class _Undef:
    _inst = None

    def __new__(cls):
        if cls._inst is None:
            cls._inst = super().__new__(cls)
        return cls._inst

    def __repr__(self):
        return "undefined"

    def __bool__(self):
        return False


UNDEF = _Undef()


class Unknown:
    """A value the interpreter cannot know; taints whatever is computed from it."""

    def __init__(self, reason: str):
        self.reason = reason

    def __repr__(self):
        return f"Unknown({self.reason})"


class JSStr(str):
    line = None

    @staticmethod
    def make(value: str, line=None):
        s = JSStr(value)
        s.line = line
        return s


def with_line(s: str, *parts):
    lines = [p.line for p in parts if isinstance(p, JSStr) and p.line is not None]
    return JSStr.make(s, min(lines) if lines else None)


class JSArray(list):
    line = None


class JSObject(dict):
    line = None


def line_of(v):
    return getattr(v, "line", None) if isinstance(v, (JSStr, JSArray, JSObject)) else None


class JSRegex:
    def __init__(self, pattern, flags):
        self.pattern, self.flags = pattern, flags

    def py(self):
        flags = re.I if "i" in self.flags else 0
        if "m" in self.flags:
            flags |= re.M
        if "s" in self.flags:
            flags |= re.S
        return re.compile(self.pattern, flags)


class JSFunction:
    def __init__(self, node, scope, this=None):
        self.node, self.scope, self.this = node, scope, this
        self.name = node[4]


class Native:
    def __init__(self, fn, name=""):
        self.fn, self.name = fn, name


class JSThrow(Exception):
    def __init__(self, value):
        super().__init__(repr(value))
        self.value = value


class JSAbort(Exception):
    """The interpreter met something it does not model (it aborts the current test body)."""


class _Return(Exception):
    def __init__(self, value):
        self.value = value


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Host:
    """Base of objects the interpreter models natively (documents, test contexts, results)."""

    def get(self, name):
        return Unknown(f"{type(self).__name__}.{name}")

    def set(self, name, value):
        pass


def js_num_str(x: float) -> str:
    """JavaScript's Number.prototype.toString() for a float."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    r = repr(float(x))
    m = re.fullmatch(r"(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?", r)
    sign, ip, fp, exp = m.group(1), m.group(2), m.group(3) or "", int(m.group(4) or 0)
    digits = (ip + fp).lstrip("0")
    # decimal exponent n such that value = 0.digits * 10^n
    point = len(ip) + exp if ip != "0" else exp - (len(fp) - len(fp.lstrip("0")))
    if ip == "0":
        digits = fp.lstrip("0")
    digits = digits.rstrip("0") or "0"
    k, n = len(digits), point
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    mant = digits[0] + ("." + digits[1:] if k > 1 else "")
    return sign + mant + "e" + ("+" if e >= 0 else "-") + str(abs(e))


def java_double_str(x: float) -> str:
    """Java's Double.toString(), for string concatenation in JavaRosa's tests."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1, x) < 0 else "0.0"
    if 1e-3 <= abs(x) < 1e7:
        r = repr(float(x))
        return r if "." in r else r + ".0"
    mant, exp = f"{x:.17e}".split("e")
    r = repr(float(x))
    digits = re.sub(r"[.\-]|e.*", "", r).lstrip("0").rstrip("0") or "0"
    e = int(math.floor(math.log10(abs(x))))
    sign = "-" if x < 0 else ""
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{e}"


# ============================================================ interpreter

def debug(message):
    if os.environ.get("PEER_XPATH_DEBUG"):
        print("  debug:", message, file=sys.stderr)


class Scope:
    def __init__(self, parent=None):
        self.vars, self.parent = {}, parent

    def lookup(self, name):
        s = self
        while s is not None:
            if name in s.vars:
                return s
            s = s.parent
        return None

    def get(self, name):
        s = self.lookup(name)
        if s is None:
            return Unknown(f"undefined name {name}")
        return s.vars[name]

    def declare(self, name, value):
        self.vars[name] = value

    def assign(self, name, value):
        s = self.lookup(name) or self
        s.vars[name] = value


def is_unknown(*values):
    return any(isinstance(v, Unknown) for v in values)


def truthy(v) -> bool:
    if isinstance(v, Unknown):
        raise JSAbort(f"a condition depends on {v.reason}")
    if v is None or v is UNDEF:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, float):
        return not (v == 0 or math.isnan(v))
    if isinstance(v, str):
        return v != ""
    return True


def to_str(v, java=False) -> str:
    if isinstance(v, JSStr):
        return v
    if isinstance(v, str):
        return JSStr.make(v)
    if v is None:
        return JSStr.make("null")
    if v is UNDEF:
        return JSStr.make("undefined")
    if isinstance(v, bool):
        return JSStr.make("true" if v else "false")
    if isinstance(v, float):
        return JSStr.make(java_double_str(v) if java else js_num_str(v))
    if isinstance(v, JSArray):
        return with_line(",".join("" if x is None or x is UNDEF else to_str(x) for x in v), *v)
    if isinstance(v, JSRegex):
        return JSStr.make(f"/{v.pattern}/{v.flags}")
    if isinstance(v, JSDate):
        return JSStr.make(v.to_string())
    if isinstance(v, JSObject):
        return JSStr.make("[object Object]")
    if isinstance(v, Unknown):
        raise JSAbort(v.reason)
    if isinstance(v, (ResultValue, XResult)):
        raise JSAbort("a peer result used in JavaScript")
    if isinstance(v, Host):
        s = v.get("toString")
        if isinstance(s, Native):
            return to_str(s.fn(v, [], None))
        return JSStr.make(f"[{type(v).__name__}]")
    return JSStr.make(str(v))


def to_num(v) -> float:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, float):
        return v
    if v is None:
        return 0.0
    if v is UNDEF:
        return math.nan
    if isinstance(v, str):
        s = v.strip()
        if s == "":
            return 0.0
        try:
            if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?Infinity", s):
                return float(s.replace("Infinity", "inf"))
            if re.fullmatch(r"0[xX][0-9a-fA-F]+", s):
                return float(int(s, 16))
        except ValueError:
            pass
        return math.nan
    if isinstance(v, JSDate):
        return v.ms
    if isinstance(v, JSArray):
        return to_num(to_str(v)) if len(v) <= 1 else math.nan
    if isinstance(v, Unknown):
        raise JSAbort(v.reason)
    return math.nan


def strict_equal(a, b) -> bool:
    if is_unknown(a, b):
        raise JSAbort("comparison with an unknown value")
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and isinstance(b, float):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return str(a) == str(b)
    if isinstance(a, (float, str)) or isinstance(b, (float, str)):
        return False
    return a is b


def loose_equal(a, b) -> bool:
    if (a is None or a is UNDEF) and (b is None or b is UNDEF):
        return True
    if a is None or a is UNDEF or b is None or b is UNDEF:
        return False
    if type(a) is type(b) or (isinstance(a, str) and isinstance(b, str)):
        return strict_equal(a, b)
    if isinstance(a, (float, bool, str)) and isinstance(b, (float, bool, str)):
        return to_num(a) == to_num(b)
    return a is b


def js_typeof(v):
    if v is UNDEF:
        return "undefined"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (JSFunction, Native)):
        return "function"
    if isinstance(v, Unknown):
        raise JSAbort(v.reason)
    return "object"


def _js_round(x):
    return math.floor(x + 0.5) if math.isfinite(x) else x


class Interp:
    def __init__(self, globals_: dict, java=False):
        self.origin: list = []  # lines of the rows and calls that lead to the code running now
        self.globals = Scope()
        self.java = java
        for k, v in globals_.items():
            self.globals.declare(k, v)

    # ---- statements
    def run_body(self, body, scope):
        for st in body:  # hoisting of function declarations
            if st[0] == "fundecl":
                scope.declare(st[1], JSFunction(st[2], scope))
        for st in body:
            self.exec(st, scope)

    def exec(self, st, scope):
        kind = st[0]
        if kind == "expr":
            self.eval(st[1], scope)
        elif kind == "var":
            for pat, init in st[2]:
                value = UNDEF if init is None else self.eval(init, scope)
                self.bind(pat, value, scope, declare=True)
        elif kind in ("empty", "fundecl"):
            pass
        elif kind == "block":
            self.run_body(st[1], Scope(scope))
        elif kind == "if":
            cond = self.eval(st[1], scope)
            if isinstance(cond, Unknown):
                CURRENT["rec"].skip(f"an if statement on an unknown condition was not run ({cond.reason})")
                return
            if truthy(cond):
                self.exec(st[2], Scope(scope))
            elif st[3] is not None:
                self.exec(st[3], Scope(scope))
        elif kind == "return":
            raise _Return(UNDEF if st[1] is None else self.eval(st[1], scope))
        elif kind == "throw":
            raise JSThrow(self.eval(st[1], scope))
        elif kind == "forof":
            iterable = self.eval(st[3], scope)
            for item in self.iterate(iterable):
                inner = Scope(scope)
                self.bind(st[2], item, inner, declare=True)
                self.origin.append(line_of(item))
                try:
                    self.exec(st[4], inner)
                except _Break:
                    break
                except _Continue:
                    continue
                finally:
                    self.origin.pop()
        elif kind == "forin":
            obj = self.eval(st[3], scope)
            keys = list(obj.keys()) if isinstance(obj, dict) else [JSStr.make(str(i)) for i in range(len(obj))]
            for key in keys:
                inner = Scope(scope)
                self.bind(st[2], JSStr.make(key), inner, declare=True)
                try:
                    self.exec(st[4], inner)
                except _Break:
                    break
                except _Continue:
                    continue
        elif kind == "for":
            inner = Scope(scope)
            if st[1] is not None:
                self.exec(st[1], inner)
            guard = 0
            while st[2] is None or truthy(self.eval(st[2], inner)):
                guard += 1
                if guard > 5000:
                    raise JSAbort("loop too long")
                try:
                    self.exec(st[4], Scope(inner))
                except _Break:
                    break
                except _Continue:
                    pass
                if st[3] is not None:
                    self.eval(st[3], inner)
        elif kind in ("while", "dowhile"):
            guard = 0
            test, body = (st[1], st[2]) if kind == "while" else (st[2], st[1])
            first = kind == "dowhile"
            while first or truthy(self.eval(test, scope)):
                first = False
                guard += 1
                if guard > 5000:
                    raise JSAbort("loop too long")
                try:
                    self.exec(body, Scope(scope))
                except _Break:
                    break
                except _Continue:
                    pass
        elif kind == "break":
            raise _Break()
        elif kind == "continue":
            raise _Continue()
        elif kind == "try":
            try:
                self.run_body(st[1], Scope(scope))
            except JSThrow as exc:
                if st[3] is None:
                    raise
                inner = Scope(scope)
                if st[2] is not None:
                    self.bind(st[2], exc.value, inner, declare=True)
                self.run_body(st[3], inner)
            finally:
                if st[4] is not None:
                    self.run_body(st[4], Scope(scope))
        elif kind == "switch":
            disc = self.eval(st[1], scope)
            matched = False
            try:
                for test, body in st[2]:
                    if not matched and (test is None or strict_equal(disc, self.eval(test, scope))):
                        matched = True
                    if matched:
                        self.run_body(body, Scope(scope))
            except _Break:
                pass
        else:
            raise JSAbort(f"statement {kind}")

    def iterate(self, v):
        if isinstance(v, (list, tuple)):
            return list(v)
        if isinstance(v, str):
            return [JSStr.make(c, v.line if isinstance(v, JSStr) else None) for c in v]
        if isinstance(v, Host) and hasattr(v, "items"):
            return v.items()
        if isinstance(v, Unknown):
            raise JSAbort(v.reason)
        raise JSAbort(f"cannot iterate {type(v).__name__}")

    def bind(self, pat, value, scope, declare):
        kind = pat[0]
        if kind == "pid":
            (scope.declare if declare else scope.assign)(pat[1], value)
        elif kind == "ident":
            scope.assign(pat[1], value)
        elif kind == "pdef":
            if value is UNDEF:
                value = self.eval(pat[2], scope)
            self.bind(pat[1], value, scope, declare)
        elif kind == "prest":
            self.bind(pat[1], value, scope, declare)
        elif kind == "parr":
            if isinstance(value, Unknown):
                items = [value] * (len(pat[1]) + 1)
            else:
                items = self.iterate(value)
            for idx, sub in enumerate(pat[1]):
                if sub is not None:
                    self.bind(sub, items[idx] if idx < len(items) else UNDEF, scope, declare)
            if pat[2] is not None:
                self.bind(pat[2], JSArray(items[len(pat[1]):]), scope, declare)
        elif kind == "pobj":
            used = set()
            for key, computed, sub in pat[1]:
                if computed:
                    key = to_str(self.eval(key, scope))
                used.add(key)
                self.bind(sub, self.get_prop(value, key), scope, declare)
            if pat[2] is not None:
                rest = JSObject({k: v for k, v in value.items() if k not in used}) if isinstance(value, dict) \
                    else Unknown("rest of a non-object")
                self.bind(pat[2], rest, scope, declare)
        elif kind in ("member", "index"):
            obj = self.eval(pat[1], scope)
            key = pat[2] if kind == "member" else self.eval(pat[2], scope)
            self.set_prop(obj, key, value)
        else:
            raise JSAbort(f"pattern {kind}")

    # ---- expressions
    def eval(self, e, scope):
        kind = e[0]
        if kind == "num":
            return e[1]
        if kind == "str":
            return JSStr.make(e[1], e[2])
        if kind == "lit":
            return e[1]
        if kind == "ident":
            name = e[1]
            if name == "undefined":
                return UNDEF
            return scope.get(name)
        if kind == "paren":
            return self.eval(e[1], scope)
        if kind == "tmpl":
            parts = [JSStr.make(e[1][0], e[3])]
            for k, sub in enumerate(e[2]):
                v = self.eval(sub, scope)
                if isinstance(v, Unknown) or isinstance(v, (ResultValue, XResult)):
                    return v if isinstance(v, Unknown) else Unknown("a peer result in a template")
                parts.append(to_str(v, self.java))
                parts.append(JSStr.make(e[1][k + 1], e[3]))
            interpolated = parts[1::2]
            text = "".join(parts)
            if interpolated and any(isinstance(p, JSStr) and p.line is not None for p in interpolated):
                return with_line(text, *interpolated)
            return JSStr.make(text, e[3])
        if kind == "tagged":
            tag = self.eval(e[1], scope)
            if isinstance(tag, Native) and tag.name == "xml":  # web-forms' xml`...` parses a document
                return Doc(self.eval(e[2], scope))
            return self.eval(e[2], scope) if not isinstance(tag, Unknown) else tag
        if kind == "regex":
            return JSRegex(e[1], e[2])
        if kind == "array":
            out = JSArray()
            for el in e[1]:
                if el[0] == "spread":
                    out.extend(self.iterate(self.eval(el[1], scope)))
                elif el[0] == "hole":
                    out.append(UNDEF)
                else:
                    out.append(self.eval(el, scope))
            out.line = e[2]
            return out
        if kind == "object":
            obj = JSObject()
            for p in e[1]:
                if p[0] == "spread":
                    v = self.eval(p[1], scope)
                    if isinstance(v, dict):
                        obj.update(v)
                    continue
                _, key, computed, value = p
                if computed:
                    key = to_str(self.eval(key, scope))
                obj[key if isinstance(key, JSStr) else JSStr.make(str(key))] = self.eval(value, scope)
            obj.line = e[2]
            return obj
        if kind == "func":
            return JSFunction(e, scope, this=scope.get("this") if e[3] and scope.lookup("this") else None)
        if kind == "this":
            return scope.get("this") if scope.lookup("this") else UNDEF
        if kind == "member":
            obj = self.eval(e[1], scope)
            if e[3] and (obj is None or obj is UNDEF):
                return UNDEF
            return self.get_prop(obj, e[2])
        if kind == "index":
            obj = self.eval(e[1], scope)
            if e[3] and (obj is None or obj is UNDEF):
                return UNDEF
            key = self.eval(e[2], scope)
            return self.get_prop(obj, key)
        if kind == "call":
            return self.eval_call(e, scope)
        if kind == "new":
            callee = self.eval(e[1], scope)
            args = self.eval_args(e[2], scope)
            if isinstance(callee, Native):
                return callee.fn(NEW, args, e[3])
            if isinstance(callee, Unknown):
                return callee
            if isinstance(callee, JSFunction):
                this = JSObject()
                self.call(callee, args, this=this)
                return this
            raise JSAbort("new of a non-function")
        if kind == "unary":
            op = e[1]
            if op == "typeof":
                if e[2][0] == "ident" and not scope.lookup(e[2][1]):
                    return JSStr.make("undefined")
                return JSStr.make(js_typeof(self.eval(e[2], scope)))
            v = self.eval(e[2], scope)
            if op == "await":
                return v
            if isinstance(v, Unknown):
                return v
            if op == "!":
                return not truthy(v)
            if op == "-":
                return -to_num(v)
            if op == "+":
                return to_num(v)
            if op == "void":
                return UNDEF
            if op == "~":
                return float(~int(to_num(v)))
            if op == "delete":
                return True
        if kind == "update":
            target = e[2]
            old = to_num(self.eval(target, scope))
            new = old + (1 if e[1] == "++" else -1)
            self.assign_to(target, new, scope)
            return new if e[3] else old
        if kind == "logical":
            left = self.eval(e[2], scope)
            if isinstance(left, Unknown):
                return left
            if e[1] == "&&":
                return self.eval(e[3], scope) if truthy(left) else left
            if e[1] == "||":
                return left if truthy(left) else self.eval(e[3], scope)
            return self.eval(e[3], scope) if left is None or left is UNDEF else left
        if kind == "binary":
            return self.binop(e[1], self.eval(e[2], scope), self.eval(e[3], scope))
        if kind == "cond":
            cond = self.eval(e[1], scope)
            if isinstance(cond, Unknown):
                return cond
            return self.eval(e[2] if truthy(cond) else e[3], scope)
        if kind == "assign":
            op, target = e[1], e[2]
            if op == "=":
                value = self.eval(e[3], scope)
            elif op in ("??=", "||=", "&&="):
                cur = self.eval(target, scope)
                if op == "??=" and not (cur is None or cur is UNDEF) or op == "||=" and truthy(cur) \
                        or op == "&&=" and not truthy(cur):
                    return cur
                value = self.eval(e[3], scope)
            else:
                value = self.binop(op[:-1], self.eval(target, scope), self.eval(e[3], scope))
            self.assign_to(target, value, scope)
            return value
        if kind == "seq":
            v = UNDEF
            for sub in e[1]:
                v = self.eval(sub, scope)
            return v
        if kind == "unknown":
            return Unknown(e[1])
        raise JSAbort(f"expression {kind}")

    def assign_to(self, target, value, scope):
        if target[0] == "ident":
            scope.assign(target[1], value)
        else:
            self.bind(target, value, scope, declare=False)

    def binop(self, op, a, b):
        if op in ("===", "!=="):
            if is_unknown(a, b):
                return Unknown("comparison with an unknown value")
            return strict_equal(a, b) == (op == "===")
        if op in ("==", "!="):
            if is_unknown(a, b):
                return Unknown("comparison with an unknown value")
            return loose_equal(a, b) == (op == "==")
        if is_unknown(a, b):
            return a if isinstance(a, Unknown) else b
        if op == "+":
            if isinstance(a, JSDate) or isinstance(b, JSDate):
                a = to_str(a) if isinstance(a, JSDate) else a
                b = to_str(b) if isinstance(b, JSDate) else b
            if isinstance(a, (str, JSArray, JSObject)) or isinstance(b, (str, JSArray, JSObject)):
                sa, sb = to_str(a, self.java), to_str(b, self.java)
                return with_line(sa + sb, sa, sb)
            return to_num(a) + to_num(b)
        if op == "instanceof":
            return isinstance(b, Native) and b.name == "Date" and isinstance(a, JSDate)
        if op == "in":
            return isinstance(b, dict) and to_str(a) in b
        if op in ("<", ">", "<=", ">="):
            if isinstance(a, str) and isinstance(b, str):
                x, y = str(a), str(b)
            else:
                x, y = to_num(a), to_num(b)
                if math.isnan(x) or math.isnan(y):
                    return False
            return {"<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]
        x, y = to_num(a), to_num(b)
        if op == "-":
            return x - y
        if op == "*":
            return x * y
        if op == "/":
            if y == 0:
                return math.nan if x == 0 or math.isnan(x) else math.copysign(math.inf, x) * math.copysign(1, y)
            return x / y
        if op == "%":
            try:
                return math.fmod(x, y)
            except ValueError:
                return math.nan
        if op == "**":
            try:
                return float(x ** y)
            except (OverflowError, ZeroDivisionError):
                return math.inf
        ix, iy = int(x) if math.isfinite(x) else 0, int(y) if math.isfinite(y) else 0
        return float({"&": ix & iy, "|": ix | iy, "^": ix ^ iy, "<<": ix << (iy & 31), ">>": ix >> (iy & 31),
                      ">>>": (ix % 2 ** 32) >> (iy & 31)}[op])

    def eval_args(self, args, scope):
        out = []
        for a in args:
            if a[0] == "spread":
                out.extend(self.iterate(self.eval(a[1], scope)))
            else:
                out.append(self.eval(a, scope))
        return out

    def eval_call(self, e, scope):
        callee_node = e[1]
        this = UNDEF
        if callee_node[0] in ("member", "index"):
            this = self.eval(callee_node[1], scope)
            if isinstance(this, Unknown):
                return this
            if (this is None or this is UNDEF) and callee_node[3]:
                return UNDEF
            key = callee_node[2] if callee_node[0] == "member" else self.eval(callee_node[2], scope)
            fn = self.get_prop(this, key)
        else:
            fn = self.eval(callee_node, scope)
        if e[4] and (fn is None or fn is UNDEF):
            return UNDEF
        args = self.eval_args(e[2], scope)
        self.last_line = e[3]
        return self.call(fn, args, this=this, line=e[3])

    def call(self, fn, args, this=UNDEF, line=None):
        if isinstance(fn, Native):
            return fn.fn(this, args, line)
        if isinstance(fn, JSFunction):
            self.origin.append(line)
            try:
                return self._call_js(fn, args, this)
            finally:
                self.origin.pop()
        if isinstance(fn, Unknown):
            return fn
        raise JSAbort(f"call of a non-function ({fn!r:.60})")

    def row(self, item, fn, args):
        """Calls fn for one row of a table: the row's line becomes part of the origin."""
        self.origin.append(line_of(item))
        try:
            return self.call(fn, args)
        finally:
            self.origin.pop()

    def _call_js(self, fn, args, this):
        node = fn.node
        scope = Scope(fn.scope)
        if not node[3]:
            scope.declare("this", this)
            scope.declare("arguments", JSArray(args))
        for idx, pat in enumerate(node[1]):
            if pat[0] == "prest":
                self.bind(pat[1], JSArray(args[idx:]), scope, declare=True)
                break
            self.bind(pat, args[idx] if idx < len(args) else UNDEF, scope, declare=True)
        try:
            self.run_body(node[2], scope)
        except _Return as r:
            return r.value
        return UNDEF

    # ---- properties
    def get_prop(self, obj, key):
        if isinstance(obj, Unknown):
            return obj
        if isinstance(key, Unknown):
            return key
        if isinstance(key, float) and isinstance(obj, (list, str)):
            idx = int(key) if key == int(key) else -1
            if isinstance(obj, str):
                return with_line(obj[idx], obj) if 0 <= idx < len(obj) else UNDEF
            return obj[idx] if 0 <= idx < len(obj) else UNDEF
        key = str(to_str(key)) if not isinstance(key, str) else str(key)
        if obj is None or obj is UNDEF:
            raise JSAbort(f"property {key} of {obj!r}")
        if isinstance(obj, Host):
            return obj.get(key)
        if isinstance(obj, JSObject):
            if key in obj:
                return obj[key]
            if key == "hasOwnProperty":
                return Native(lambda this, a, l: to_str(a[0]) in obj)
            return UNDEF
        if isinstance(obj, JSArray):
            if key.isdigit():
                idx = int(key)
                return obj[idx] if idx < len(obj) else UNDEF
            return array_method(self, obj, key)
        if isinstance(obj, str):
            if key.isdigit():
                idx = int(key)
                return with_line(obj[idx], obj) if idx < len(obj) else UNDEF
            return string_method(self, obj, key)
        if isinstance(obj, bool):
            if key == "toString":
                return Native(lambda this, a, l: to_str(obj))
            return UNDEF
        if isinstance(obj, float):
            return number_method(obj, key)
        if isinstance(obj, JSRegex):
            if key == "test":
                return Native(lambda this, a, l: bool(obj.py().search(to_str(a[0]))))
            if key == "source":
                return JSStr.make(obj.pattern)
            return UNDEF
        if isinstance(obj, (JSFunction, Native)):
            if key == "call":
                return Native(lambda this, a, l: self.call(obj, a[1:], this=a[0] if a else UNDEF))
            if key == "apply":
                return Native(lambda this, a, l: self.call(obj, list(a[1]) if len(a) > 1 else [], this=a[0]))
            if key == "bind":
                return Native(lambda this, a, l: Native(lambda t2, a2, l2: self.call(obj, list(a[1:]) + list(a2),
                                                                                      this=a[0])))
            if key == "name":
                return JSStr.make(obj.name or "")
            if isinstance(obj, Native) and hasattr(obj, "props") and key in obj.props:
                return obj.props[key]
            if isinstance(obj, Native) and hasattr(obj, "props_fn"):
                v = obj.props_fn(key)
                if v is not None:
                    return v
            return UNDEF
        return Unknown(f"property {key} of {type(obj).__name__}")

    def set_prop(self, obj, key, value):
        if isinstance(obj, Unknown):
            return
        if isinstance(obj, JSObject):
            obj[str(to_str(key))] = value
        elif isinstance(obj, JSArray):
            idx = int(to_num(key)) if not (isinstance(key, str) and not key.isdigit()) else None
            if idx is None:
                if key == "length":
                    del obj[int(to_num(value)):]
                return
            while len(obj) <= idx:
                obj.append(UNDEF)
            obj[idx] = value
        elif isinstance(obj, Host):
            obj.set(str(key), value)


NEW = object()  # 'this' of a native called with new


def array_method(interp, arr, key):
    N = lambda f: Native(f, key)  # noqa: E731
    if key == "length":
        return float(len(arr))
    if key == "forEach":
        def for_each(this, a, l):
            for idx, item in enumerate(list(arr)):
                interp.row(item, a[0], [item, float(idx), arr])
            return UNDEF
        return N(for_each)
    if key == "map":
        return N(lambda this, a, l: JSArray(interp.row(x, a[0], [x, float(i), arr]) for i, x in enumerate(list(arr))))
    if key == "flatMap":
        def flat_map(this, a, l):
            out = JSArray()
            for i, x in enumerate(list(arr)):
                r = interp.row(x, a[0], [x, float(i), arr])
                out.extend(r) if isinstance(r, list) else out.append(r)
            return out
        return N(flat_map)
    if key == "filter":
        return N(lambda this, a, l: JSArray(x for i, x in enumerate(list(arr)) if truthy(interp.call(a[0], [x, float(i), arr]))))
    if key == "find":
        return N(lambda this, a, l: next((x for i, x in enumerate(arr) if truthy(interp.call(a[0], [x, float(i)]))), UNDEF))
    if key == "findIndex":
        return N(lambda this, a, l: float(next((i for i, x in enumerate(arr) if truthy(interp.call(a[0], [x, float(i)]))), -1)))
    if key == "some":
        return N(lambda this, a, l: any(truthy(interp.call(a[0], [x, float(i)])) for i, x in enumerate(arr)))
    if key == "every":
        return N(lambda this, a, l: all(truthy(interp.call(a[0], [x, float(i)])) for i, x in enumerate(arr)))
    if key == "reduce":
        def reduce(this, a, l):
            items = list(arr)
            if len(a) > 1:
                acc = a[1]
            else:
                acc, items = items[0], items[1:]
            for i, x in enumerate(items):
                acc = interp.call(a[0], [acc, x, float(i), arr])
            return acc
        return N(reduce)
    if key == "push":
        def push(this, a, l):
            arr.extend(a)
            return float(len(arr))
        return N(push)
    if key == "unshift":
        def unshift(this, a, l):
            arr[0:0] = a
            return float(len(arr))
        return N(unshift)
    if key == "pop":
        return N(lambda this, a, l: arr.pop() if arr else UNDEF)
    if key == "shift":
        return N(lambda this, a, l: arr.pop(0) if arr else UNDEF)
    if key == "concat":
        def concat(this, a, l):
            out = JSArray(arr)
            for x in a:
                out.extend(x) if isinstance(x, list) else out.append(x)
            return out
        return N(concat)
    if key == "join":
        def join(this, a, l):
            sep = to_str(a[0]) if a and a[0] is not UNDEF else ","
            parts = [to_str(x, interp.java) if x is not None and x is not UNDEF else "" for x in arr]
            return with_line(sep.join(parts), *parts)
        return N(join)
    if key == "slice":
        def slice_(this, a, l):
            n = len(arr)
            b = int(to_num(a[0])) if a else 0
            e = int(to_num(a[1])) if len(a) > 1 and a[1] is not UNDEF else n
            return JSArray(arr[b:e])
        return N(slice_)
    if key == "includes":
        return N(lambda this, a, l: any(strict_equal(x, a[0]) if not (isinstance(x, float) and math.isnan(x)) else
                                        isinstance(a[0], float) and math.isnan(a[0]) for x in arr))
    if key == "indexOf":
        return N(lambda this, a, l: float(next((i for i, x in enumerate(arr) if strict_equal(x, a[0])), -1)))
    if key == "flat":
        def flat(this, a, l):
            out = JSArray()
            for x in arr:
                out.extend(x) if isinstance(x, list) else out.append(x)
            return out
        return N(flat)
    if key == "reverse":
        def reverse(this, a, l):
            arr.reverse()
            return arr
        return N(reverse)
    if key == "entries":
        return N(lambda this, a, l: JSArray(JSArray([float(i), x]) for i, x in enumerate(arr)))
    if key == "keys":
        return N(lambda this, a, l: JSArray(float(i) for i in range(len(arr))))
    if key == "values":
        return N(lambda this, a, l: JSArray(arr))
    if key == "fill":
        def fill(this, a, l):
            for i in range(len(arr)):
                arr[i] = a[0]
            return arr
        return N(fill)
    if key == "toString":
        return N(lambda this, a, l: to_str(arr))
    if key == "sort":
        def sort(this, a, l):
            if a:
                import functools
                arr.sort(key=functools.cmp_to_key(lambda x, y: to_num(interp.call(a[0], [x, y]))))
            else:
                arr.sort(key=lambda x: to_str(x))
            return arr
        return N(sort)
    if key == "at":
        return N(lambda this, a, l: arr[int(to_num(a[0]))] if -len(arr) <= int(to_num(a[0])) < len(arr) else UNDEF)
    return UNDEF


def string_method(interp, s, key):
    N = lambda f: Native(f, key)  # noqa: E731
    if key == "length":
        return float(len(s.encode("utf-16-le")) // 2)
    if key in ("replace", "replaceAll"):
        def replace(this, a, l):
            pat, rep = a[0], a[1]
            if isinstance(pat, JSRegex):
                rx = pat.py()
                count = 0 if ("g" in pat.flags or key == "replaceAll") else 1
                if isinstance(rep, (JSFunction, Native)):
                    out = rx.sub(lambda m: to_str(interp.call(rep, [JSStr.make(m.group(0))] + [JSStr.make(g or "") for g in m.groups()])), s, count=count)
                else:
                    r = re.sub(r"\$(\d)", r"\\\1", str(to_str(rep))).replace("$&", r"\g<0>")
                    out = rx.sub(r, s, count=count)
                return with_line(out, s, rep if isinstance(rep, str) else None)
            pat = to_str(pat)
            if isinstance(rep, (JSFunction, Native)):
                if pat not in s:
                    return s
                r = to_str(interp.call(rep, [pat]))
            else:
                r = to_str(rep).replace("$&", pat).replace("$$", "$")
            out = s.replace(pat, r) if key == "replaceAll" else s.replace(pat, r, 1)
            return with_line(out, s, r)
        return N(replace)
    if key == "split":
        def split(this, a, l):
            if not a or a[0] is UNDEF:
                return JSArray([s])
            sep = a[0]
            if isinstance(sep, JSRegex):
                parts = sep.py().split(s)
            elif to_str(sep) == "":
                parts = list(s)
            else:
                parts = s.split(to_str(sep))
            return JSArray(with_line(p, s) for p in parts)
        return N(split)
    simple = {
        "trim": lambda: s.strip(" \t\n\r\f\v\u00a0\ufeff"), "trimStart": lambda: s.lstrip(), "trimEnd": lambda: s.rstrip(),
        "toUpperCase": s.upper, "toLowerCase": s.lower, "toString": lambda: s, "valueOf": lambda: s,
    }
    if key in simple:
        return N(lambda this, a, l: with_line(simple[key](), s))
    if key in ("slice", "substring", "substr"):
        def sl(this, a, l):
            n = len(s)
            b = int(to_num(a[0])) if a and a[0] is not UNDEF else 0
            if key == "substr":
                ln = int(to_num(a[1])) if len(a) > 1 else n
                b = max(0, n + b) if b < 0 else b
                return with_line(s[b:b + ln], s)
            e = int(to_num(a[1])) if len(a) > 1 and a[1] is not UNDEF else n
            if key == "substring":
                b, e = sorted((max(0, min(b, n)), max(0, min(e, n))))
                return with_line(s[b:e], s)
            return with_line(s[b:e] if e >= 0 or True else "", s)
        return N(sl)
    if key in ("padStart", "padEnd"):
        def pad(this, a, l):
            width = int(to_num(a[0]))
            fill = to_str(a[1]) if len(a) > 1 else " "
            need = width - len(s)
            if need <= 0 or not fill:
                return s
            padding = (fill * need)[:need]
            return with_line(padding + s if key == "padStart" else s + padding, s)
        return N(pad)
    if key == "repeat":
        return N(lambda this, a, l: with_line(s * int(to_num(a[0])), s))
    if key == "startsWith":
        return N(lambda this, a, l: s.startswith(to_str(a[0])))
    if key == "endsWith":
        return N(lambda this, a, l: s.endswith(to_str(a[0])))
    if key == "includes":
        return N(lambda this, a, l: to_str(a[0]) in s)
    if key == "indexOf":
        return N(lambda this, a, l: float(s.find(to_str(a[0]))))
    if key == "charAt":
        return N(lambda this, a, l: with_line(s[int(to_num(a[0]))] if 0 <= int(to_num(a[0])) < len(s) else "", s))
    if key == "charCodeAt":
        return N(lambda this, a, l: float(ord(s[int(to_num(a[0])) if a else 0])))
    if key == "concat":
        return N(lambda this, a, l: with_line(s + "".join(to_str(x) for x in a), s))
    if key == "match":
        def match(this, a, l):
            m = a[0].py().search(s) if isinstance(a[0], JSRegex) else re.search(re.escape(to_str(a[0])), s)
            return None if m is None else JSArray([JSStr.make(m.group(0))] + [JSStr.make(g) if g is not None else UNDEF for g in m.groups()])
        return N(match)
    if key == "normalize":
        import unicodedata
        return N(lambda this, a, l: with_line(unicodedata.normalize(to_str(a[0]) if a else "NFC", s), s))
    if key == "at":
        return N(lambda this, a, l: with_line(s[int(to_num(a[0]))], s))
    return UNDEF


def number_method(x, key):
    if key == "toString":
        def to_string(this, a, l):
            if a and a[0] is not UNDEF and to_num(a[0]) != 10:
                base = int(to_num(a[0]))
                n, digits, neg = int(abs(x)), "", x < 0
                while True:
                    n, r = divmod(n, base)
                    digits = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + digits
                    if n == 0:
                        break
                return JSStr.make(("-" if neg else "") + digits)
            return JSStr.make(js_num_str(x))
        return Native(to_string)
    if key == "toFixed":
        return Native(lambda this, a, l: JSStr.make(f"{x:.{int(to_num(a[0])) if a else 0}f}"))
    if key == "valueOf":
        return Native(lambda this, a, l: x)
    return UNDEF


# ---------------------------------------------------------------- JS Date (fixed clock, fixed zone)

class JSDate(Host):
    zone = None

    def __init__(self, ms: float):
        self.ms = ms

    def local(self):
        return (_dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(milliseconds=self.ms)).astimezone(self.zone)

    def to_string(self):
        if math.isnan(self.ms):
            return "Invalid Date"
        d = self.local()
        off = d.utcoffset()
        mins = int(off.total_seconds() // 60)
        return d.strftime("%a %b %d %Y %H:%M:%S") + f" GMT{'+' if mins >= 0 else '-'}{abs(mins) // 60:02d}{abs(mins) % 60:02d}"

    def get(self, name):
        if math.isnan(self.ms) and name.startswith("get") and name != "getTime":
            return Native(lambda this, a, l: math.nan)
        d = None if math.isnan(self.ms) else self.local()
        u = None if math.isnan(self.ms) else d.astimezone(_dt.timezone.utc)
        getters = {
            "getFullYear": lambda: d.year, "getMonth": lambda: d.month - 1, "getDate": lambda: d.day,
            "getDay": lambda: (d.weekday() + 1) % 7, "getHours": lambda: d.hour, "getMinutes": lambda: d.minute,
            "getSeconds": lambda: d.second, "getMilliseconds": lambda: d.microsecond // 1000,
            "getUTCFullYear": lambda: u.year, "getUTCMonth": lambda: u.month - 1, "getUTCDate": lambda: u.day,
            "getUTCHours": lambda: u.hour, "getUTCMinutes": lambda: u.minute, "getUTCSeconds": lambda: u.second,
            "getTime": lambda: self.ms, "valueOf": lambda: self.ms,
            "getTimezoneOffset": lambda: -d.utcoffset().total_seconds() / 60,
        }
        if name in getters:
            return Native(lambda this, a, l: float(getters[name]()))
        if name == "toISOString":
            def iso(this, a, l):
                if math.isnan(self.ms):
                    raise JSThrow(JSStr.make("RangeError: Invalid time value"))
                return JSStr.make(u.strftime("%Y-%m-%dT%H:%M:%S.") + f"{u.microsecond // 1000:03d}Z")
            return Native(iso)
        if name in ("toString", "toLocaleString", "toDateString", "toLocaleDateString", "toLocaleTimeString"):
            return Native(lambda this, a, l: JSStr.make(self.to_string()) if name == "toString"
                          else Unknown(f"Date.{name}"))
        if name.startswith("set"):
            def setter(this, a, l):
                if math.isnan(self.ms):
                    return math.nan
                loc = self.local()
                vals = [int(to_num(x)) for x in a]
                field = name[3:].replace("UTC", "")
                base = loc if "UTC" not in name else loc.astimezone(_dt.timezone.utc)
                naive = base.replace(tzinfo=None)
                if field == "Date":
                    naive = naive.replace(day=1) + _dt.timedelta(days=vals[0] - 1)
                elif field == "Hours":
                    naive = naive.replace(hour=0, minute=vals[1] if len(vals) > 1 else naive.minute,
                                          second=vals[2] if len(vals) > 2 else naive.second,
                                          microsecond=(vals[3] * 1000) if len(vals) > 3 else naive.microsecond) \
                        + _dt.timedelta(hours=vals[0])
                elif field == "Minutes":
                    naive = naive.replace(minute=0) + _dt.timedelta(minutes=vals[0])
                elif field == "Seconds":
                    naive = naive.replace(second=0) + _dt.timedelta(seconds=vals[0])
                elif field == "Time":
                    self.ms = float(vals[0])
                    return self.ms
                else:
                    raise JSAbort(f"Date.{name}")
                tz = self.zone if "UTC" not in name else _dt.timezone.utc
                self.ms = _epoch_ms(naive.replace(tzinfo=tz))
                return self.ms
            return Native(setter)
        return Unknown(f"Date.{name}")


def _epoch_ms(aware: _dt.datetime) -> float:
    return (aware - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)) / _dt.timedelta(milliseconds=1)


def make_date_ctor(state):
    def ctor(this, args, line):
        state["used_now"] = state.get("used_now") or not args
        zone = JSDate.zone
        if not args:
            d = JSDate(_epoch_ms(NOW))
        elif len(args) == 1:
            v = args[0]
            if isinstance(v, JSDate):
                d = JSDate(v.ms)
            elif isinstance(v, str):
                d = JSDate(parse_js_date(v, zone))
            else:
                d = JSDate(to_num(v))
        else:
            parts = [int(to_num(x)) for x in args] + [0] * 7
            y, mo, day = parts[0], parts[1], parts[2] if len(args) > 2 else 1
            base = _dt.datetime(y + mo // 12, mo % 12 + 1, 1)
            naive = base + _dt.timedelta(days=day - 1, hours=parts[3], minutes=parts[4], seconds=parts[5],
                                          milliseconds=parts[6])
            d = JSDate(_epoch_ms(naive.replace(tzinfo=zone)))
        if this is NEW:
            return d
        return JSStr.make(d.to_string())
    fn = Native(ctor, "Date")
    fn.props = {"now": Native(lambda this, a, l: (state.__setitem__("used_now", True), _epoch_ms(NOW))[1]),
                "UTC": Native(lambda this, a, l: _epoch_ms(_dt.datetime(int(to_num(a[0])), int(to_num(a[1])) + 1,
                                                                        int(to_num(a[2])) if len(a) > 2 else 1,
                                                                        tzinfo=_dt.timezone.utc))),
                "parse": Native(lambda this, a, l: parse_js_date(to_str(a[0]), JSDate.zone))}
    return fn


def parse_js_date(text: str, zone) -> float:
    text = text.strip()
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if m:
        return _epoch_ms(_dt.datetime(*map(int, m.groups()), tzinfo=_dt.timezone.utc))
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?(Z|[+-]\d{2}:?\d{2})?", text)
    if m:
        y, mo, d, h, mi = map(int, m.groups()[:5])
        s = int(m.group(6) or 0)
        ms = int((m.group(7) or "0").ljust(3, "0"))
        tz = zone
        if m.group(8):
            if m.group(8) == "Z":
                tz = _dt.timezone.utc
            else:
                off = m.group(8).replace(":", "")
                sign = 1 if off[0] == "+" else -1
                tz = _dt.timezone(sign * _dt.timedelta(hours=int(off[1:3]), minutes=int(off[3:5])))
        return _epoch_ms(_dt.datetime(y, mo, d, h, mi, s, ms * 1000, tzinfo=tz))
    return math.nan


# ============================================================ case recording

class Recorder:
    def __init__(self, repo: str):
        self.repo = repo
        self.cases: list[dict] = []
        self.skipped: Counter = Counter()
        self.path = ""
        self.test_title = ""
        self.error_mode = 0
        self.fails_mode = 0
        self.peer_skipped = 0
        self.state: dict = {}
        self.error_mode_hits = 0

    def skip(self, reason: str, n: int = 1):
        self.skipped[reason] += n

    def add(self, expr, kind, expected, line, document=None, context_node=None, **extra):
        if self.peer_skipped:
            self.skip("in a test the peer skips (it.skip / xit / describe.skip)")
            return
        if self.fails_mode and kind != "error":
            self.skip("a value assertion inside it.fails (the peer expects its own assertion to fail)")
            return
        if not isinstance(expr, str):
            self.skip("expression is not a string literal/template (" + (expr.reason if isinstance(expr, Unknown) else type(expr).__name__) + ")")
            return
        if isinstance(expected, Unknown):
            self.skip(f"expected value not computable: {expected.reason}")
            return
        origin = CURRENT["interp"].origin if CURRENT.get("interp") else []
        # The line that carries the case's data: the outermost table row or helper call that led
        # here; else (index loops over a table) the line of the expression's own text; else the
        # assertion's line.
        expr_line = expr.line if isinstance(expr, JSStr) else None
        src_line = next((x for x in origin + [expr_line, line] if x is not None), None)
        case = {"source": f"{self.repo}:{self.path}:{src_line}", "expr": str(expr), "kind": kind,
                "expected": expected}
        if document and (context_node or _reads_document(str(expr))):
            case["document"] = str(document)
        if context_node:
            case["context_node"] = context_node
        case.update({k: v for k, v in extra.items() if v is not None})
        if self.state.get("used_now") or re.search(r"\b(today|now)\s*\(", str(expr)):
            case["now"] = NOW.isoformat()
        if self.repo != JAVAROSA and DATE_HINT.search(str(expr)):
            case["timezone"] = PEER_TZ
        if self.test_title:
            case["test"] = self.test_title[:120]
        self.cases.append(case)


def _reads_document(expr: str) -> bool:
    """Whether an expression may read the document: a path, '.', a bare name, a zero-argument
    function (string() is string(.)); '1 + 2' does not, and then the document is not recorded."""
    bare = re.sub(r"\"[^\"]*\"|'[^']*'", "''", expr)
    bare = re.sub(r"\d+\.\d*|\.\d+", "0", bare)
    if re.search(r"[/.@\[|$]|\(\s*\)", bare):
        return True
    names = re.finditer(r"[^\W\d][\w.:-]*(?=\s*(\()?)", bare)
    return any(m.group(1) is None and m.group(0) not in ("and", "or", "div", "mod") for m in names) or \
        bool(re.search(r"(^|[(,\s])\*", bare))


def json_number(x: float):
    if math.isnan(x):
        return {"number": "NaN"}
    if math.isinf(x):
        return {"number": "Infinity" if x > 0 else "-Infinity"}
    return x


# ============================================================ DOM stand-ins

class Doc(Host):
    def __init__(self, xml, label=None):
        self.xml = xml  # str or None (the peer's default)
        self.label = label

    def get(self, name):
        if name == "getElementById":
            return Native(lambda this, a, l: Node(self, f"#{to_str(a[0])}") if not is_unknown(*a) else Unknown("id"))
        if name in ("querySelector", "querySelectorAll", "getElementsByTagName", "getElementsByTagNameNS"):
            return Native(lambda this, a, l: Node(self, f"{name}({to_str(a[-1])})") if not is_unknown(*a) else Unknown("node"))
        if name == "documentElement":
            return Node(self, "/*")
        if name == "body":
            return Node(self, "body")
        if name == "evaluate":
            return Native(lambda this, a, l: evaluate_call(self, a, l))
        if name == "xEval":
            return Native(lambda this, a, l: evaluate_call(self, a, l))
        if name == "nodeType":
            return 9.0
        return Unknown(f"document.{name}")


class Node(Host):
    def __init__(self, doc, path):
        self.doc, self.path = doc, path

    def get(self, name):
        if name in ("firstChild", "lastChild", "parentNode", "nextSibling", "previousSibling",
                    "firstElementChild", "ownerElement"):
            if self.path.count(".") > 3:
                return Unknown("DOM navigation")
            return Node(self.doc, f"{self.path}.{name}")
        if name in ("childNodes", "children", "attributes"):
            return NodeList(self.doc, f"{self.path}.{name}")
        if name == "ownerDocument":
            return self.doc
        if name in ("getAttributeNode", "getAttributeNodeNS", "querySelector"):
            return Native(lambda this, a, l: Node(self.doc, f"{self.path}.{name}({to_str(a[-1])})")
                          if not is_unknown(*a) else Unknown("node"))
        return Unknown(f"node.{name}")


class NodeList(Host):
    def __init__(self, doc, path):
        self.doc, self.path = doc, path

    def get(self, name):
        if name.isdigit():
            return Node(self.doc, f"{self.path}[{name}]")
        if name == "item":
            return Native(lambda this, a, l: Node(self.doc, f"{self.path}[{js_num_str(to_num(a[0]))}]"))
        return Unknown(f"nodelist.{name}")


def node_doc(node, default):
    if isinstance(node, Node):
        return node.doc, node.path
    if isinstance(node, Doc):
        return node, None
    if node is None or node is UNDEF:
        return default, None
    return default, Unknown("context node")


class XResult(Host):
    """An XPathResult whose value the peer reads: the read property decides the kind."""

    def __init__(self, rec, expr, doc, node, rtype, line, nsr=False):
        self.rec, self.expr, self.doc, self.node, self.rtype, self.line = rec, expr, doc, node, rtype, line

    def get(self, name):
        kinds = {"stringValue": "string", "numberValue": "number", "booleanValue": "boolean"}
        if name in kinds:
            return ResultValue(self, kinds[name])
        if name == "resultType" and isinstance(self.rtype, float) and self.rtype != 0:
            return self.rtype
        return Unknown(f"XPathResult.{name} (node-set or result type)")


class ResultValue(Host):
    def __init__(self, result, kind):
        self.result, self.kind = result, kind

    def get(self, name):
        return Unknown("a peer result post-processed in JavaScript")


def record_result(rec, rv: ResultValue, expected, **extra):
    r = rv.result
    kind = rv.kind
    if isinstance(expected, (ResultValue, Unknown)):
        rec.skip("expected value not a literal" if not isinstance(expected, Unknown) else f"expected value not computable: {expected.reason}")
        return
    if isinstance(expected, JSRegex):
        record(rec, r.expr, "string", None, r.line, r.doc, r.node, pattern=expected.pattern, **extra)
        return
    if kind == "number":
        if not isinstance(expected, (float, str, bool)):
            rec.skip("number compared with a non-number")
            return
        record(rec, r.expr, "number", to_num(expected), r.line, r.doc, r.node, **extra)
    elif kind == "boolean":
        record(rec, r.expr, "boolean", truthy(expected), r.line, r.doc, r.node, **extra)
    else:
        if isinstance(expected, JSDate) or not isinstance(expected, (str, float, bool)):
            rec.skip("string compared with a non-string")
            return
        record(rec, r.expr, "string", to_str(expected), r.line, r.doc, r.node, **extra)


def record(rec, expr, kind, expected, line, doc=None, node=None, **extra):
    if isinstance(node, Unknown):
        rec.skip(f"context node not modelled ({node.reason})")
        return
    if kind == "number" and isinstance(expected, float):
        expected = json_number(expected)
    if kind == "string" and isinstance(expected, str):
        expected = str(expected)
    xml = doc.xml if isinstance(doc, Doc) else None
    rec.add(expr, kind, expected, line, document=xml, context_node=node, **extra)


def evaluate_call(doc, args, line):
    """doc.evaluate(expr, node, nsr, type) / doc.xEval(expr, node, type) / testContext.evaluate(expr, node, type)."""
    rec = CURRENT["rec"]
    expr = args[0] if args else UNDEF
    node = args[1] if len(args) > 1 else None
    rtype = next((a for a in args[2:] if isinstance(a, float)), 0.0)
    d, path = node_doc(node, doc)
    if rec.error_mode:
        if isinstance(path, Unknown):
            rec.skip("context node not modelled (error case)")
        else:
            record(rec, expr, "error", None, line, d, path)
            rec.error_mode_hits += 1
        raise JSThrow(JSStr.make("Error: expected by the peer"))
    return XResult(rec, expr, d, path, rtype, line)


CURRENT: dict = {}


# ============================================================ test framework (mocha / vitest)

class Suite:
    def __init__(self, parent, title, skipped=False):
        self.parent, self.title, self.skipped = parent, title, skipped
        self.before_each, self.before_all, self.tests = [], [], []
        self.ran_before_all = False

    def chain(self):
        s, out = self, []
        while s is not None:
            out.append(s)
            s = s.parent
        return out[::-1]


class Framework:
    def __init__(self, interp, rec):
        self.interp, self.rec = interp, rec
        self.root = Suite(None, "")
        self.current = self.root
        self.queue = []  # (suite, title, fn, mode)

    def describe(self, skipped=False):
        def fn(this, a, l):
            title = to_str(a[0]) if a and isinstance(a[0], str) else "?"
            suite = Suite(self.current, title, skipped or self.current.skipped)
            self.queue.append(("suite", suite))
            prev, self.current = self.current, suite
            try:
                body = a[-1] if a else None
                if isinstance(body, (JSFunction, Native)):
                    self.interp.call(body, [])
            except (JSAbort, JSThrow, RecursionError) as exc:
                self.rec.skip(f"describe body aborted: {str(exc)[:80]}")
                debug(f"{self.rec.path}:{getattr(self.interp, 'last_line', '?')}: describe aborted: {exc}")
            finally:
                self.current = prev
            return UNDEF
        return Native(fn)

    def it(self, mode="run"):
        def fn(this, a, l):
            title = to_str(a[0]) if a and isinstance(a[0], str) else "?"
            body = a[1] if len(a) > 1 else None
            if isinstance(body, JSObject) and len(a) > 2:  # vitest: it(title, options, fn)
                body = a[2]
            if body is None or body is UNDEF:
                return UNDEF  # it.todo / pending
            self.queue.append(("test", self.current, title, body, mode, l, list(self.interp.origin)))
            return UNDEF
        return Native(fn)

    def each(self, kind, mode="run"):
        def table(this, a, l):
            rows = a[0] if a else JSArray()

            def runner(this2, a2, l2):
                title = a2[0] if a2 else "?"
                body = a2[1] if len(a2) > 1 else None
                if isinstance(rows, Unknown) or not isinstance(rows, list):
                    self.rec.skip("it.each over an unknown table")
                    return UNDEF
                for row in rows:
                    args = list(row) if isinstance(row, list) else [row]
                    bound = Native(lambda t, aa, ll, args=args, body=body: self.interp.call(body, args))
                    if kind == "it":
                        self.queue.append(("test", self.current, to_str(title) if isinstance(title, str) else "?",
                                           bound, mode, l2, list(self.interp.origin) + [line_of(row)]))
                    else:
                        self.interp.origin.append(line_of(row))
                        try:
                            self.describe(skipped=mode == "skip").fn(UNDEF, [title, bound], l2)
                        finally:
                            self.interp.origin.pop()
                return UNDEF
            return Native(runner)
        return Native(table)

    def hook(self, which):
        def fn(this, a, l):
            body = a[0] if a else None
            if isinstance(body, (JSFunction, Native)):
                (self.current.before_each if which == "each" else self.current.before_all).append(body)
            return UNDEF
        return Native(fn)

    def it_native(self, mode):
        fn = Native(self.it(mode).fn, "it")

        def props(key):
            combined = {"skip": "skip", "todo": "skip", "only": mode, "concurrent": mode, "sequential": mode,
                        "fails": "skip" if mode == "skip" else "fails"}
            if key in combined:
                return self.it_native(combined[key])
            if key == "each":
                return self.each("it", mode)
            if key in ("skipIf", "runIf"):
                return Native(lambda t, a, l: self.it_native(
                    "skip" if truthy(a[0]) == (key == "skipIf") else mode))
            return None
        fn.props_fn = props
        return fn

    def describe_native(self, skipped):
        fn = Native(self.describe(skipped=skipped).fn, "describe")

        def props(key):
            if key in ("skip", "todo"):
                return self.describe_native(True)
            if key in ("only", "concurrent", "sequential", "shuffle"):
                return self.describe_native(skipped)
            if key == "each":
                return self.each("describe", "skip" if skipped else "run")
            if key in ("skipIf", "runIf"):
                return Native(lambda t, a, l: self.describe_native(
                    skipped or truthy(a[0]) == (key == "skipIf")))
            return None
        fn.props_fn = props
        return fn

    def globals(self):
        it_obj = self.it_native("run")
        describe = self.describe_native(False)
        return {"describe": describe, "context": describe, "suite": describe, "it": it_obj, "test": it_obj,
                "specify": it_obj, "xit": self.it_native("skip"), "xdescribe": self.describe_native(True),
                "beforeEach": self.hook("each"), "before": self.hook("all"), "beforeAll": self.hook("all"),
                "afterEach": Native(lambda t, a, l: UNDEF), "after": Native(lambda t, a, l: UNDEF),
                "afterAll": Native(lambda t, a, l: UNDEF)}

    def run_tests(self):
        for item in self.queue:
            if item[0] != "test":
                continue
            _, suite, title, body, mode, line, origin = item
            rec = self.rec
            rec.test_title = " > ".join([s.title for s in suite.chain() if s.title] + [title])
            rec.state.clear()
            rec.peer_skipped = int(mode == "skip" or suite.skipped)
            rec.fails_mode = int(mode == "fails")
            rec.error_mode = int(mode == "fails")
            rec.error_mode_hits = 0
            try:
                for s in suite.chain():
                    if not s.ran_before_all:
                        s.ran_before_all = True
                        for h in s.before_all:
                            self.interp.call(h, [])
                for s in suite.chain():
                    for h in s.before_each:
                        self.interp.call(h, [])
                rec.state.clear()
                self.interp.origin = list(origin)
                self.interp.call(body, [])
            except JSThrow as exc:
                if not rec.fails_mode:
                    rec.skip(f"test body threw in the interpreter: {str(exc)[:60]}")
            except (JSAbort, RecursionError, ParseError, KeyError, IndexError, TypeError, ValueError,
                    AttributeError, ZeroDivisionError, OverflowError) as exc:
                rec.skip(f"test body aborted ({type(exc).__name__}: {str(exc)[:70]})")
                debug(f"{rec.path}:{getattr(self.interp, 'last_line', '?')}: test aborted: {exc!r}")
            rec.error_mode = rec.fails_mode = rec.peer_skipped = 0


# ============================================================ chai / vitest expect

def make_assert(interp, rec):
    def eq(this, a, l, strict=False):
        if len(a) < 2:
            return UNDEF
        actual, expected = a[0], a[1]
        if isinstance(expected, ResultValue) and not isinstance(actual, ResultValue):
            actual, expected = expected, actual
        if isinstance(actual, ResultValue):
            record_result(rec, actual, expected)
        elif isinstance(actual, Unknown) or isinstance(expected, Unknown):
            reason = (actual if isinstance(actual, Unknown) else expected).reason
            if "XPathResult" in reason or "peer result" in reason:
                rec.skip(f"assertion on {reason}")
        return UNDEF

    def boolean(value):
        def fn(this, a, l):
            if a and isinstance(a[0], ResultValue):
                record_result(rec, a[0], value)
            return UNDEF
        return Native(fn)

    def isnan(this, a, l):
        if a and isinstance(a[0], ResultValue):
            record_result(rec, a[0], math.nan)
        return UNDEF

    def match(this, a, l):
        if len(a) > 1 and isinstance(a[0], ResultValue) and isinstance(a[1], JSRegex):
            record_result(rec, a[0], a[1])
        return UNDEF

    def throws(this, a, l):
        fn = a[0] if a else None
        if isinstance(fn, (JSFunction, Native)):
            run_expecting_error(interp, rec, fn)
        return UNDEF

    obj = JSObject({
        "equal": Native(eq), "strictEqual": Native(eq), "deepEqual": Native(eq), "deepStrictEqual": Native(eq),
        "isTrue": boolean(True), "isFalse": boolean(False), "ok": boolean(True), "notOk": boolean(False),
        "isOk": boolean(True), "isNotOk": boolean(False), "isNaN": Native(isnan), "match": Native(match),
        "throw": Native(throws), "throws": Native(throws), "throw_": Native(throws),
    })
    noop = Native(lambda t, a, l: UNDEF)
    fn = Native(lambda t, a, l: boolean(True).fn(t, a, l))
    fn.props = obj

    class AssertNS(Host):
        def get(self, name):
            return obj.get(name, noop)
    return AssertNS(), obj


def run_expecting_error(interp, rec, fn):
    rec.error_mode += 1
    before = len(rec.cases)
    hits_before = getattr(rec, "error_mode_hits", 0)
    rec.error_mode_hits = hits_before
    try:
        interp.call(fn, [])
    except JSThrow:
        pass
    except JSAbort as exc:
        rec.skip(f"error-expecting callback aborted ({str(exc)[:60]})")
    finally:
        rec.error_mode -= 1
    if len(rec.cases) == before and rec.error_mode_hits == hits_before:
        rec.skip("expects an error from something other than an XPath evaluation")


class Expectation(Host):
    def __init__(self, interp, rec, actual, negated=False):
        self.interp, self.rec, self.actual, self.negated = interp, rec, actual, negated

    def get(self, name):
        rec, actual = self.rec, self.actual
        if name == "not":
            return Expectation(self.interp, rec, actual, not self.negated)
        if name in ("resolves", "rejects"):
            return self

        def value_matcher(this, a, l):
            if self.negated:
                if isinstance(actual, ResultValue):
                    rec.skip("negated expectation on a peer result")
                return UNDEF
            if isinstance(actual, ResultValue):
                if name in ("toBeNaN",):
                    record_result(rec, actual, math.nan)
                elif name in ("toBeTruthy", "toBeFalsy"):
                    record_result(rec, actual, name == "toBeTruthy")
                elif name == "toMatch":
                    if a and isinstance(a[0], JSRegex):
                        record_result(rec, actual, a[0])
                    elif a and isinstance(a[0], str):
                        record_result(rec, actual, JSRegex(re.escape(a[0]), ""))
                elif name == "toBeCloseTo":
                    digits = int(to_num(a[1])) if len(a) > 1 else 2
                    r = actual.result
                    record(rec, r.expr, "number", to_num(a[0]), r.line, r.doc, r.node, tolerance=10 ** -digits / 2)
                elif a:
                    record_result(rec, actual, a[0])
            elif isinstance(actual, Unknown) and ("XPathResult" in actual.reason or "peer result" in actual.reason):
                rec.skip(f"assertion on {actual.reason}")
            return UNDEF

        def throw_matcher(this, a, l):
            if self.negated:
                return UNDEF
            if isinstance(actual, (JSFunction, Native)):
                run_expecting_error(self.interp, rec, actual)
            return UNDEF
        if name.startswith("toThrow"):
            return Native(throw_matcher)
        if name.startswith("to"):
            return Native(value_matcher)
        return Unknown(f"expect().{name}")


# ============================================================ the peers' helpers

ENKETO_SIMPLE = """<simple><xpath><to>
             <node>{}</node>
           </to></xpath><empty/></simple>"""
WEBFORMS_SIMPLE = """<simple>
		<xpath>
			<to>
				<node>{}</node>
			</to>
		</xpath>
		<empty />
	</simple>"""


def xml_text(v):
    """A JS value interpolated into a template of XML (the peers' simpleValueIs / text content)."""
    return to_str(v)


class EnketoEnv:
    """test/integration/helpers.js, natively: a module-level xEval bound to the last initDoc."""

    def __init__(self, interp, rec):
        self.interp, self.rec = interp, rec
        self.doc = Doc(ENKETO_SIMPLE.format(""))

    def init_doc(self, this, a, l):
        xml = a[0] if a else ""
        if isinstance(xml, Unknown):
            self.doc = Doc(None)
            self.doc.xml = None
            self.doc.unknown = True
            return self.doc
        self.doc = Doc(to_str(xml) if to_str(xml).strip() else None)
        return self.doc

    def simple_value_is(self, value):
        self.doc = Doc(ENKETO_SIMPLE.format(xml_text(value)))
        return self.doc

    def _prep(self, args, n_fixed):
        # (...args) helpers: the last n_fixed are (expr[, expected]); before them a value for
        # simpleValueIs() and before that a context node.
        if len(args) > n_fixed:
            value = args[-n_fixed - 1]
            if isinstance(value, Unknown):
                raise JSAbort(f"simpleValueIs({value.reason})")
            if truthy(value):
                self.simple_value_is(value)
        node = args[-n_fixed - 2] if len(args) > n_fixed + 1 else None
        d, path = node_doc(node, self.doc)
        return d, path

    def assert_bool(self, value):
        def fn(this, a, l):
            if not a:
                return UNDEF
            expr = a[-1]
            d, path = self._prep(a, 1)
            self._record(expr, "boolean", value, l, d, path)
            return UNDEF
        return Native(fn)

    def assert_boolean(self, this, a, l):
        a = list(a)
        value = a.pop()
        return self.assert_bool(truthy(value) if not isinstance(value, Unknown) else value).fn(this, a, l)

    def assert_value(self, kind, extra=None):
        def fn(this, a, l):
            if len(a) < 2:
                return UNDEF
            expected, expr = a[-1], a[-2]
            d, path = self._prep(a, 2)
            if isinstance(expected, Unknown):
                self.rec.skip(f"expected value not computable: {expected.reason}")
                return UNDEF
            if kind == "number":
                value = to_num(expected)
            elif kind == "string":
                value = to_str(expected)
            elif kind == "length":
                self._record(expr, "string", None, l, d, path, length=int(to_num(expected)))
                return UNDEF
            else:  # match
                if not isinstance(expected, JSRegex):
                    self.rec.skip("match against a non-regex")
                    return UNDEF
                self._record(expr, "string", None, l, d, path, pattern=expected.pattern)
                return UNDEF
            self._record(expr, kind, value, l, d, path)
            return UNDEF
        return Native(fn)

    def assert_rounded(self, this, a, l):
        expr, expected, factor = a[0], a[1], a[2]
        node = a[3] if len(a) > 3 else None
        d, path = node_doc(node, self.doc)
        self._record(expr, "number", to_num(expected), l, d, path, round_factor=to_num(factor))
        return UNDEF

    def assert_throw(self, this, a, l):
        self._record(a[0], "error", None, l, self.doc, None)
        return UNDEF

    def _record(self, expr, kind, expected, line, doc, path):
        pass

    def x_eval(self, this, a, l):
        return evaluate_call(self.doc, a, l)

    def module(self):
        rec = self.rec

        def _record(expr, kind, expected, line, doc, path, **extra):
            if getattr(doc, "unknown", False):
                rec.skip("document built from an unknown value")
                return
            record(rec, expr, kind, expected, line, doc, path, **extra)
        self._record = _record
        nodes = Native(lambda t, a, l: rec.skip("node-set result (assertNodes)") or UNDEF)
        unknown_fn = lambda name: Native(lambda t, a, l: Unknown(name))  # noqa: E731
        assert_ns, _ = make_assert(self.interp, rec)
        return JSObject({
            "initDoc": Native(self.init_doc), "nsResolver": JSObject({"lookupNamespaceURI": unknown_fn("ns")}),
            "simpleValueIs": Native(lambda t, a, l: self.simple_value_is(a[0])),
            "initBasicXmlDoc": Native(lambda t, a, l: self.simple_value_is("")),
            "filterAttributes": unknown_fn("filterAttributes"), "getNextChildElementNode": unknown_fn("child node"),
            "getAllNodes": unknown_fn("getAllNodes"), "snapshotToArray": unknown_fn("snapshot"),
            "setAttribute": Native(lambda t, a, l: UNDEF), "assert": assert_ns,
            "assertThrow": Native(self.assert_throw), "assertNumberValue": self.assert_value("number"),
            "assertNumberRounded": Native(self.assert_rounded), "assertNumber": self.assert_value("number"),
            "assertString": self.assert_value("string"), "assertStringValue": self.assert_value("string"),
            "assertStringLength": self.assert_value("length"), "assertMatch": self.assert_value("match"),
            "assertBoolean": Native(self.assert_boolean), "assertFalse": self.assert_bool(False),
            "assertTrue": self.assert_bool(True), "assertNodes": nodes, "assertUnorderedNodes": nodes,
        })


class TestCtx(Host):
    """web-forms' TestContext / XFormsTestContext (packages/xpath/test/helpers.ts), natively."""

    def __init__(self, rec, xml, xforms, options=None):
        self.rec = rec
        self.doc = Doc(xml)
        self.xforms = xforms
        self.options = options
        self.language = None

    def get(self, name):
        rec = self.rec
        if name == "document":
            return self.doc
        if name == "defaultContextNode":
            return self.doc
        if name == "evaluate":
            return Native(lambda t, a, l: evaluate_call(self.doc, a, l))
        kinds = {"assertBooleanValue": "boolean", "assertNumberValue": "number", "assertStringValue": "string",
                 "assertNumberRounded": "rounded", "assertStringLength": "length", "assertStringMatches": "match"}
        if name in kinds:
            kind = kinds[name]

            def fn(t, a, l):
                expr = a[0] if a else UNDEF
                expected = a[1] if len(a) > 1 else UNDEF
                opt_index = 3 if kind == "rounded" else 2
                options = a[opt_index] if len(a) > opt_index else None
                node = None
                if isinstance(options, JSObject):
                    node = options.get("contextNode")
                elif isinstance(options, Unknown):
                    node = options
                d, path = node_doc(node, self.doc)
                if rec.error_mode and not rec.fails_mode:
                    record(rec, expr, "error", None, l, d, path)
                    rec.error_mode_hits += 1
                    raise JSThrow(JSStr.make("Error"))
                if isinstance(expected, Unknown):
                    rec.skip(f"expected value not computable: {expected.reason}")
                    return UNDEF
                if kind == "boolean":
                    record(rec, expr, "boolean", truthy(expected), l, d, path, **self.extra())
                elif kind == "number":
                    record(rec, expr, "number", to_num(expected), l, d, path, **self.extra())
                elif kind == "string":
                    record(rec, expr, "string", to_str(expected), l, d, path, **self.extra())
                elif kind == "rounded":
                    record(rec, expr, "number", to_num(expected), l, d, path,
                           round_factor=to_num(a[2]), **self.extra())
                elif kind == "length":
                    record(rec, expr, "string", None, l, d, path, length=int(to_num(expected)), **self.extra())
                else:
                    if isinstance(expected, JSRegex):
                        record(rec, expr, "string", None, l, d, path, pattern=expected.pattern, **self.extra())
                    else:
                        rec.skip("match against a non-regex")
                return UNDEF
            return Native(fn)
        if name in ("assertNodeSet", "assertUnorderedNodeSet"):
            return Native(lambda t, a, l: rec.skip("node-set result (assertNodeSet)") or UNDEF)
        if name in ("evaluateString", "evaluateNumber", "evaluateBoolean"):
            kind = {"evaluateString": "stringValue", "evaluateNumber": "numberValue",
                    "evaluateBoolean": "booleanValue"}[name]
            return Native(lambda t, a, l: evaluate_call(self.doc, a[:2], l).get(kind))
        if name == "setLanguage":
            def set_language(t, a, l):
                self.language = to_str(a[0]) if a and isinstance(a[0], str) else None
                return a[0] if a else UNDEF
            return Native(set_language)
        if name == "xforms":
            return self.xforms
        return Unknown(f"testContext.{name}")

    def extra(self):
        out = {}
        if self.language is not None:
            out["language"] = self.language
        if self.options is not None:
            out["note"] = "the peer's test context has options (e.g. a root node or namespace resolver)"
        return out


class EvaluatorHost(Host):
    """web-forms' Evaluator / DefaultEvaluator used directly by a test."""

    def __init__(self, doc):
        self.doc = doc

    def get(self, name):
        if name == "evaluate":
            return Native(lambda t, a, l: evaluate_call(self.doc, a, l))
        kinds = {"evaluateBoolean": "booleanValue", "evaluateNumber": "numberValue", "evaluateString": "stringValue"}
        if name in kinds:
            def fn(t, a, l):
                options = a[1] if len(a) > 1 else None
                node = options.get("contextNode") if isinstance(options, JSObject) else None
                return evaluate_call(self.doc, [a[0], node], l).get(kinds[name])
            return Native(fn)
        return Unknown(f"evaluator.{name}")


def make_evaluator(this, a, l):
    options = a[0] if a else None
    root = options.get("rootNode") if isinstance(options, JSObject) else None
    if isinstance(root, Doc):
        return EvaluatorHost(root)
    if root is None:
        return EvaluatorHost(Doc(None))
    return Unknown("an evaluator whose root node is an element")


def webforms_globals(interp, rec):
    def ctx(xforms):
        def fn(t, a, l):
            xml = a[0] if a and a[0] is not UNDEF else None
            if isinstance(xml, Unknown):
                return Unknown(f"test document: {xml.reason}")
            options = a[1] if len(a) > 1 and isinstance(a[1], JSObject) and a[1] else None
            return TestCtx(rec, to_str(xml) if xml is not None else None, xforms, options)
        return Native(fn)

    def text_content(t, a, l):
        if a and isinstance(a[0], Unknown):
            return Unknown("text content")
        return TestCtx(rec, WEBFORMS_SIMPLE.format(to_str(a[0])), True)
    unknown_fn = lambda name: Native(lambda t, a, l: Unknown(name))  # noqa: E731
    return {
        "createTestContext": ctx(False), "createXFormsTestContext": ctx(True),
        "createXFormsTextContentTestContext": Native(text_content),
        "namespaceResolver": JSObject({"lookupNamespaceURI": unknown_fn("ns")}),
        "getNonNamespaceAttributes": unknown_fn("attributes"),
        "getDefaultDateTimeLocale": Native(lambda t, a, l: JSStr.make(JSDate(_epoch_ms(NOW)).to_string())),
        "TZ": JSStr.make(PEER_TZ), "LOCALE_ID": JSStr.make("en-US"), "IMPLEMENTATION": UNDEF,
        "Evaluator": Native(make_evaluator), "DefaultEvaluator": Native(make_evaluator),
    }


def common_globals(interp, rec, state):
    xpath_result = JSObject({k: float(v) for k, v in (
        ("ANY_TYPE", 0), ("NUMBER_TYPE", 1), ("STRING_TYPE", 2), ("BOOLEAN_TYPE", 3),
        ("UNORDERED_NODE_ITERATOR_TYPE", 4), ("ORDERED_NODE_ITERATOR_TYPE", 5),
        ("UNORDERED_NODE_SNAPSHOT_TYPE", 6), ("ORDERED_NODE_SNAPSHOT_TYPE", 7),
        ("ANY_UNORDERED_NODE_TYPE", 8), ("FIRST_ORDERED_NODE_TYPE", 9))})
    node_consts = JSObject({k: float(v) for k, v in (
        ("ELEMENT_NODE", 1), ("ATTRIBUTE_NODE", 2), ("TEXT_NODE", 3), ("CDATA_SECTION_NODE", 4),
        ("PROCESSING_INSTRUCTION_NODE", 7), ("COMMENT_NODE", 8), ("DOCUMENT_NODE", 9))})

    def obj_fn(f):
        return Native(lambda t, a, l: f(a[0]) if a and isinstance(a[0], dict) else Unknown("Object.* of a non-object"))
    object_ = Native(lambda t, a, l: a[0] if a else JSObject())
    object_.props = {
        "entries": obj_fn(lambda o: JSArray(_entry(k, v) for k, v in o.items())),
        "keys": obj_fn(lambda o: JSArray(k if isinstance(k, JSStr) else JSStr.make(k) for k in o)),
        "values": obj_fn(lambda o: JSArray(o.values())),
        "assign": Native(lambda t, a, l: _assign(a)),
        "fromEntries": Native(lambda t, a, l: JSObject((str(to_str(k)), v) for k, v in a[0])),
        "freeze": Native(lambda t, a, l: a[0]),
    }
    math_ = JSObject({
        "PI": math.pi, "E": math.e, "LN2": math.log(2), "LN10": math.log(10), "SQRT2": math.sqrt(2),
        "round": Native(lambda t, a, l: float(_js_round(to_num(a[0])))),
        "floor": Native(lambda t, a, l: float(math.floor(to_num(a[0]))) if math.isfinite(to_num(a[0])) else to_num(a[0])),
        "ceil": Native(lambda t, a, l: float(math.ceil(to_num(a[0]))) if math.isfinite(to_num(a[0])) else to_num(a[0])),
        "abs": Native(lambda t, a, l: abs(to_num(a[0]))),
        "max": Native(lambda t, a, l: max((to_num(x) for x in a), default=-math.inf)),
        "min": Native(lambda t, a, l: min((to_num(x) for x in a), default=math.inf)),
        "pow": Native(lambda t, a, l: interp.binop("**", a[0], a[1])),
        "sqrt": Native(lambda t, a, l: math.sqrt(to_num(a[0])) if to_num(a[0]) >= 0 else math.nan),
        "random": Native(lambda t, a, l: Unknown("Math.random")),
        "trunc": Native(lambda t, a, l: float(math.trunc(to_num(a[0]))) if math.isfinite(to_num(a[0])) else to_num(a[0])),
    })
    for name in ("sin", "cos", "tan", "asin", "acos", "atan", "exp", "log", "log10"):
        math_[name] = Native(lambda t, a, l, f=getattr(math, name): _safe_math(f, to_num(a[0])))
    math_["atan2"] = Native(lambda t, a, l: math.atan2(to_num(a[0]), to_num(a[1])))
    number = Native(lambda t, a, l: to_num(a[0]) if a else 0.0, "Number")
    number.props = {"NaN": math.nan, "POSITIVE_INFINITY": math.inf, "NEGATIVE_INFINITY": -math.inf,
                    "MAX_SAFE_INTEGER": float(2 ** 53 - 1), "MIN_SAFE_INTEGER": float(-(2 ** 53 - 1)),
                    "MAX_VALUE": sys.float_info.max, "MIN_VALUE": 5e-324, "EPSILON": sys.float_info.epsilon,
                    "isNaN": Native(lambda t, a, l: isinstance(a[0], float) and math.isnan(a[0])),
                    "isInteger": Native(lambda t, a, l: isinstance(a[0], float) and math.isfinite(a[0]) and a[0] == int(a[0])),
                    "isFinite": Native(lambda t, a, l: isinstance(a[0], float) and math.isfinite(a[0])),
                    "parseFloat": Native(lambda t, a, l: _parse_float(a[0]))}
    string = Native(lambda t, a, l: to_str(a[0]) if a else JSStr.make(""), "String")
    string.props = {"fromCharCode": Native(lambda t, a, l: JSStr.make("".join(chr(int(to_num(x))) for x in a)))}
    array = Native(lambda t, a, l: JSArray([UNDEF] * int(to_num(a[0]))) if len(a) == 1 and isinstance(a[0], float) else JSArray(a), "Array")
    array.props = {"from": Native(lambda t, a, l: _array_from(interp, a)),
                   "isArray": Native(lambda t, a, l: isinstance(a[0], JSArray)),
                   "of": Native(lambda t, a, l: JSArray(a))}
    json_ = JSObject({"stringify": Native(lambda t, a, l: JSStr.make(_json_stringify(a[0])))})
    lodash = JSObject({
        "forEach": Native(lambda t, a, l: _lodash_for_each(interp, a)),
        "each": Native(lambda t, a, l: _lodash_for_each(interp, a)),
        "times": Native(lambda t, a, l: JSArray(interp.call(a[1], [float(i)]) for i in range(int(to_num(a[0]))))),
        "uniq": Native(lambda t, a, l: JSArray(dict.fromkeys(a[0]))),
        "range": Native(lambda t, a, l: JSArray(float(i) for i in range(*[int(to_num(x)) for x in a]))),
    })
    g = {
        "XPathResult": xpath_result, "Node": node_consts, "Object": object_, "Math": math_, "Number": number,
        "String": string, "Array": array, "JSON": json_, "NaN": math.nan, "Infinity": math.inf,
        "isNaN": Native(lambda t, a, l: math.isnan(to_num(a[0]))),
        "isFinite": Native(lambda t, a, l: math.isfinite(to_num(a[0]))),
        "parseInt": Native(lambda t, a, l: _parse_int(a)), "parseFloat": Native(lambda t, a, l: _parse_float(a[0])),
        "Boolean": Native(lambda t, a, l: truthy(a[0]) if a else False),
        "Date": make_date_ctor(state), "RegExp": Native(lambda t, a, l: JSRegex(to_str(a[0]), to_str(a[1]) if len(a) > 1 else "")),
        "Error": Native(lambda t, a, l: JSObject({"message": a[0] if a else JSStr.make("")})),
        "TypeError": Native(lambda t, a, l: JSObject({"message": a[0] if a else JSStr.make("")})),
        "Set": Native(lambda t, a, l: Unknown("Set")), "Map": Native(lambda t, a, l: Unknown("Map")),
        "Symbol": Native(lambda t, a, l: Unknown("Symbol")),
        "console": JSObject({"log": Native(lambda t, a, l: UNDEF), "warn": Native(lambda t, a, l: UNDEF)}),
        "DOMParser": Native(lambda t, a, l: Unknown("DOMParser")),
        "document": Unknown("global document"), "window": Unknown("window"),
        "globalThis": Unknown("globalThis"), "process": Unknown("process"),
        "vi": Unknown("vi"), "xml": Native(lambda t, a, l: Doc(a[0]) if a else UNDEF, "xml"),
        "lodash": lodash,
    }
    assert_ns, _ = make_assert(interp, rec)
    g["assert"] = assert_ns
    g["expect"] = Native(lambda t, a, l: Expectation(interp, rec, a[0] if a else UNDEF))
    g["expect"].props = {"assertions": Native(lambda t, a, l: UNDEF)}
    return g


def _entry(k, v):
    pair = JSArray([k if isinstance(k, JSStr) else JSStr.make(k), v])
    pair.line = line_of(k)
    return pair


def _safe_math(f, x):
    try:
        return float(f(x))
    except (ValueError, OverflowError):
        return math.nan if f is not math.exp else math.inf


def _assign(a):
    target = a[0]
    for src in a[1:]:
        if isinstance(src, dict):
            target.update(src)
    return target


def _array_from(interp, a):
    src = a[0]
    if isinstance(src, JSObject) and "length" in src:
        items = [UNDEF] * int(to_num(src["length"]))
    elif isinstance(src, (list, str)):
        items = list(src)
    else:
        return Unknown("Array.from of a host object")
    if len(a) > 1:
        return JSArray(interp.call(a[1], [x, float(i)]) for i, x in enumerate(items))
    return JSArray(items)


def _parse_int(a):
    s = to_str(a[0]).strip()
    m = re.match(r"[+-]?\d+", s)
    return float(int(m.group(0))) if m else math.nan


def _parse_float(v):
    m = re.match(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", to_str(v).strip())
    return float(m.group(0)) if m else math.nan


def _json_stringify(v):
    if isinstance(v, str):
        return json.dumps(str(v))
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return js_num_str(v) if math.isfinite(v) else "null"
    if v is None:
        return "null"
    if isinstance(v, list):
        return "[" + ",".join(_json_stringify(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k) + ":" + _json_stringify(x) for k, x in v.items()) + "}"
    raise JSAbort("JSON.stringify of a host value")


def _lodash_for_each(interp, a):
    coll, fn = a[0], a[1]
    if isinstance(coll, dict):
        for k, v in list(coll.items()):
            interp.row(k, fn, [v, k if isinstance(k, JSStr) else JSStr.make(k)])
    elif isinstance(coll, list):
        for i, v in enumerate(list(coll)):
            interp.row(v, fn, [v, float(i)])
    return coll


# ============================================================ JS/TS suites

def run_js_file(repo, path, src, rec: Recorder):
    rec.path = path
    try:
        toks = tokenize(src)
        tree = Parser(toks).program()
    except (TokenizeError, ParseError, IndexError, ValueError) as exc:
        rec.skip(f"file not parsed by the extractor ({type(exc).__name__}: {str(exc)[:60]})",
                 len(re.findall(r"assert\w*\(", src)))
        print(f"  ! {path}: {exc}", file=sys.stderr)
        return
    state = rec.state
    interp = Interp({})
    JSDate.zone = ZoneInfo(PEER_TZ)
    fw = Framework(interp, rec)
    g = common_globals(interp, rec, state)
    g.update(fw.globals())
    if repo == ENKETO:
        env = EnketoEnv(interp, rec)
        helpers = env.module()
        chai_assert = helpers["assert"]
        lodash = g["lodash"]

        def require(t, a, l):
            name = to_str(a[0]) if a else ""
            if name.endswith("helpers"):
                return helpers
            if name == "chai":
                return JSObject({"assert": chai_assert, "expect": g["expect"]})
            if name == "lodash":
                return lodash
            return Unknown(f"require({name})")
        g["require"] = Native(require)
        g["module"] = JSObject()
        # helpers.js registers a root beforeEach(initBasicXmlDoc) for every test
        fw.root.before_each.append(Native(lambda t, a, l: env.simple_value_is("")))
        g.update({k: v for k, v in helpers.items()})  # tolerate helpers used without require
    else:
        g.update(webforms_globals(interp, rec))
    for k, v in g.items():
        interp.globals.declare(k, v)
    CURRENT["rec"] = rec
    CURRENT["interp"] = interp
    scope = Scope(interp.globals)
    rec.test_title = ""
    try:
        interp.run_body(tree, scope)
    except (JSAbort, JSThrow, RecursionError, KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        rec.skip(f"file body aborted ({type(exc).__name__}: {str(exc)[:60]})")
        print(f"  ! {path}: top level aborted: {exc}", file=sys.stderr)
    fw.run_tests()


def extract_js(gitdir, repo, prefix, include):
    rec = Recorder(repo)
    files = [p for p in git_files(gitdir, prefix) if include(p)]
    for path in files:
        src = git(gitdir, "show", f"HEAD:{path}")
        before = len(rec.cases)
        run_js_file(repo, path, src, rec)
        print(f"  {path}: {len(rec.cases) - before}", file=sys.stderr)
    return rec


# ============================================================ JavaRosa

JAVA_HANDLERS_TEST_ONLY = {
    "HANDLER_CONVERTIBLE": "convertible", "HANDLER_INCONVERTIBLE": "inconvertible", "HANDLER_PROTO": "proto",
    "HANDLER_NULL_PROTO": "null-proto", "HANDLER_RAW": "raw", "HANDLER_GET_CUSTOM": "get-custom",
    "HANDLER_CHECK_TYPES": "check-types", "HANDLER_TESTFUNC": "testfunc", "HANDLER_ADD": "add",
    "HANDLER_STATEFUL_READ": "read", "HANDLER_STATEFUL_WRITE": "write", "HANDLER_CONCAT": "concat",
    "HANDLER_REGEX": "regex",
}
# XPathEvalTest.buildInstance(), written out as the XML it builds.
JAVAROSA_INSTANCE = ("<data><path><child/><child/></path><path/><path>    some    value</path><path><child/></path>"
                     "<path/><geoshape>0 0 0 0;0 1 0 0;1 1 0 0;1 0 0 0;0 0 0 0</geoshape></data>")


class JavaErr(Host):
    def __init__(self, name):
        self.name = name


class JavaDate(Host):
    def __init__(self, text):
        self.text = text


def java_globals(rec, instance_marker):
    def exc_ctor(name):
        return Native(lambda t, a, l: JavaErr(name), name)
    g = {"TRUE": True, "FALSE": False, "NaN": math.nan, "POSITIVE_INFINITY": math.inf,
         "NEGATIVE_INFINITY": -math.inf, "Double": JSObject({"NaN": math.nan, "POSITIVE_INFINITY": math.inf,
                                                             "NEGATIVE_INFINITY": -math.inf}),
         "Boolean": JSObject({"TRUE": True, "FALSE": False}),
         "Math": JSObject({"PI": math.pi, "E": math.e,
                           "exp": Native(lambda t, a, l: math.exp(to_num(a[0]))),
                           "log": Native(lambda t, a, l: math.log(to_num(a[0]))),
                           "sqrt": Native(lambda t, a, l: math.sqrt(to_num(a[0])))}),
         "DateUtils": JSObject({
             "getDate": Native(lambda t, a, l: JavaDate("%04d-%02d-%02d" % tuple(int(to_num(x)) for x in a[:3]))),
             "getDateTimeFromString": Native(lambda t, a, l: Unknown("a java.util.Date date-time")),
         }),
         "buildInstance": Native(lambda t, a, l: instance_marker),
         "ec": Native(lambda t, a, l: UNDEF),
         "createExpectedNodesetFromInstance": Native(lambda t, a, l: Unknown("a nodeset")),
         "createExpectedNodesetFromIndexedRepeatFunction": Native(lambda t, a, l: Unknown("a nodeset")),
         "createTestDataForIndexedRepeatFunction": Native(lambda t, a, l: Unknown("a repeat instance")),
         }
    for name in ("XPathUnsupportedException", "XPathTypeMismatchException", "XPathUnhandledException",
                 "XPathException", "NullPointerException", "XPathSyntaxException", "XPathArityException",
                 "IllegalArgumentException", "RuntimeException"):
        g[name] = exc_ctor(name)
    return g


def extract_javarosa(gitdir):
    rec = Recorder(JAVAROSA)
    path = "src/test/java/org/javarosa/xpath/test/XPathEvalTest.java"
    src = git(gitdir, "show", f"HEAD:{path}")
    rec.path = path
    toks = tokenize(src, java=True)
    instance = Doc(JAVAROSA_INSTANCE)
    interp = Interp(java_globals(rec, instance), java=True)
    CURRENT["rec"], CURRENT["interp"] = rec, interp
    JSDate.zone = _dt.timezone.utc
    # methods: "public void name(" ... their token ranges
    methods = []
    for idx, tok in enumerate(toks):
        if tok.kind == "name" and tok.value == "void" and toks[idx + 1].kind == "name" and toks[idx + 2].value == "(":
            methods.append((idx, toks[idx + 1].value))
    method_body_text = {}
    for k, (idx, name) in enumerate(methods):
        end = methods[k + 1][0] if k + 1 < len(methods) else len(toks) - 1
        method_body_text[idx] = (name, toks[idx:end])
    scope = Scope(interp.globals)
    for idx, tok in enumerate(toks):
        if not (tok.kind == "name" and tok.value == "testEval" and toks[idx + 1].value == "(") or toks[idx - 1].value == "void":
            continue
        start = max((m for m, _ in methods if m < idx), default=None)
        name, mtoks = method_body_text.get(start, ("?", []))
        if name == "testEval":
            continue
        handlers = sorted({t2.value for k2, t2 in enumerate(mtoks) if t2.kind == "name" and t2.value.startswith("HANDLER_")
                           and mtoks[k2 - 2].value == "addFunctionHandler"})
        gmt = any(t2.kind == "name" and t2.value == "GMT" for t2 in mtoks)
        variables = any(t2.kind == "name" and t2.value == "setVariable" for t2 in mtoks)
        fallback = any(t2.kind == "name" and t2.value == "addFallbackFunctionHandler" for t2 in mtoks)
        p = Parser(toks)
        p.i = idx + 1
        try:
            args = p.arguments()
            values = [interp.eval(a, scope) for a in args]
        except (ParseError, JSAbort, TypeError, ValueError) as exc:
            rec.skip(f"testEval arguments not evaluated ({exc})")
            continue
        rec.test_title = name
        rec.state.clear()
        expr, expected = values[0], values[-1]
        doc = values[1] if len(values) == 4 and isinstance(values[1], Doc) else None
        if len(values) == 4 and isinstance(values[1], Unknown):
            rec.skip(f"instance not modelled ({values[1].reason})")
            continue
        extra = {}
        if handlers:
            extra["handlers"] = [JAVA_HANDLERS_TEST_ONLY.get(h, h) for h in handlers]
        if variables:
            extra["note"] = "XPath variables set by the test (ec.setVariable)"
        if fallback:
            extra["note"] = "a fallback function handler answers '' for unknown functions"
        if gmt:
            extra["timezone"] = "GMT"
        line = tok.line
        if isinstance(expected, Unknown):
            rec.skip(f"expected value not modelled ({expected.reason})")
            continue
        if isinstance(expected, JavaErr):
            record(rec, expr, "error", None, line, doc, None, exception=expected.name, **extra)
        elif isinstance(expected, bool):
            record(rec, expr, "boolean", expected, line, doc, None, **extra)
        elif isinstance(expected, float):
            record(rec, expr, "number", expected, line, doc, None, **extra)
        elif isinstance(expected, JavaDate):
            record(rec, expr, "string", expected.text, line, doc, None, type="date", **extra)
        elif isinstance(expected, str):
            record(rec, expr, "string", str(expected), line, doc, None, **extra)
        else:
            rec.skip(f"expected value of type {type(expected).__name__}")
    # XPathParseTest: {expr, expected parse tree or null}
    path = "src/test/java/org/javarosa/xpath/test/XPathParseTest.java"
    src = git(gitdir, "show", f"HEAD:{path}")
    rec.path = path
    rec.test_title = "XPathParseTest.parseTestCases"
    toks = tokenize(src, java=True)
    start = next(i for i, t in enumerate(toks) if t.value == "parseTestCases" and toks[i + 1].value == "=")
    p = Parser(toks)
    p.i = start + 2
    p.expect("{")
    while not p.at("}"):
        p.expect("{")
        expr_node = p.assignment()
        p.expect(",")
        tree_node = p.assignment()
        p.expect("}")
        if p.at(","):
            p.take()
        expr, tree = interp.eval(expr_node, scope), interp.eval(tree_node, scope)
        line = expr.line
        if tree is None:
            record(rec, expr, "error", None, line)
            continue
        m = re.fullmatch(r"\{num:(.*)\}", tree)
        s = re.fullmatch(r"\{str:'(.*)'\}", tree, re.S)
        if m:
            record(rec, expr, "number", float(m.group(1)), line)
        elif s:
            record(rec, expr, "string", s.group(1), line)
        else:
            rec.skip("XPathParseTest: only a parse tree is expected (no value)")
    return rec


# ============================================================ main

def number_duplicate_sources(cases):
    seen = Counter()
    for case in cases:
        seen[case["source"]] += 1
        if seen[case["source"]] > 1:
            case["source"] += f"#{seen[case['source']]}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("enketo", help="git dir of enketo/openrosa-xpath-evaluator")
    ap.add_argument("webforms", help="git dir of getodk/web-forms")
    ap.add_argument("javarosa", help="git dir of getodk/javarosa")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    sys.setrecursionlimit(10000)
    recs = []
    print("enketo:", file=sys.stderr)
    recs.append(extract_js(args.enketo, ENKETO, "test/integration",
                           lambda p: p.endswith(".spec.js")))
    print("web-forms:", file=sys.stderr)
    recs.append(extract_js(args.webforms, WEBFORMS, "packages/xpath/test",
                           lambda p: p.endswith(".test.ts")))
    print("javarosa:", file=sys.stderr)
    recs.append(extract_javarosa(args.javarosa))
    cases = []
    commits = {}
    for rec, gitdir in zip(recs, (args.enketo, args.webforms, args.javarosa)):
        number_duplicate_sources(rec.cases)
        cases.extend(rec.cases)
        commits[rec.repo] = git(gitdir, "rev-parse", "HEAD").strip()
    # one case a line: diffs of a rebuilt corpus stay readable
    Path(args.out).write_text("[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n]\n",
                              encoding="utf-8")
    summary = {
        "about": "Written by bench/peer_xpath_extract.py beside peer_xpath.json: the peers' commits read, "
                 "and per repository the assertions that were not turned into cases, by reason.",
        "commits": commits,
        "extracted": {rec.repo: len(rec.cases) for rec in recs},
        "not_extracted": {rec.repo: dict(rec.skipped.most_common()) for rec in recs},
    }
    Path(UNEXTRACTED if args.out == str(OUT) else Path(args.out).with_suffix(".unextracted.json")).write_text(
        json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for rec in recs:
        print(f"{rec.repo}: {len(rec.cases)} cases; not extracted: {sum(rec.skipped.values())}")
        for reason, n in rec.skipped.most_common(12):
            print(f"    {n:5d}  {reason}")


if __name__ == "__main__":
    main()
