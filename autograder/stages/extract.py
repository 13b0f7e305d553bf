"""Stage 2, extract: keep only definitions from the student's code (AST filter).

IPython syntax (`%magic`, `!pip install`, `x = !ls`) is converted to plain Python first, then each
cell is parsed and only these top-level statements are kept: imports, function and class
definitions, simple assignments (constants, aliases, lambdas), and `try` blocks made of those.
Training loops, plots, prints, `input()`, magics and shell escapes never run while grading.
Imports of the grader's own packages (solutions, autograder, course, quizzes) are removed and
noted. Each kept statement is wrapped in `try/except Exception`, so one that fails while loading
(a package the grader lacks, used for plots) breaks only the functions that use it. A notebook
cell that does not parse is skipped with a note; a .py file that does not parse is the student's
error.
"""

from __future__ import annotations

import ast
import threading
from dataclasses import replace

from alr import PACKAGES
from alr.contract import FUNCTION_MODULE, MODULE_IDS
from alr.errors import SubmissionError
from autograder.stages.context import Cell, Context, Extracted, SubmissionKind

#: CPython 3.11's AST constructor is not thread-safe (gh-106905): one parse at a time.
_AST_LOCK = threading.Lock()
PROJECT_PACKAGES = frozenset(PACKAGES)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


#: Calls a constant may be computed with: pure functions of their arguments.
_PURE_CALLS = frozenset({"float", "int", "abs", "min", "max", "round", "pow", "complex", "bool"})
_PURE_MODULES = frozenset({"math"})


def _pure_call(node: ast.Call) -> bool:
    """`float("inf")`, `math.sqrt(2)`: a builtin or math function of simple arguments."""
    func = node.func
    pure = (isinstance(func, ast.Name) and func.id in _PURE_CALLS) or (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in _PURE_MODULES
    )
    return (
        pure and all(_simple(a) for a in node.args) and all(_simple(k.value) for k in node.keywords)
    )


def _simple(node: ast.expr) -> bool:
    """Literals, names, attributes, arithmetic on those, containers of those, lambdas, and pure
    calls of those (`INF = float("inf")`, `SQRT2 = math.sqrt(2)`)."""
    if isinstance(node, ast.Constant | ast.Name | ast.Lambda):
        return True
    if isinstance(node, ast.Call):
        return _pure_call(node)
    if isinstance(node, ast.Attribute):
        return _simple(node.value)
    if isinstance(node, ast.UnaryOp):
        return _simple(node.operand)
    if isinstance(node, ast.BinOp):
        return _simple(node.left) and _simple(node.right)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return all(_simple(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is None or _simple(k) for k in node.keys) and all(
            _simple(v) for v in node.values
        )
    return False


def _project_import(node: ast.stmt) -> str | None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] in PROJECT_PACKAGES:
                return alias.name
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        if node.module.split(".")[0] in PROJECT_PACKAGES:
            return node.module
    return None


def _keep(node: ast.stmt) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom, *_DEFS)):
        return _project_import(node) is None
    if isinstance(node, ast.Assign):
        return all(isinstance(t, ast.Name) for t in node.targets) and _simple(node.value)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and (node.value is None or _simple(node.value))
    if isinstance(node, ast.Try):
        bodies = [node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)]
        return all(_keep(s) or isinstance(s, ast.Pass) for b in bodies for s in b)
    return False


def _defined_names(node: ast.stmt) -> list[str]:
    if isinstance(node, _DEFS):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def _tolerant(node: ast.stmt) -> str:
    """The statement inside `try: ... except Exception: pass`, so that one that fails while
    loading (a package the grader lacks, a constant built from a dropped variable, a decorator
    that raises) breaks only the functions that use its name (a NameError), not the whole
    submission."""
    handler = ast.ExceptHandler(
        type=ast.Name("Exception", ast.Load()), name=None, body=[ast.Pass()]
    )
    wrapped = ast.Try(body=[node], handlers=[handler], orelse=[], finalbody=[])
    return ast.unparse(ast.fix_missing_locations(ast.Module([wrapped], type_ignores=[])))


def _to_python(cell: Cell, kind: SubmissionKind) -> str:
    if kind is SubmissionKind.PYTHON:
        return cell.source
    from IPython.core.inputtransformer2 import TransformerManager

    return str(TransformerManager().transform_cell(cell.source))


def _graded_calls(node: ast.stmt, name: str) -> tuple[str, ...]:
    """The other graded functions a definition names (those it may call)."""
    used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in FUNCTION_MODULE}
    return tuple(sorted(used - {name}))


def _where(cell: Cell, node: ast.stmt) -> str:
    if cell.index is None:
        return f"line {node.lineno}"
    return f"cell {cell.index + 1}"


def extract_source(cells: tuple[Cell, ...], kind: SubmissionKind) -> Extracted:
    """Filter the cells' code to definitions; raise SubmissionError when a .py does not parse."""
    future: list[str] = []
    kept: list[str] = []
    locations: dict[str, str] = {}
    calls: dict[str, tuple[str, ...]] = {}
    notes: list[str] = []
    dropped = 0
    for cell in cells:
        try:
            tree = ast.parse(_to_python(cell, kind))
        except (SyntaxError, ValueError) as exc:
            line = getattr(exc, "lineno", None)
            msg = f"{type(exc).__name__}: {getattr(exc, 'msg', str(exc))}"
            if cell.index is None:
                raise SubmissionError(f"the file does not parse ({msg} at line {line})") from None
            notes.append(f"cell {cell.index + 1} was skipped: {msg} (line {line} of the cell)")
            continue
        for node in tree.body:
            project = _project_import(node)
            if project is not None:
                notes.append(
                    f"`import {project}` ({_where(cell, node)}) was removed: the course's own "
                    "packages are not available while grading; write the code yourself"
                )
                continue
            if not _keep(node):
                dropped += not cell.locked  # only the student's own cells count
                continue
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                future.append(ast.unparse(node))
                continue
            kept.append(_tolerant(node))
            for name in _defined_names(node):
                if name in FUNCTION_MODULE and cell.locked:  # given code earns nothing
                    locations.pop(name, None)
                elif name in FUNCTION_MODULE:
                    locations[name] = _where(cell, node)
                    calls[name] = _graded_calls(node, name)
    if dropped:
        notes.append(
            f"{dropped} top-level statement(s) (code outside functions: loops, plots, prints, "
            "magics) were not run while grading; graded functions must not depend on them"
        )
    source = "\n\n".join(dict.fromkeys(future)) + "\n\n" + "\n\n".join(kept) + "\n"
    defined = tuple(n for n in FUNCTION_MODULE if n in locations)
    calls = {f: c for f, c in calls.items() if f in locations}
    return Extracted(source.lstrip(), defined, locations, tuple(notes), calls)


def extract_functions(ctx: Context) -> Context:
    """Stage: extract definitions from the loaded submission."""
    if ctx.error is not None or ctx.submission is None:
        return ctx
    try:
        with _AST_LOCK:
            extracted = extract_source(ctx.submission.cells, ctx.submission.kind)
    except SubmissionError as exc:
        return replace(ctx, error=str(exc))
    ctx = replace(ctx, extracted=extracted, notes=ctx.notes + extracted.notes)
    if ctx.modules is None:  # a .py file grades the modules whose functions it defines
        modules = tuple(
            m for m in MODULE_IDS if any(FUNCTION_MODULE[f] == m for f in extracted.defined)
        )
        if not modules:
            return replace(
                ctx,
                error="the file defines none of the graded functions (for example "
                "`def adam_step(theta, grad, m, v, t, *, lr=1e-3, ...)`); define them with the "
                "names of the exercises, or grade it with --module",
            )
        return replace(ctx, modules=modules)
    return ctx
