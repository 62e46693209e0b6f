"""Link functions g: R^r -> R of a multi-index teacher.

Built-ins are named; anything else is an arithmetic expression over z0 ... z{r-1}
that is parsed with :mod:`ast` and checked node by node. It is never given to
``eval`` or ``exec``: it is compiled into a tree of numpy closures.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._errors import InvalidParameterError

Array = np.ndarray
Evaluator = Callable[[Array], Array]


def _he2_link(z: Array) -> Array:
    r = z.shape[1]
    return ((z * z) - 1.0).sum(axis=1) / math.sqrt(2 * r)


def _chain_link(z: Array) -> Array:
    if z.shape[1] < 2:
        return np.zeros(z.shape[0])
    return (z[:, :-1] * z[:, 1:]).sum(axis=1)


def _abs_link(z: Array) -> Array:
    return (np.abs(z) - math.sqrt(2.0 / math.pi)).sum(axis=1)


BUILTIN_LINKS: dict[str, Evaluator] = {"he2": _he2_link, "chain": _chain_link, "abs": _abs_link}

FUNCTIONS: dict[str, Callable[[Array], Array]] = {
    "tanh": np.tanh,
    "sin": np.sin,
    "cos": np.cos,
    "exp": np.exp,
    "abs": np.abs,
    "sqrt": lambda v: np.sqrt(np.abs(v)),
    "relu": lambda v: np.maximum(v, 0.0),
    "sign": np.sign,
    "he1": lambda v: v,
    "he2": lambda v: v * v - 1.0,
    "he3": lambda v: v**3 - 3.0 * v,
    "he4": lambda v: v**4 - 6.0 * v * v + 3.0,
}
CONSTANTS = {"pi": math.pi, "e": math.e}

_BINARY = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
}
_VARIABLE = re.compile(r"z(0|[1-9][0-9]*)\Z")
_MAX_EXPRESSION_LENGTH = 1000


class _Compiler:
    def __init__(self, r: int, text: str):
        self.r = r
        self.text = text

    def fail(self, what: str) -> InvalidParameterError:
        return InvalidParameterError(
            "link",
            self.text,
            f"he2, chain, abs or an arithmetic expression over z0..z{self.r - 1}; {what}",
        )

    def compile(self, node: ast.AST) -> Evaluator:
        if isinstance(node, ast.Expression):
            return self.compile(node.body)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise self.fail(f"constant {node.value!r} is not a number")
            value = float(node.value)
            return lambda z: np.full(z.shape[0], value)
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner = self.compile(node.operand)
            if isinstance(node.op, ast.USub):
                return lambda z: -inner(z)
            return inner
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            op = _BINARY[type(node.op)]
            left, right = self.compile(node.left), self.compile(node.right)
            return lambda z: op(left(z), right(z))
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Attribute):
            raise self.fail("attribute access is not allowed")
        raise self.fail(f"'{type(node).__name__}' syntax is not allowed")

    def _name(self, name: str) -> Evaluator:
        if name in CONSTANTS:
            value = CONSTANTS[name]
            return lambda z: np.full(z.shape[0], value)
        match = _VARIABLE.match(name)
        if not match:
            raise self.fail(f"unknown name '{name}'")
        index = int(match.group(1))
        if index >= self.r:
            raise self.fail(f"'{name}' does not exist when r = {self.r}")
        return lambda z: z[:, index]

    def _call(self, node: ast.Call) -> Evaluator:
        if isinstance(node.func, ast.Attribute):
            raise self.fail("attribute access is not allowed")
        if not isinstance(node.func, ast.Name):
            raise self.fail("only calls of whitelisted functions are allowed")
        name = node.func.id
        if name not in FUNCTIONS:
            allowed = " ".join(sorted(FUNCTIONS))
            raise self.fail(f"function '{name}' is not allowed (allowed: {allowed})")
        if node.keywords or len(node.args) != 1:
            raise self.fail(f"function '{name}' takes exactly one argument")
        fn, arg = FUNCTIONS[name], self.compile(node.args[0])
        return lambda z: fn(arg(z))


@dataclass(frozen=True)
class Link:
    """A parsed link. ``spec`` is what the user wrote; ``__call__`` maps (n, r) -> (n,)."""

    spec: str
    r: int
    _fn: Evaluator

    def __call__(self, z: Array) -> Array:
        with np.errstate(all="ignore"):
            return np.asarray(self._fn(np.asarray(z, dtype=np.float64)), dtype=np.float64)


def parse_link(spec: str, r: int) -> Link:
    """Parse a built-in name or an expression; raise InvalidParameterError if unsafe or wrong."""
    text = str(spec).strip()
    if text in BUILTIN_LINKS:
        return Link(text, r, BUILTIN_LINKS[text])
    compiler = _Compiler(r, text)
    if not text:
        raise compiler.fail("it is empty")
    if len(text) > _MAX_EXPRESSION_LENGTH:
        raise compiler.fail(f"it is longer than {_MAX_EXPRESSION_LENGTH} characters")
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text) and not _VARIABLE.match(text) and text not in CONSTANTS:
        raise compiler.fail(f"'{text}' is not a built-in link")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise compiler.fail(f"syntax error at column {exc.offset}") from None
    except (RecursionError, MemoryError):
        raise compiler.fail("it is nested too deeply") from None
    try:
        fn = compiler.compile(tree)
    except RecursionError:
        raise compiler.fail("it is nested too deeply") from None
    link = Link(text, r, fn)
    probe = link(np.zeros((1, r)))
    if probe.shape != (1,):
        raise compiler.fail("it does not give one number per sample")
    return link
