"""The command line: ``chainrule "x*y + tanh(x)" x=0.5 y=-2`` (also ``python -m autograd``).

The expression is parsed with ``ast`` against a whitelist and evaluated by walking the tree: no
``eval``, no attribute access, no calls but the engine's functions. Every bad input is a one-line
error on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import ast
import math
import sys

from . import Value, __version__

FUNCTIONS = ("exp", "log", "sqrt", "tanh", "sigmoid", "relu", "sin", "cos", "abs")
BINARY = {ast.Add: "__add__", ast.Sub: "__sub__", ast.Mult: "__mul__", ast.Div: "__truediv__",
          ast.Pow: "__pow__"}
MAX_LENGTH = 2000
MAX_DEPTH = 60


class UsageError(Exception):
    """A bad expression or variable; the message is the whole one-line report."""


def parse(text: str) -> ast.AST:
    """The expression's syntax tree, checked against the whitelist (UsageError otherwise)."""
    if len(text) > MAX_LENGTH:
        raise UsageError(f"expression too long ({len(text)} characters; the limit is {MAX_LENGTH})")
    if not text.strip():
        raise UsageError("empty expression")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise UsageError(f"syntax error at column {e.offset or 0}: {e.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise UsageError("expression too deeply nested") from None
    stack = [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UsageError(f"expression too deeply nested (more than {MAX_DEPTH} levels)")
        where = f"column {getattr(node, 'col_offset', 0) + 1}"
        if isinstance(node, ast.BinOp):
            if type(node.op) not in BINARY:
                hint = " (use ** for powers)" if isinstance(node.op, ast.BitXor) else ""
                raise UsageError(f"operator {type(node.op).__name__} is not allowed at {where}{hint}")
            stack += [(node.left, depth + 1), (node.right, depth + 1)]
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise UsageError(f"operator {type(node.op).__name__} is not allowed at {where}")
            stack.append((node.operand, depth + 1))
        elif isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name not in FUNCTIONS:
                raise UsageError(f"only these functions can be called: {', '.join(FUNCTIONS)} (at {where})")
            if len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Starred):
                raise UsageError(f"{name}() takes exactly one argument (at {where})")
            stack.append((node.args[0], depth + 1))
        elif isinstance(node, ast.Constant):
            if type(node.value) not in (int, float):
                raise UsageError(f"only numbers are allowed as constants, got {node.value!r} at {where}")
        elif isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise UsageError(f"{node.id} is a function: call it as {node.id}(...) (at {where})")
        else:
            raise UsageError(f"{type(node).__name__} is not allowed in an expression (at {where})")
    return tree.body


def evaluate(tree: ast.AST, variables: dict):
    """Build the graph for a checked tree; variables maps names to leaf Values."""
    results: dict = {}
    stack = [tree]
    while stack:  # post-order without recursion
        node = stack[-1]
        kids = [node.left, node.right] if isinstance(node, ast.BinOp) else \
            [node.operand] if isinstance(node, ast.UnaryOp) else \
            [node.args[0]] if isinstance(node, ast.Call) else []
        pending = [k for k in kids if id(k) not in results]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        if isinstance(node, ast.Constant):
            value = float(node.value)
        elif isinstance(node, ast.Name):
            if node.id not in variables:
                known = ", ".join(variables) or "none"
                raise UsageError(f"unknown name {node.id!r} at column {node.col_offset + 1} "
                                 f"(variables given: {known}); give it a value like {node.id}=1.0")
            value = variables[node.id]
        elif isinstance(node, ast.BinOp):
            left, right = results[id(node.left)], results[id(node.right)]
            if not isinstance(left, Value) and not isinstance(right, Value):
                left = Value(left)  # keep numbers-only parts in the graph as constants' leaves
            value = getattr(left, BINARY[type(node.op)])(right) if isinstance(left, Value) else \
                getattr(right, "__r" + BINARY[type(node.op)][2:])(left)
        elif isinstance(node, ast.UnaryOp):
            x = results[id(node.operand)]
            value = -x if isinstance(node.op, ast.USub) else x
        else:
            x = results[id(node.args[0])]
            x = x if isinstance(x, Value) else Value(x)
            value = abs(x) if node.func.id == "abs" else getattr(x, node.func.id)()
        results[id(node)] = value
    out = results[id(tree)]
    return out if isinstance(out, Value) else Value(out)


def parse_variables(assignments: list) -> dict:
    """['x=1.5', 'y=-2'] -> {'x': Value(1.5, 'x'), ...}, with a clear error for anything else."""
    variables = {}
    for item in assignments:
        name, eq, text = item.partition("=")
        name = name.strip()
        if not eq or not name.isidentifier():
            raise UsageError(f"variables are given as name=number, got {item!r}")
        if name in FUNCTIONS:
            raise UsageError(f"{name} is a function name and cannot be a variable")
        if name in variables:
            raise UsageError(f"variable {name} is given twice")
        try:
            number = float(text)
        except ValueError:
            raise UsageError(f"{name}={text!r}: not a number") from None
        if not math.isfinite(number):
            raise UsageError(f"{name}={text}: the value must be finite")
        variables[name] = Value(number, name)
    return variables


def run(args) -> None:
    variables = parse_variables(args.variables)
    tree = parse(args.expression)
    try:
        out = evaluate(tree, variables)
    except (ValueError, ZeroDivisionError, OverflowError) as e:
        raise UsageError(f"{e}") from None
    if args.html or args.render:
        try:
            import graphviz  # noqa: F401
        except ImportError:
            raise UsageError('--render and --html need the viz extra: pip install "chainrule[viz]"') from None
    from . import trace

    report = trace.explain(out) if args.explain else ""  # explain leaves .grad alone
    out.backward()
    print(f"value = {out.data!r}")
    for name, v in variables.items():
        print(f"d/d{name} = {v.grad!r}")
    if args.explain:
        print(report)
    if args.tape:
        print(trace.tape(out))
    if args.render:
        from .viz import render

        print(f"graph written to {render(out, args.render, edge_derivatives=True)}")
    if args.html:
        for v in variables.values():
            v.grad = 0.0
        print(f"stepper page written to {trace.to_html(out, args.html)}")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


OPTIONS = {"--explain": False, "--tape": False, "--render": True, "--html": True, "-h": False, "--help": False,
           "--version": False}


def _split(argv: list) -> list:
    """Options first, then '--' and the rest, so an expression like "-x*y" is never taken for an option."""
    options, rest = [], []
    items = iter(argv)
    for item in items:
        name = item.split("=", 1)[0]
        if name in OPTIONS:
            options.append(item)
            value = next(items, None) if OPTIONS.get(name) and "=" not in item else None
            if value is not None:
                options.append(value)
        elif item == "--":
            rest.extend(items)
        else:
            rest.append(item)
    return options + ["--"] + rest


def main(argv=None) -> int:
    parser = _Parser(
        prog="chainrule", description="Evaluate an expression, print its value and each variable's gradient.",
        epilog='example: chainrule "x*y + tanh(x)" x=0.5 y=-2 --explain')
    parser.add_argument("expression", help=f"numbers, variables, + - * / **, parentheses, {', '.join(FUNCTIONS)}")
    parser.add_argument("variables", nargs="*", help="name=number for each variable")
    parser.add_argument("--explain", action="store_true", help="print every chain-rule step with its numbers")
    parser.add_argument("--tape", action="store_true", help="print the graph as one line per node")
    parser.add_argument("--render", metavar="FILE", help="draw the graph (.svg, .png or .dot)")
    parser.add_argument("--html", metavar="FILE", help="write the step-by-step backprop page")
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    try:
        args = parser.parse_args(_split(sys.argv[1:] if argv is None else list(argv)))
        run(args)
    except UsageError as e:
        print(f"chainrule: error: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:  # --help, --version
        return e.code if isinstance(e.code, int) else 0
    except (OSError, RuntimeError, ValueError) as e:
        print(f"chainrule: error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
