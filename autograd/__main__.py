"""The command line: ``chainrule "x*y + tanh(x)" x=0.5 y=-2`` (also ``python -m autograd``).

The expression is parsed with ``ast`` against a whitelist and evaluated by walking the tree: no
``eval``, no attribute access, no calls but the engine's functions. Every bad input is a one-line
error on stderr with exit status 2; so is a --render/--html file in a folder that does not exist, a
path that is not a regular file, or a read-only file (unless --overwrite). A non-finite value or gradient gets a one-line warning (exit 0).
"""

from __future__ import annotations

import argparse
import ast
import math
import os
import re
import sys
from pathlib import Path

from . import Value, __version__
from .engine import apply
from .ops import OPS
from .files import page_path, printable, resolve_target

def functions() -> dict:
    """The functions an expression may call: every op of the table that prints as a call, by name."""
    return {op.fn_name: op for op in OPS.values() if not op.symbol}


FUNCTIONS = tuple(functions())  # the built-in ones, for --help
BINARY = {ast.Add: "__add__", ast.Sub: "__sub__", ast.Mult: "__mul__", ast.Div: "__truediv__",
          ast.Pow: "__pow__"}
CHAINS = ({ast.Add, ast.Sub}, {ast.Mult, ast.Div})  # a + b - c + d is one run, one level deep
MAX_LENGTH = 2000
MAX_DEPTH = 60  # levels of real nesting: parentheses, calls, unary minus; not the length of a run
VIZ_HINT = 'pip install "chainrule[viz]" (or pip install -e ".[viz]" in a clone)'
PICTURES = (".svg", ".png")  # --render formats that need a renderer; .dot is plain text


class UsageError(Exception):
    """A bad expression or variable; the message is the whole one-line report."""


def parse(text: str) -> ast.AST:
    """The expression's syntax tree, checked against the whitelist (UsageError otherwise)."""
    if len(text) > MAX_LENGTH:
        raise UsageError(f"expression too long ({len(text)} characters; the limit is {MAX_LENGTH})")
    if not text.strip():
        raise UsageError("empty expression")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:  # an undecodable byte in argv arrives as a lone surrogate
        raise UsageError(f"the expression is not valid UTF-8 (an undecodable byte at column {e.start + 1})") from None
    body = text.strip()
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError as e:
        raise UsageError(f"syntax error{_where(e, body)}: {e.msg}") from None
    except (RecursionError, MemoryError):
        raise UsageError("expression too deeply nested") from None
    except ValueError as e:  # e.g. a NUL character, on Pythons that do not call it a SyntaxError
        raise UsageError(f"the expression cannot be read: {e}") from None
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
            stack += [(node.left, depth if _same_run(node, node.left) else depth + 1), (node.right, depth + 1)]
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise UsageError(f"operator {type(node.op).__name__} is not allowed at {where}")
            stack.append((node.operand, depth + 1))
        elif isinstance(node, ast.Call):
            name = _typed(body, node.func) if isinstance(node.func, ast.Name) else None
            known = functions()
            if name not in known:
                raise UsageError(f"only these functions can be called: {', '.join(known)} (at {where})")
            op = known[name]
            fewest = op.arity - len(op.defaults)
            if not fewest <= len(node.args) <= op.arity or node.keywords or \
                    any(isinstance(a, ast.Starred) for a in node.args):
                count = f"{op.arity}" if fewest == op.arity else f"{fewest} or {op.arity}"
                raise UsageError(f"{name}() takes {count} argument{'s' * (op.arity > 1)} (at {where})")
            stack += [(a, depth + 1) for a in node.args]
        elif isinstance(node, ast.Constant):
            if type(node.value) not in (int, float):
                raise UsageError(f"only numbers are allowed as constants, got {node.value!r} at {where}")
        elif isinstance(node, ast.Name):
            if _typed(body, node) in functions():
                raise UsageError(f"{node.id} is a function: call it as {node.id}(...) (at {where})")
        else:
            raise UsageError(f"{type(node).__name__} is not allowed in an expression (at {where})")
    return tree.body


def _typed(text: str, name: ast.Name) -> str:
    """A name as typed, written back into the tree: Python's parser folds names by NFKC, so a user
    op called 'ｅxp' or 'ﬁx' would otherwise be read as exp or fix."""
    name.id = ast.get_source_segment(text, name) or name.id
    return name.id


def _where(e: SyntaxError, text: str) -> str:
    """' at column N' (1-based), ' at the end', or '' when Python gives no position."""
    lines = text.split("\n")
    if e.lineno is None:
        return ""
    if e.lineno > len(lines) or not e.offset or e.offset > len(lines[e.lineno - 1]):
        return " at the end"
    return f" at column {e.offset}" if len(lines) == 1 else f" at line {e.lineno}, column {e.offset}"


def _same_run(node: ast.BinOp, left: ast.AST) -> bool:
    """Whether ``left`` continues ``node``'s run of + and - (or * and /), as in a + b + c."""
    return isinstance(left, ast.BinOp) and any({type(node.op), type(left.op)} <= run for run in CHAINS)


def evaluate(tree: ast.AST, variables: dict):
    """Build the graph for a checked tree; variables maps names to leaf Values."""
    results: dict = {}
    stack = [tree]
    while stack:  # post-order without recursion
        node = stack[-1]
        kids = [node.left, node.right] if isinstance(node, ast.BinOp) else \
            [node.operand] if isinstance(node, ast.UnaryOp) else \
            list(node.args) if isinstance(node, ast.Call) else []
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
            value = _binary(BINARY[type(node.op)], results[id(node.left)], results[id(node.right)])
        elif isinstance(node, ast.UnaryOp):
            x = results[id(node.operand)]
            value = -x if isinstance(node.op, ast.USub) else x
        else:
            value = _call(node.func.id, [results[id(a)] for a in node.args])
        results[id(node)] = value
    out = results[id(tree)]
    return out if isinstance(out, Value) else Value(out)


def _binary(method: str, left, right):
    """``left <op> right``; a numbers-only part is computed by the engine (its checks and messages)
    and stays a number, so (-8)**(1/3) is refused as a number to a non-integer power."""
    if isinstance(left, Value):
        return getattr(left, method)(right)
    if isinstance(right, Value):
        return getattr(right, "__r" + method[2:])(left)
    return getattr(Value(left), method)(right).data


def _call(name: str, args: list):
    """``name(*args)`` for one of ``functions()``, missing trailing arguments taken from the op's
    defaults (leaky_relu's slope); numbers in give a number out, as in _binary."""
    op = functions()[name]
    args = args + list(op.defaults[len(op.defaults) - (op.arity - len(args)):]) if len(args) < op.arity else args
    return apply(op.key, *args)


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
    if args.expression is None:
        raise UsageError('an expression is required, e.g. chainrule "x*y" x=2 y=3 (variables are optional)')
    variables = parse_variables(args.variables)
    tree = parse(args.expression)
    check_outputs(args)
    if args.lr is not None and not args.html:
        raise UsageError("--lr needs --html FILE: it is the learning rate of the page's update step "
                         f"(got --lr {args.lr!r} without --html)")
    if args.lr is not None and not 0 < args.lr < math.inf:
        raise UsageError(f"--lr is the learning rate the --html page uses for the update step: "
                         f"give a positive number (got {args.lr!r})")
    try:
        out = evaluate(tree, variables)
    except (ValueError, ZeroDivisionError, OverflowError) as e:
        raise UsageError(f"{e}") from None
    from . import trace

    report = trace.explain(out) if args.explain else ""  # explain leaves .grad alone
    out.backward()
    print(f"value = {out.data!r}")
    for name, v in variables.items():
        print(f"d/d{name} = {v.grad!r}")
    problem = trace.find_nonfinite(out)
    if problem is not None:
        print(f"chainrule: warning: the first non-finite {problem.stage} value is at {problem.detail}",
              file=sys.stderr)
    if args.explain:
        print(report)
    if args.tape:
        print(trace.tape(out))
    if args.render is not None:
        from .viz import render

        written = _write("--render", args.render,
                         lambda: render(out, args.render, edge_derivatives=True, overwrite=args.overwrite))
        print(f"graph written to {printable(os.fspath(written))}")
    if args.html is not None:
        page = _write("--html", args.html, lambda: trace.to_html(out, args.html, lr=args.lr, expression=args.expression,
                                                                 overwrite=args.overwrite))
        print(f"stepper page written to {printable(os.fspath(page))}")


def check_outputs(args) -> None:
    """Refuse, before any work, a --render/--html file that cannot be written or drawn here."""
    for option, path in (("--render", args.render), ("--html", args.html)):
        if path is None:
            continue
        if not path.strip():
            raise UsageError(f"{option} needs a file name, got {path!r}")
        try:
            resolve_target(path, overwrite=args.overwrite)  # the writers' own check; a missing folder is not made
        except (OSError, ValueError) as e:
            raise UsageError(f"{option}: {_plain(e)}") from None
    if args.render is not None and Path(args.render).suffix.lower() not in PICTURES + (".dot",):
        raise UsageError(f"--render: cannot tell the format from {args.render!r}; use a .svg, .png or .dot suffix")
    if args.html is not None:
        try:
            page_path(args.html, "--html")
        except ValueError as e:
            raise UsageError(_plain(e)) from None
        _check_viz("--html")
    if args.render is not None and Path(args.render).suffix.lower() in PICTURES:
        _check_viz(f"--render {Path(args.render).suffix.lower()}")


def _check_viz(what: str) -> None:
    """Refuse ``what`` unless the graphviz package and a renderer are here."""
    from .viz import RendererNotFound, find_renderer

    try:
        import graphviz  # noqa: F401
        find_renderer()
    except (ImportError, RendererNotFound):
        raise UsageError(f"{what} needs the viz extra: {VIZ_HINT}") from None


def _write(option: str, path: str, write):
    """Run ``write()``; a failure becomes one plain line naming the option and the path."""
    try:
        return write()
    except OSError as e:
        raise UsageError(f"{option}: cannot write {path!r}: {_plain(e)}") from None
    except (ValueError, RuntimeError, ImportError) as e:
        raise UsageError(f"{option}: {_plain(e)}") from None


def _plain(e: Exception) -> str:
    """An exception as one line without its class name, or an OSError's file name (maybe a temporary one)."""
    text = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
    return text.splitlines()[0] if text.strip() else type(e).__name__


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


OPTIONS = {"--explain": False, "--tape": False, "--render": True, "--html": True, "--lr": True, "--overwrite": False,
           "-h": False, "--help": False, "--version": False}


def _split(argv: list) -> list:
    """Options first, then '--' and the rest, so an expression like "-x*y" is never taken for an option.

    Anything shaped like --word is an option (unknown ones are refused); an expression that starts
    that way goes after '--'.
    """
    options, rest = [], []
    items = iter(argv)
    for item in items:
        name = item.split("=", 1)[0]
        if name not in OPTIONS and re.match(r"--[A-Za-z]", name):
            known = ", ".join(o for o in OPTIONS if o.startswith("--"))
            raise UsageError(f"unknown option {name} (the options are {known})")
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
    parser.add_argument("expression", nargs="?",  # required, but checked by run() to say so plainly
                        help=f"numbers, variables, + - * / **, parentheses, {', '.join(FUNCTIONS)}")
    parser.add_argument("variables", nargs="*", help="name=number for each variable")
    parser.add_argument("--explain", action="store_true", help="print every chain-rule step with its numbers")
    parser.add_argument("--tape", action="store_true", help="print the graph as one line per node")
    parser.add_argument("--render", metavar="FILE", help="draw the graph (.svg, .png or .dot)")
    parser.add_argument("--html", metavar="FILE", help="write the step-by-step backprop page")
    parser.add_argument("--overwrite", action="store_true", help="replace a --render/--html file even if it is read-only")
    parser.add_argument("--lr", type=float, metavar="RATE", help="with --html: show the update w <- w - RATE * grad")
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
        print(f"chainrule: error: {_plain(e)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
