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

This runs in the grader on student bytes, so its work is bounded before it starts: the code's
size, the lines of a cell, and the lines that need IPython's conversion (its cost grows with the
cell's lines times those lines, and it gives up past a few hundred) are checked first; the
syntax tree's depth is checked before anything walks it. Whatever a cell makes IPython or the
parser raise skips that cell (a .py: the student's error), with a one-line reason. Only the
parse itself, of a cell within those bounds, runs under the AST lock.
"""

from __future__ import annotations

import ast
import re
import threading
from dataclasses import replace

from alr import PACKAGES
from alr.contract import FUNCTION_MODULE, MODULE_IDS
from alr.errors import SubmissionError
from autograder.stages.context import Cell, Context, Extracted, SubmissionKind

#: CPython 3.11's AST constructor is not thread-safe (gh-106905): one parse at a time (of a
#: cell within the limits below: the lock is never held for long).
_AST_LOCK = threading.Lock()
PROJECT_PACKAGES = frozenset(PACKAGES)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)

#: characters of code in a whole submission (a graded .py is a few kB; 8 MB is the file cap)
MAX_CODE_CHARS = 1 << 20
#: lines of one cell or .py file
MAX_CELL_LINES = 20_000
#: IPython's conversion rescans the whole cell once per line of IPython syntax in it, so its
#: cost is about (the cell's lines) x (its lines of IPython syntax): at most this per cell and
#: in all (20,000 is about 0.3 s here), and at most this many such lines per cell
MAX_IPYTHON_WORK = 20_000
MAX_IPYTHON_WORK_TOTAL = 100_000
MAX_IPYTHON_LINES = 50
#: depth of a syntax tree (nesting of statements and expressions; real code stays under 30)
MAX_DEPTH = 100
#: lines IPython converts: %magics, !commands, `x = !cmd`, `obj?`, cell magics
_IPYTHON_LINE = re.compile(r"^\s*[%!?]|=\s*[%!]|\?\s*$")
#: cells IPython rewrites as a whole: indented first line, prompts
_IPYTHON_CELL = re.compile(r"^(\s*\n)*([ \t]+\S|>>>|In \[)")


class Skip(Exception):
    """A cell is not used: the one-line reason why (a .py file: the student's error), and the
    line of the cell it is about, when it is a syntax error."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.line = line

    def for_file(self) -> str:
        if self.line is not None:
            return f"the file does not parse ({self} at line {self.line})"
        return f"the file cannot be graded: {self}"

    def for_cell(self) -> str:
        return f"{self} (line {self.line} of the cell)" if self.line is not None else str(self)


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
    return ast.unparse(ast.Module([wrapped], type_ignores=[]))  # (unparse reads no locations)


def _to_python(cell: Cell, kind: SubmissionKind, budget: list[int]) -> str:
    """The cell as plain Python, within the limits (`budget`: IPython work left in all)."""
    lines = cell.source.count("\n") + 1
    if lines > MAX_CELL_LINES:
        raise Skip(f"it has {lines} lines; at most {MAX_CELL_LINES} are read")
    if kind is SubmissionKind.PYTHON:
        return cell.source
    special = sum(1 for line in cell.source.splitlines() if _IPYTHON_LINE.search(line))
    if not special and not _IPYTHON_CELL.match(cell.source):
        return cell.source
    if special > MAX_IPYTHON_LINES:
        raise Skip(
            f"it has {special} lines of IPython syntax (%magics, !commands); at most "
            f"{MAX_IPYTHON_LINES} per cell are converted"
        )
    work = lines * max(special, 1)
    if work > min(MAX_IPYTHON_WORK, budget[0]):
        raise Skip(
            f"its {lines} lines with {special} of IPython syntax (%magics, !commands) are more "
            "than the grader converts; keep such lines in short cells"
        )
    budget[0] -= work
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return str(TransformerManager().transform_cell(cell.source))
    except Exception as exc:  # noqa: BLE001 - whatever the student's cell makes IPython raise
        raise Skip(f"IPython could not convert it ({_one_line(exc)})") from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _parse(source: str) -> ast.Module:
    """Parse one cell within the depth limit; Skip with the reason when it cannot be used."""
    try:
        with _AST_LOCK:
            tree = ast.parse(source)
    except SyntaxError as exc:
        raise Skip(f"{type(exc).__name__}: {exc.msg}", exc.lineno) from None
    except Exception as exc:  # noqa: BLE001 - ValueError (NUL), RecursionError, MemoryError
        raise Skip(f"it could not be parsed ({_one_line(exc)})") from None
    depth = _depth(tree)
    if depth > MAX_DEPTH:
        raise Skip(f"its code is nested {depth} levels deep; at most {MAX_DEPTH} are read")
    return tree


def _depth(tree: ast.AST) -> int:
    """The deepest nesting of the tree, walked without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:  # deeper is refused anyway: stop walking there
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _graded_calls(node: ast.stmt, name: str) -> tuple[str, ...]:
    """The other graded functions a definition names (those it may call)."""
    used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in FUNCTION_MODULE}
    return tuple(sorted(used - {name}))


def _where(cell: Cell, node: ast.stmt) -> str:
    if cell.index is None:
        return f"line {node.lineno}"
    return f"cell {cell.index + 1}"


def extract_source(cells: tuple[Cell, ...], kind: SubmissionKind) -> Extracted:
    """Filter the cells' code to definitions; raise SubmissionError when a .py cannot be used
    (it does not parse, or it is over a limit) or the code is over the size limit."""
    size = sum(len(cell.source) for cell in cells)
    if size > MAX_CODE_CHARS:
        raise SubmissionError(
            f"the code is {size:,} characters long; at most {MAX_CODE_CHARS:,} are graded"
        )
    future: list[str] = []
    kept: list[str] = []
    locations: dict[str, str] = {}
    calls: dict[str, tuple[str, ...]] = {}
    notes: list[str] = []
    dropped = 0
    budget = [MAX_IPYTHON_WORK_TOTAL]
    for cell in cells:
        try:
            tree = _parse(_to_python(cell, kind, budget))
        except Skip as exc:
            if cell.index is None:
                raise SubmissionError(exc.for_file()) from None
            notes.append(f"cell {cell.index + 1} was skipped: {exc.for_cell()}")
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
    """Stage: extract definitions from the loaded submission (the lock is taken per parse)."""
    if ctx.error is not None or ctx.submission is None:
        return ctx
    try:
        extracted = extract_source(ctx.submission.cells, ctx.submission.kind)
    except SubmissionError as exc:
        return replace(ctx, error=str(exc))
    except (RecursionError, MemoryError) as exc:  # within the limits this is not expected
        return replace(ctx, error=f"the code could not be read ({_one_line(exc)})")
    ctx = replace(ctx, extracted=extracted, notes=ctx.notes + extracted.notes)
    if ctx.modules is None:  # a .py file grades the modules whose functions it defines
        graded = {FUNCTION_MODULE[f] for f in ctx.settings.plan.cases}
        defined = {FUNCTION_MODULE[f] for f in extracted.defined}
        modules = tuple(m for m in MODULE_IDS if m in defined & graded)
        if not modules:
            return replace(
                ctx,
                error="the file defines none of the graded functions (for example "
                "`def adam_step(theta, grad, m, v, t, *, lr=1e-3, ...)`); define them with the "
                "names of the exercises, or grade it with --module",
            )
        return replace(ctx, modules=modules)
    return ctx
