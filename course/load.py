"""Load and validate the course modules (course/modules/<id>.yaml) into typed objects.

    load_course(modules_dir=None) -> Course               raises CourseFileError listing problems
    validate_course(modules_dir=None) -> [CourseFileError]  every problem, in file order

A module file holds: id, title, part, object, skill_check, reading (the section's parts as
markdown), exercises (each graded function: points, task text, a visible example, grading cases)
and experiments (examples run with the student's functions). Every key path is checked: unknown
keys, types, functions and hyperparameters against the reference signatures, misconception ids,
markdown and math.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alr.contract import (
    FUNCTIONS,
    MODULE_FUNCTIONS,
    MODULE_IDS,
    Tolerance,
)
from alr.errors import CourseFileError
from alr.misconceptions import Misconception
from alr.yamlio import Reader, display_path, parse_yaml
from course.cases.expand import hparam_names, required_hparams
from course.experiments import read_experiments
from course.settings import COURSE_FILE, MODULES_DIR, read_settings
from course.spec import (
    CaseSpec,
    Course,
    ExerciseSpec,
    GradKind,
    Init,
    ModuleSpec,
    Question,
    Reading,
    Task,
)

_TOP = {
    "id": True,
    "title": True,
    "part": True,
    "object": True,
    "skill_check": True,
    "reading": True,
    "exercises": True,
    "experiments": True,
}
_READING = {
    "definition": True,
    "non_examples": True,
    "formulas": True,
    "proof_sketch": True,
    "implementation": True,
    "diagnostic_questions": True,
    "ai_connection": True,
}
_EXERCISE = {"function": True, "points": True, "text": True, "example": True, "cases": True}
_CASE = {
    "name": True,
    "shapes": True,
    "dtypes": False,
    "steps": False,
    "hparams": False,
    "init": False,
    "grads": False,
    "names": False,
    "tolerance": False,
    "probes": False,
    "edge": False,
}
_DTYPES = ("float32", "float64")
_FACTORED = {"adafactor_accumulators", "factored_second_moment", "adafactor_step"}


def validate_course(modules_dir: Path | None = None) -> list[CourseFileError]:
    """Every problem of every module file (empty when the course is valid)."""
    return _load(modules_dir)[1]


def load_course(modules_dir: Path | None = None) -> Course:
    """The validated course; raises the first CourseFileError, its message listing them all."""
    course, errors = _load(modules_dir)
    if errors:
        first = errors[0]
        more = "\n".join(str(e) for e in errors[1:])
        raise CourseFileError(
            first.path,
            first.where,
            first.problem + (f"\n{len(errors) - 1} more problem(s):\n{more}" if more else ""),
        )
    return course


def load_module(path: Path) -> tuple[ModuleSpec | None, list[CourseFileError]]:
    """One module file: the module (None when unusable) and its problems."""
    shown = display_path(path)
    try:
        data = parse_yaml(path)
    except CourseFileError as exc:
        return None, [exc]
    r = Reader(shown)
    module = _module(r, data, path.stem)
    return module, r.errors


def _load(modules_dir: Path | None) -> tuple[Course, list[CourseFileError]]:
    directory = MODULES_DIR if modules_dir is None else Path(modules_dir)
    errors: list[CourseFileError] = []
    modules: dict[str, ModuleSpec] = {}
    if not directory.is_dir():
        raise CourseFileError(display_path(directory), "", "not a directory of module files")
    settings = read_settings(directory / COURSE_FILE, errors)
    for path in sorted(directory.glob("*.yaml")):
        if path.name == COURSE_FILE:
            continue
        module, problems = load_module(path)
        errors += problems
        if module is not None:
            modules[module.id] = module
    for module_id in MODULE_IDS:
        if module_id not in modules and not any(Path(e.path).stem == module_id for e in errors):
            errors.append(
                CourseFileError(
                    display_path(directory / f"{module_id}.yaml"), "", "missing module file"
                )
            )
    ordered = tuple(modules[m] for m in MODULE_IDS if m in modules)
    return Course(ordered, **settings), errors


def _module(r: Reader, data: Any, stem: str) -> ModuleSpec | None:
    top = r.mapping(data, "", _TOP)
    if top is None:
        return None
    module_id = str(top.get("id", ""))
    if module_id not in MODULE_IDS:
        r.error("id", f"expected one of {', '.join(MODULE_IDS)}, got {module_id!r}")
        return None
    if stem != module_id:
        r.error("id", f"module {module_id!r} must be in a file named {module_id}.yaml")
    exercises, tasks = _exercises(r, top.get("exercises"), module_id)
    return ModuleSpec(
        id=module_id,
        title=r.string(top.get("title"), "title"),
        part=r.string(top.get("part"), "part"),
        object=r.string(top.get("object"), "object"),
        reading=_reading(r, top.get("reading")),
        exercises=exercises,
        tasks=tasks,
        experiments=read_experiments(r, top.get("experiments"), module_id),
        skill_check=_skill_check(r, top.get("skill_check")),
        path=r.path,
    )


def _skill_check(r: Reader, value: Any) -> str:
    """The module whose skill check (quizzes package) ends the notebook."""
    if value not in MODULE_IDS:
        r.error("skill_check", f"expected a module id ({', '.join(MODULE_IDS)}), got {value!r}")
    return str(value)


def _reading(r: Reader, data: Any) -> Reading:
    m = r.mapping(data, "reading", _READING) or {}
    md = {k: r.markdown(m.get(k), f"reading.{k}") for k in _READING if k != "diagnostic_questions"}
    questions = []
    for w, q in r.items(m.get("diagnostic_questions"), "reading.diagnostic_questions", 3):
        qa = r.mapping(q, w, {"question": True, "answer": True}) or {}
        questions.append(
            Question(
                r.markdown(qa.get("question"), f"{w}.question"),
                r.markdown(qa.get("answer"), f"{w}.answer"),
            )
        )
    return Reading(diagnostic_questions=tuple(questions), **md)


def _exercises(
    r: Reader, data: Any, module_id: str
) -> tuple[tuple[ExerciseSpec, ...], tuple[Task, ...]]:
    exercises: list[ExerciseSpec] = []
    tasks: list[Task] = []
    for where, item in r.items(data, "exercises"):
        m = r.mapping(item, where, _EXERCISE)
        if m is None:
            continue
        fn = m.get("function")
        if fn not in MODULE_FUNCTIONS[module_id]:
            r.error(
                f"{where}.function",
                f"expected a graded function of module {module_id} "
                f"({', '.join(MODULE_FUNCTIONS[module_id])}), got {fn!r}",
            )
            continue
        cases = tuple(_case(r, c, w, fn) for w, c in r.items(m.get("cases"), f"{where}.cases"))
        names = [c.name for c in cases]
        for dup in sorted({n for n in names if names.count(n) > 1}):
            r.error(f"{where}.cases", f"case name {dup!r} is used twice")
        example = _case(
            r, {"name": "example", **_as_dict(m.get("example"))}, f"{where}.example", fn
        )
        exercises.append(
            ExerciseSpec(fn, r.number(m.get("points"), f"{where}.points", positive=True), cases)
        )
        tasks.append(Task(fn, r.markdown(m.get("text"), f"{where}.text"), example))
    got = tuple(e.function for e in exercises)
    if got and got != MODULE_FUNCTIONS[module_id]:
        r.error(
            "exercises",
            f"expected the functions {', '.join(MODULE_FUNCTIONS[module_id])} in this order, "
            f"got {', '.join(got)}",
        )
    return tuple(exercises), tuple(tasks)


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"shapes": value}


def _case(r: Reader, data: Any, where: str, fn: str) -> CaseSpec:
    m = r.mapping(data, where, _CASE) or {}
    sig = FUNCTIONS[fn]
    shapes = tuple(_shape(r, s, w, fn) for w, s in r.items(m.get("shapes"), f"{where}.shapes"))
    dtypes = r.strings(m.get("dtypes", list(_DTYPES)), f"{where}.dtypes", 1)
    for i, d in enumerate(dtypes):
        if d not in _DTYPES:
            r.error(f"{where}.dtypes[{i}]", f"expected float32 or float64, got {d!r}")
    names = r.strings(m.get("names", []), f"{where}.names")
    if sig.named and len(names) != len(shapes):
        r.error(f"{where}.names", f"expected one name per shape ({len(shapes)}), got {len(names)}")
    if not sig.named and names:
        r.error(f"{where}.names", f"{fn} takes plain tensors; names are for dict functions")
    if len(set(names)) != len(names):
        r.error(f"{where}.names", "names must be unique")
    probes = r.strings(m.get("probes", []), f"{where}.probes")
    for i, p in enumerate(probes):
        if p not in set(Misconception):
            r.error(f"{where}.probes[{i}]", f"unknown misconception id {p!r}")
    return CaseSpec(
        name=r.string(m.get("name"), f"{where}.name", "case"),
        shapes=shapes,
        dtypes=dtypes,
        steps=r.integer(m.get("steps", 1), f"{where}.steps"),
        hparams=_hparams(r, m.get("hparams", {}), f"{where}.hparams", fn),
        init=r.choice(m.get("init", "random"), f"{where}.init", Init, [i.value for i in Init]),
        grads=r.choice(
            m.get("grads", "random"), f"{where}.grads", GradKind, [g.value for g in GradKind]
        ),
        names=names,
        tolerance=_tolerance(r, m.get("tolerance", {}), f"{where}.tolerance"),
        probes=probes,
        edge=_flag(r, m.get("edge"), f"{where}.edge"),
    )


def _flag(r: Reader, value: Any, where: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    r.error(where, f"expected true or false, got {value!r}")
    return None


def _shape(r: Reader, value: Any, where: str, fn: str) -> tuple[int, ...]:
    dims = tuple(r.integer(v, w, minimum=1) for w, v in r.items(value, where))
    if fn in _FACTORED and len(dims) < 2:
        r.error(
            where, f"{fn} factors the last two dims: expected at least 2 dims, got {list(dims)}"
        )
    return dims


def _hparams(r: Reader, data: Any, where: str, fn: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        r.error(where, f"expected a mapping of hyperparameters, got {type(data).__name__}")
        return {}
    allowed = hparam_names(fn)
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in allowed:
            r.error(
                f"{where}.{key}",
                f"not a hyperparameter of {fn}; expected one of {', '.join(allowed) or '(none)'}",
            )
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[key] = tuple(value)
        elif value is None or isinstance(value, bool | int | float | str):
            out[key] = value
        else:
            r.error(
                f"{where}.{key}",
                f"expected a number, bool, string or list of strings, got {value!r}",
            )
    for key in required_hparams(fn):
        if key not in data:
            r.error(where, f"{fn} needs {key!r} (it has no default)")
    return out


def _tolerance(r: Reader, data: Any, where: str) -> dict[str, Tolerance]:
    if not isinstance(data, dict):
        r.error(where, "expected a mapping dtype -> {rtol, atol}")
        return {}
    out: dict[str, Tolerance] = {}
    for dtype, tol in data.items():
        w = f"{where}.{dtype}"
        if dtype not in _DTYPES:
            r.error(w, "expected float32 or float64")
        m = r.mapping(tol, w, {"rtol": True, "atol": True}) or {}
        out[str(dtype)] = Tolerance(
            r.number(m.get("rtol", 0.0), f"{w}.rtol"), r.number(m.get("atol", 0.0), f"{w}.atol")
        )
    return out
