"""Load and validate the quiz YAML files (quizzes/data/<module>.yaml).

Files are read with the course's typed YAML reader (`alr.yamlio`): YAML 1.2 numbers such as
`1e-3`, duplicate keys and unknown keys rejected, and every problem reported as
`file: key.path: expected ..., got ...`. Layout (ids are local and become
"<module>.check.<slot>" and "<module>.bank.<id>"):

    module: "3.1"
    title: Geometry of RMSProp exponential averaging
    skill_check:            # exactly four single-choice questions, slots in the order
      - slot: module        #   module, section, term, practice
        stem: ...
        concepts: [rmsprop]
        options:
          - {id: a, text: ..., correct: true, explanation: ...}
          - {id: b, text: ..., correct: false, explanation: ..., misconception: eps_inside_sqrt}
    bank:                   # at least eight further questions
      - id: ema-weights
        kind: single_choice | multiple_answer | numeric | generated_numeric
        stem: ...           # markdown; generated stems use {param} placeholders
        concepts: [ema]
        points: 1           # optional, default 1
        options: [...]      # choice kinds; every wrong option names the misconception it
                            #   reveals (an id of quizzes.misconceptions, or `none`)
        partial_credit: net-correct  # multiple_answer: off, net-correct, coverage, each-answer
        answer: 0.1         # numeric only
        tolerance: {rel: 1e-3, abs: 0}  # numeric kinds, optional
        generator: m_hat    # generated_numeric only, a name from quizzes.generators
        parameters: {beta1: [0.8, 0.9], steps: [2, 3]}  # stems may also use the fields the
                            #   generator draws ({grads})
        explanation: ...    # numeric kinds: the worked solution shown after answering
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

from alr.contract import MODULE_IDS
from alr.errors import CourseFileError
from alr.yamlio import Reader, display_path, parse_yaml
from quizzes.concepts import PREREQUISITES
from quizzes.generators import GENERATORS
from quizzes.misconceptions import MISCONCEPTIONS, NONE
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
_SLOTS = tuple(Slot)
_KINDS = [k.value for k in QuestionKind]
_RULES = [p.value for p in PartialCredit]
_COMMON = {"stem": True, "concepts": True, "points": False}
_KEYS: dict[QuestionKind, dict[str, bool]] = {
    QuestionKind.SINGLE_CHOICE: _COMMON | {"options": True},
    QuestionKind.MULTIPLE_ANSWER: _COMMON | {"options": True, "partial_credit": True},
    QuestionKind.NUMERIC: _COMMON | {"answer": True, "tolerance": False, "explanation": True},
    QuestionKind.GENERATED_NUMERIC: _COMMON
    | {"generator": True, "parameters": True, "tolerance": False, "explanation": True},
}
_OPTION_KEYS = {
    "id": True,
    "text": True,
    "correct": False,
    "explanation": True,
    "misconception": False,
}


def _misconception(r: Reader, item: dict[str, Any], where: str, correct: bool) -> str | None:
    """A wrong option must name the misconception it reveals (or `none`); a right one must not."""
    value = item.get("misconception")
    if correct:
        if value is not None:
            r.error(
                f"{where}.misconception", "a correct option reveals no misconception; remove it"
            )
        return None
    if value == NONE:
        return None
    if value not in MISCONCEPTIONS:
        r.error(
            f"{where}.misconception",
            f"expected the misconception this wrong option reveals (an id of "
            f"quizzes.misconceptions) or {NONE!r}, got {value!r}",
        )
        return None
    return str(value)


def _text(r: Reader, node: dict[str, Any], key: str, where: str) -> str:
    return r.string(node.get(key), f"{where}.{key}" if where else key).strip()


def _options(r: Reader, node: dict[str, Any], where: str) -> tuple[Option, ...]:
    options: list[Option] = []
    seen: set[str] = set()
    for w, item in r.items(node.get("options"), f"{where}.options", min_len=2):
        if r.mapping(item, w, _OPTION_KEYS) is None:
            continue
        oid = item.get("id")
        if not isinstance(oid, str) or oid not in string.ascii_lowercase or oid in seen:
            r.error(f"{w}.id", f"expected a new lower-case letter, got {oid!r}")
        seen.add(str(oid))
        correct = r.boolean(item.get("correct", False), f"{w}.correct")
        text, why = _text(r, item, "text", w), _text(r, item, "explanation", w)
        options.append(Option(str(oid), text, correct, why, _misconception(r, item, w, correct)))
    return tuple(options)


def _tolerance(r: Reader, node: dict[str, Any], where: str) -> Tolerance:
    w = f"{where}.tolerance"
    raw = r.mapping(node.get("tolerance", {}), w, {"rel": False, "abs": False})
    if raw is None:
        return Tolerance()
    rel = r.number(raw.get("rel", 1e-3), f"{w}.rel")
    abs_ = r.number(raw.get("abs", 0.0), f"{w}.abs")
    if rel < 0 or abs_ < 0 or rel == abs_ == 0:
        r.error(w, f"expected rel >= 0, abs >= 0 and not both 0, got rel {rel:g}, abs {abs_:g}")
    return Tolerance(rel, abs_)


def _parameters(
    r: Reader, node: dict[str, Any], where: str
) -> tuple[str, tuple[tuple[str, tuple[Any, ...]], ...]]:
    name = node.get("generator")
    if name not in GENERATORS:
        r.error(f"{where}.generator", f"expected one of {', '.join(GENERATORS)}, got {name!r}")
        return "", ()
    needed = GENERATORS[name].params
    raw = r.mapping(node.get("parameters"), f"{where}.parameters", dict.fromkeys(needed, True))
    if raw is None or set(raw) != set(needed):
        r.error(f"{where}.parameters", f"generator {name} needs exactly {', '.join(needed)}")
        return name, ()
    params = []
    for p in needed:
        values = list(r.items(raw[p], f"{where}.parameters.{p}"))
        if not values:
            return name, ()
        params.append((p, tuple(tuple(v) if isinstance(v, list) else v for _, v in values)))
    return name, tuple(params)


def _concepts(r: Reader, node: dict[str, Any], where: str) -> tuple[str, ...]:
    concepts = []
    for w, c in r.items(node.get("concepts"), f"{where}.concepts"):
        if c in PREREQUISITES:
            concepts.append(str(c))
        else:
            r.error(w, f"unknown concept {c!r}; known: {', '.join(sorted(PREREQUISITES))}")
    return tuple(concepts)


def _kind_and_id(
    r: Reader, node: dict[str, Any], where: str, module: str, slot: Slot | None
) -> tuple[QuestionKind, str] | None:
    if slot is not None:
        return QuestionKind.SINGLE_CHOICE, f"{module}.check.{slot.value}"
    if node.get("kind") not in _KINDS:
        r.error(f"{where}.kind", f"expected one of {', '.join(_KINDS)}, got {node.get('kind')!r}")
        return None
    local = node.get("id")
    if not isinstance(local, str) or not local or not all(c.isalnum() or c == "-" for c in local):
        r.error(f"{where}.id", f"expected an id of letters, digits and '-', got {local!r}")
    return QuestionKind(node["kind"]), f"{module}.bank.{local}"


def _question(r: Reader, node: Any, where: str, module: str, slot: Slot | None) -> Question | None:
    if not isinstance(node, dict):
        r.error(where, f"expected a mapping, got {node!r:.60}")
        return None
    n_errors = len(r.errors)
    found = _kind_and_id(r, node, where, module, slot)
    if found is None:
        return None
    kind, qid = found
    extra = {"slot": True} if slot is not None else {"id": True, "kind": True}
    r.mapping(node, where, _KEYS[kind] | extra)
    fields: dict[str, Any] = {
        "id": qid,
        "module": module,
        "slot": slot,
        "kind": kind,
        "stem": _text(r, node, "stem", where),
        "concepts": _concepts(r, node, where),
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
        fields["partial_credit"] = r.choice(
            node.get("partial_credit"), f"{where}.partial_credit", PartialCredit, _RULES
        )
    if kind in (QuestionKind.NUMERIC, QuestionKind.GENERATED_NUMERIC):
        fields["tolerance"] = _tolerance(r, node, where)
        fields["explanation"] = _text(r, node, "explanation", where)
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


def _check_instances(r: Reader, question: Question, where: str) -> None:
    """Every seed must give a finite answer and a stem whose placeholders are all parameters or
    fields the generator draws."""
    names = {n for n, _ in question.parameters} | set(GENERATORS[question.generator].shown)
    fields = {f for _, f, _, _ in string.Formatter().parse(question.stem) if f}
    if fields - names:
        r.error(
            f"{where}.stem",
            f"placeholders {sorted(fields - names)} are neither parameters nor fields of "
            f"generator {question.generator} ({', '.join(sorted(names))})",
        )
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


def _skill_check(r: Reader, data: dict[str, Any], module: str) -> list[Question | None]:
    raw = data.get("skill_check")
    if not isinstance(raw, list) or len(raw) != 4:
        r.error(
            "skill_check",
            f"expected a list of exactly 4 questions (slots "
            f"{', '.join(s.value for s in _SLOTS)}), got {raw!r:.80}",
        )
        return []
    check = []
    for i, (node, slot) in enumerate(zip(raw, _SLOTS, strict=True)):
        if isinstance(node, dict) and node.get("slot") != slot.value:
            r.error(f"skill_check[{i}].slot", f"expected {slot.value!r}, got {node.get('slot')!r}")
        check.append(_question(r, node, f"skill_check[{i}]", module, slot))
    return check


def _bank(r: Reader, data: dict[str, Any], module: str) -> list[Question | None]:
    raw = data.get("bank")
    if not isinstance(raw, list) or len(raw) < MIN_BANK:
        got = len(raw) if isinstance(raw, list) else repr(raw)[:60]
        r.error("bank", f"expected a list of at least {MIN_BANK} questions, got {got}")
        return []
    bank = [_question(r, node, f"bank[{i}]", module, None) for i, node in enumerate(raw)]
    kinds = {q.kind for q in bank if q}
    if set(QuestionKind) - kinds:
        missing = sorted(k.value for k in set(QuestionKind) - kinds)
        r.error("bank", f"needs at least one question of every kind; missing {missing}")
    ids = [q.id for q in bank if q]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        r.error("bank", f"duplicate question id {dup!r}; ids must be unique and stable")
    return bank


def _header(r: Reader, data: Any, expected_module: str | None) -> tuple[str, str] | None:
    keys = {"module": True, "title": True, "skill_check": True, "bank": True}
    if r.mapping(data, "", keys) is None:
        return None
    module = data.get("module")
    if module not in MODULE_IDS or (expected_module and module != expected_module):
        r.error(
            "module",
            f"expected {expected_module or 'a module id'!r} (the file name), got {module!r}",
        )
    return str(module), _text(r, data, "title", "")


def read_quiz_file(
    path: Path, expected_module: str | None = None
) -> tuple[ModuleQuiz | None, list[CourseFileError]]:
    """Parse one quiz file; return the quiz (None if invalid) and every problem found."""
    try:
        data = parse_yaml(path)
    except CourseFileError as exc:
        return None, [exc]
    r = Reader(display_path(path))
    header = _header(r, data, expected_module)
    if header is None:
        return None, r.errors
    module, title = header
    check, bank = _skill_check(r, data, module), _bank(r, data, module)
    if r.errors:
        return None, r.errors
    quiz = ModuleQuiz(module, title, tuple(q for q in check if q), tuple(q for q in bank if q))
    return quiz, []


def _load(data_dir: Path | None) -> tuple[QuizCatalog, list[CourseFileError]]:
    data_dir = data_dir or DATA_DIR
    quizzes, errors = [], []
    for module in MODULE_IDS:
        path = data_dir / f"{module}.yaml"
        if not path.exists():
            errors.append(
                CourseFileError(
                    display_path(path),
                    "",
                    "missing: every module needs a quiz file; create it with the layout of "
                    "its siblings",
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
    r = Reader(display_path(path))
    data = parse_yaml(path)
    check = _skill_check(r, data, module_id)
    return ModuleQuiz(module_id, _text(r, data, "title", ""), tuple(q for q in check if q), ())
