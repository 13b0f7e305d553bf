"""Load and validate the quiz YAML files (quizzes/data/<module>.yaml).

File layout (unknown keys are rejected; ids are local and become "<module>.check.<slot>" and
"<module>.bank.<id>"):

    module: "3.1"
    title: Geometry of RMSProp exponential averaging
    skill_check:            # exactly four single-choice questions, slots in the order
      - slot: module        #   module, section, term, practice
        stem: ...
        concepts: [rmsprop]
        options:
          - {id: a, text: ..., correct: true, explanation: ...}
    bank:                   # at least eight further questions
      - id: ema-weights
        kind: single_choice | multiple_answer | numeric | generated_numeric
        stem: ...           # markdown; generated stems use {param} placeholders
        concepts: [ema]
        points: 1           # optional, default 1
        options: [...]      # choice kinds
        partial_credit: net-correct  # multiple_answer: off, net-correct, coverage, each-answer
        answer: 0.1         # numeric only
        tolerance: {rel: 1e-3, abs: 0}  # numeric kinds, optional
        generator: m_hat    # generated_numeric only, a name from quizzes.generators
        parameters: {beta1: [0.8, 0.9], grads: [[1, -2, 0.5]]}
        explanation: ...    # numeric kinds: the worked solution shown after answering
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import yaml

from alr.contract import MODULE_IDS
from alr.errors import CourseFileError
from quizzes.concepts import PREREQUISITES
from quizzes.generators import GENERATORS
from quizzes.model import (
    ModuleQuiz,
    Option,
    PartialCredit,
    Question,
    QuestionKind,
    QuizCatalog,
    Slot,
    Tolerance,
)

DATA_DIR = Path(__file__).parent / "data"
MIN_BANK = 8
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster
_SLOTS = tuple(Slot)
_COMMON = {"stem", "concepts", "points"}
_KEYS = {
    QuestionKind.SINGLE_CHOICE: _COMMON | {"options"},
    QuestionKind.MULTIPLE_ANSWER: _COMMON | {"options", "partial_credit"},
    QuestionKind.NUMERIC: _COMMON | {"answer", "tolerance", "explanation"},
    QuestionKind.GENERATED_NUMERIC: _COMMON
    | {"generator", "parameters", "tolerance", "explanation"},
}


class _Reader:
    """Collects every problem of one file instead of stopping at the first."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.errors: list[CourseFileError] = []

    def error(self, where: str, problem: str) -> None:
        self.errors.append(CourseFileError(self.path, where, problem))

    def keys(self, node: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in sorted(set(node) - allowed):
            self.error(
                f"{where}.{key}" if where else key, f"unknown key; allowed: {sorted(allowed)}"
            )

    def text(self, node: dict[str, Any], key: str, where: str) -> str:
        value = node.get(key)
        if not isinstance(value, str) or not value.strip():
            self.error(f"{where}.{key}", f"expected a non-empty string, got {value!r}")
            return ""
        return value.strip()

    def number(self, value: Any, where: str, *, positive: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(where, f"expected a number, got {value!r}")
            return 0.0
        if positive and value <= 0:
            self.error(where, f"expected a number > 0, got {value!r}")
        return float(value)


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(DATA_DIR.parent.parent.resolve()).as_posix()
    except ValueError:
        return str(path)


def _options(r: _Reader, node: dict[str, Any], where: str) -> tuple[Option, ...]:
    raw = node.get("options")
    if not isinstance(raw, list) or len(raw) < 2:
        r.error(f"{where}.options", f"expected a list of at least 2 options, got {raw!r}")
        return ()
    options, seen = [], set()
    for i, item in enumerate(raw):
        w = f"{where}.options[{i}]"
        if not isinstance(item, dict):
            r.error(w, f"expected a mapping with id, text, correct, explanation; got {item!r}")
            continue
        r.keys(item, {"id", "text", "correct", "explanation"}, w)
        oid = str(item.get("id", ""))
        if not oid or not all(c in string.ascii_lowercase for c in oid) or oid in seen:
            r.error(f"{w}.id", f"expected a new lower-case letter id, got {item.get('id')!r}")
        seen.add(oid)
        correct = item.get("correct", False)
        if not isinstance(correct, bool):
            r.error(f"{w}.correct", f"expected true or false, got {correct!r}")
        options.append(
            Option(oid, r.text(item, "text", w), correct is True, r.text(item, "explanation", w))
        )
    return tuple(options)


def _tolerance(r: _Reader, node: dict[str, Any], where: str) -> Tolerance:
    raw = node.get("tolerance", {})
    if not isinstance(raw, dict):
        r.error(f"{where}.tolerance", f"expected a mapping {{rel, abs}}, got {raw!r}")
        return Tolerance()
    r.keys(raw, {"rel", "abs"}, f"{where}.tolerance")
    rel = r.number(raw.get("rel", 1e-3), f"{where}.tolerance.rel")
    abs_ = r.number(raw.get("abs", 0.0), f"{where}.tolerance.abs")
    if rel < 0 or abs_ < 0 or rel == abs_ == 0:
        r.error(f"{where}.tolerance", "expected rel >= 0, abs >= 0 and not both 0")
    return Tolerance(rel, abs_)


def _parameters(
    r: _Reader, node: dict[str, Any], where: str
) -> tuple[str, tuple[tuple[str, tuple[Any, ...]], ...]]:
    name = node.get("generator")
    if name not in GENERATORS:
        r.error(f"{where}.generator", f"expected one of {sorted(GENERATORS)}, got {name!r}")
        return "", ()
    raw = node.get("parameters")
    needed = GENERATORS[name].params
    if not isinstance(raw, dict) or set(raw) != set(needed):
        got = sorted(raw) if isinstance(raw, dict) else raw
        r.error(
            f"{where}.parameters", f"generator {name} needs exactly {list(needed)}, got {got!r}"
        )
        return name, ()
    params = []
    for p in needed:
        values = raw[p]
        if not isinstance(values, list) or not values:
            r.error(
                f"{where}.parameters.{p}", f"expected a non-empty list of values, got {values!r}"
            )
            return name, ()
        params.append((p, tuple(tuple(v) if isinstance(v, list) else v for v in values)))
    return name, tuple(params)


def _question(r: _Reader, node: Any, where: str, module: str, slot: Slot | None) -> Question | None:
    if not isinstance(node, dict):
        r.error(where, f"expected a mapping, got {node!r}")
        return None
    n_errors = len(r.errors)
    if slot is not None:
        kind, qid = QuestionKind.SINGLE_CHOICE, f"{module}.check.{slot.value}"
        r.keys(node, _KEYS[kind] | {"slot"}, where)
    else:
        try:
            kind = QuestionKind(str(node.get("kind")))
        except ValueError:
            r.error(
                f"{where}.kind",
                f"expected one of {[k.value for k in QuestionKind]}, got {node.get('kind')!r}",
            )
            return None
        local = str(node.get("id", ""))
        if not local or not all(c.isalnum() or c == "-" for c in local):
            r.error(
                f"{where}.id", f"expected an id of letters, digits and '-', got {node.get('id')!r}"
            )
        qid = f"{module}.bank.{local}"
        r.keys(node, _KEYS[kind] | {"id", "kind"}, where)
    concepts = node.get("concepts")
    if not isinstance(concepts, list) or not concepts:
        r.error(f"{where}.concepts", f"expected a non-empty list of concepts, got {concepts!r}")
        concepts = []
    for i, c in enumerate(concepts):
        if c not in PREREQUISITES:
            r.error(
                f"{where}.concepts[{i}]", f"unknown concept {c!r}; known: {sorted(PREREQUISITES)}"
            )
    fields: dict[str, Any] = {
        "id": qid,
        "module": module,
        "slot": slot,
        "kind": kind,
        "stem": r.text(node, "stem", where),
        "concepts": tuple(str(c) for c in concepts),
        "points": r.number(node.get("points", 1), f"{where}.points", positive=True),
    }
    if kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_ANSWER):
        fields["options"] = opts = _options(r, node, where)
        n_correct = sum(o.correct for o in opts)
        if opts and kind is QuestionKind.SINGLE_CHOICE and n_correct != 1:
            r.error(
                f"{where}.options",
                f"a single-choice question needs exactly 1 correct option, found {n_correct}",
            )
        if opts and kind is QuestionKind.MULTIPLE_ANSWER and n_correct < 1:
            r.error(
                f"{where}.options", "a multiple-answer question needs at least 1 correct option"
            )
    if kind is QuestionKind.MULTIPLE_ANSWER:
        try:
            fields["partial_credit"] = PartialCredit(str(node.get("partial_credit")))
        except ValueError:
            r.error(
                f"{where}.partial_credit",
                f"expected one of {[p.value for p in PartialCredit]}, "
                f"got {node.get('partial_credit')!r}",
            )
    if kind in (QuestionKind.NUMERIC, QuestionKind.GENERATED_NUMERIC):
        fields["tolerance"] = _tolerance(r, node, where)
        fields["explanation"] = r.text(node, "explanation", where)
    if kind is QuestionKind.NUMERIC:
        fields["answer"] = r.number(node.get("answer"), f"{where}.answer")
    if kind is QuestionKind.GENERATED_NUMERIC:
        fields["generator"], fields["parameters"] = _parameters(r, node, where)
    if len(r.errors) > n_errors:
        return None
    question = Question(**fields)
    if kind is QuestionKind.GENERATED_NUMERIC:
        _check_instances(r, question, where)
    return question


def _check_instances(r: _Reader, question: Question, where: str) -> None:
    """Every seed must give a finite answer and a stem whose placeholders are all parameters."""
    names = {n for n, _ in question.parameters}
    fields = {f for _, f, _, _ in string.Formatter().parse(question.stem) if f}
    if fields - names:
        r.error(f"{where}.stem", f"placeholders {sorted(fields - names)} are not parameters")
        return
    for seed in range(16):
        try:
            answer = question.instantiate(seed).answer
        except (ArithmeticError, ValueError, TypeError, IndexError) as exc:
            r.error(f"{where}.parameters", f"seed {seed}: the generator failed: {exc}")
            return
        if answer != answer or answer in (float("inf"), float("-inf")):
            r.error(f"{where}.parameters", f"seed {seed}: the answer is not finite")
            return


def _module_quiz(r: _Reader, data: Any, expected_module: str | None) -> ModuleQuiz | None:
    if not isinstance(data, dict):
        r.error("", f"expected a mapping with module, title, skill_check, bank; got {data!r}")
        return None
    r.keys(data, {"module", "title", "skill_check", "bank"}, "")
    module = str(data.get("module", ""))
    if module not in MODULE_IDS or (expected_module and module != expected_module):
        r.error(
            "module",
            f"expected {expected_module or 'a module id'!r} (the file name), "
            f"got {data.get('module')!r}",
        )
    title = r.text(data, "title", "")
    check_raw = data.get("skill_check")
    if not isinstance(check_raw, list) or len(check_raw) != 4:
        r.error(
            "skill_check",
            f"expected a list of exactly 4 questions (slots "
            f"{[s.value for s in _SLOTS]}), got {check_raw!r:.80}",
        )
        check_raw = []
    check = []
    for i, (node, slot) in enumerate(zip(check_raw, _SLOTS, strict=False)):
        if isinstance(node, dict) and node.get("slot") != slot.value:
            r.error(f"skill_check[{i}].slot", f"expected {slot.value!r}, got {node.get('slot')!r}")
        check.append(_question(r, node, f"skill_check[{i}]", module, slot))
    bank_raw = data.get("bank")
    if not isinstance(bank_raw, list) or len(bank_raw) < MIN_BANK:
        r.error(
            "bank",
            f"expected a list of at least {MIN_BANK} questions, got "
            f"{len(bank_raw) if isinstance(bank_raw, list) else bank_raw!r}",
        )
        bank_raw = []
    bank = [_question(r, node, f"bank[{i}]", module, None) for i, node in enumerate(bank_raw)]
    kinds = {q.kind for q in bank if q}
    if bank_raw and set(QuestionKind) - kinds:
        missing = sorted(k.value for k in set(QuestionKind) - kinds)
        r.error("bank", f"needs at least one question of every kind; missing {missing}")
    ids = [q.id for q in bank if q]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        r.error("bank", f"duplicate question id {dup!r}; ids must be unique and stable")
    if r.errors:
        return None
    return ModuleQuiz(module, title, tuple(q for q in check if q), tuple(q for q in bank if q))


def read_quiz_file(
    path: Path, expected_module: str | None = None
) -> tuple[ModuleQuiz | None, list[CourseFileError]]:
    """Parse one quiz file; return the quiz (None if invalid) and every problem found."""
    r = _Reader(_display(path))
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except OSError as exc:
        r.error("", f"cannot read the file: {exc.strerror}")
        return None, r.errors
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        r.error(at, f"not valid YAML: {getattr(exc, 'problem', exc)}")
        return None, r.errors
    return _module_quiz(r, data, expected_module), r.errors


def _load(data_dir: Path | None) -> tuple[QuizCatalog, list[CourseFileError]]:
    data_dir = data_dir or DATA_DIR
    quizzes, errors = [], []
    for module in MODULE_IDS:
        path = data_dir / f"{module}.yaml"
        if not path.exists():
            errors.append(
                CourseFileError(
                    _display(path),
                    "",
                    f"missing: every module needs a quiz "
                    f"file; create it with the layout of {module} siblings",
                )
            )
            continue
        quiz, errs = read_quiz_file(path, module)
        errors.extend(errs)
        if quiz:
            quizzes.append(quiz)
    return QuizCatalog(tuple(quizzes)), errors


def validate_quizzes(data_dir: Path | None = None) -> list[CourseFileError]:
    """Every problem in the quiz files (empty when all ten modules' quizzes are valid)."""
    return _load(data_dir)[1]


def load_quizzes(data_dir: Path | None = None) -> QuizCatalog:
    """All ten modules' quizzes, validated; raises the first CourseFileError (counting the rest)."""
    catalog, errors = _load(data_dir)
    if errors:
        first = errors[0]
        more = (
            f" (and {len(errors) - 1} more problems; run `alr quiz validate`)"
            if len(errors) > 1
            else ""
        )
        raise CourseFileError(first.path, first.where, first.problem + more)
    return catalog


def load_skill_check(module_id: str, data_dir: Path | None = None) -> ModuleQuiz:
    """One module's quiz, requiring only its skill check to be valid (what a notebook needs).

    Raises CourseFileError on the first problem in the module, title or skill_check keys; the
    bank is returned empty when it has problems of its own (`validate_quizzes` reports them).
    """
    path = (data_dir or DATA_DIR) / f"{module_id}.yaml"
    quiz, errors = read_quiz_file(path, module_id)
    if quiz is not None:
        return quiz
    own = [e for e in errors if not e.where.startswith("bank")]
    if own:
        raise own[0]
    r = _Reader(_display(path))
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    check = tuple(
        _question(r, node, f"skill_check[{i}]", module_id, slot)
        for i, (node, slot) in enumerate(zip(data["skill_check"], _SLOTS, strict=True))
    )
    return ModuleQuiz(module_id, str(data["title"]).strip(), tuple(q for q in check if q), ())
