"""The skill-check cells the course build appends to each student notebook.

`skill_check_cells(module_id)` returns a markdown cell (the four questions) and a code cell where
the learner fills in `ANSWERS` and runs it. The code cell works with only the notebook: it embeds
the questions' option ids, a salted SHA-256 of each correct option (so the key is not readable in
the cell) and the per-option explanations, compressed. Running it appends one answer record per
answered question to `alr-answers/<student>.jsonl` beside the notebook (the answer-file format of
`quizzes.store`, written with a lock and fsync) and prints the score and the explanation of each
chosen option. The cells are a pure function of the quiz YAML: the build is byte-for-byte stable.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib

import nbformat

from quizzes.bank import load_skill_check
from quizzes.model import Question

_CHECKER = """
# --- the checker below records your answers next to this notebook and scores them ---
def _alr_skill_check(answers, student, blob, saved):
    import base64, datetime, getpass, hashlib, json, os, re, uuid, zlib
    data = json.loads(zlib.decompress(base64.b64decode(blob)))
    if not student.strip():
        try:
            student = getpass.getuser()
        except Exception:
            student = "student"
    student = re.sub(r"[^A-Za-z0-9._-]", "_", student.strip())
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    records, score, answered = [], 0, 0
    for key, q in data["questions"].items():
        choice = str(answers.get(key) or "").strip().lower()
        if not choice:
            print(f"{key}: not answered yet")
            continue
        if choice not in q["options"]:
            print(f"{key}: {choice!r} is not one of {', '.join(q['options'])}: not recorded")
            continue
        digest = hashlib.sha256((data["salt"] + q["id"] + "|" + choice).encode())
        ok = digest.hexdigest() == q["key"]
        score, answered = score + ok, answered + 1
        print(f"{key}: {'correct' if ok else 'not quite'}: {q['options'][choice]}")
        if (student, q["id"], choice) in saved:  # unchanged since this kernel saved it
            continue
        saved.add((student, q["id"], choice))
        records.append({"schema": "alr-answer/1", "event_id": uuid.uuid4().hex, "student": student,
                        "module": data["module"], "question": q["id"], "response": choice,
                        "answered_at": now, "source": "notebook"})
    if records:
        os.makedirs("alr-answers", exist_ok=True)
        path = os.path.join("alr-answers", student + ".jsonl")
        with open(path, "a", encoding="utf-8") as f:
            try:
                import fcntl
                fcntl.flock(f, fcntl.LOCK_EX)
            except ImportError:
                pass
            f.write("".join(json.dumps(r, sort_keys=True) + "\\n" for r in records))
            f.flush()
            os.fsync(f.fileno())
        print(f"saved {len(records)} answer(s) to {path}; send them with `alr quiz sync`")
    if answered:
        print(f"score: {score}/{answered} answered ({len(data['questions'])} questions)")


_alr_skill_check(ANSWERS, STUDENT, _ALR_BLOB, globals().setdefault("_ALR_SAVED", set()))
"""


def _salt(module_id: str) -> str:
    return hashlib.sha256(f"alr-skill-check:{module_id}".encode()).hexdigest()[:16]


def _blob(module_id: str, questions: tuple[Question, ...]) -> str:
    salt = _salt(module_id)
    payload = {
        "module": module_id,
        "salt": salt,
        "questions": {
            f"q{i}": {
                "id": q.id,
                "key": hashlib.sha256(f"{salt}{q.id}|{q.correct_ids[0]}".encode()).hexdigest(),
                "options": {o.id: o.explanation for o in q.options},
            }
            for i, q in enumerate(questions, 1)
        },
    }
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return base64.b64encode(zlib.compress(raw, 9)).decode()


def _markdown(module_id: str, title: str, questions: tuple[Question, ...]) -> str:
    lines = [
        f"## Skill check {module_id}: {title}",
        "",
        "Answer 4 quick questions to lock in the lesson and feed your adaptive practice queue. "
        "Put the letter of your choice for each question in `ANSWERS` in the next cell and run "
        "it: you see your score and why each choice is right or wrong. Answers save locally "
        "first (in `alr-answers/` beside this notebook), then sync with `alr quiz sync`.",
    ]
    for i, q in enumerate(questions, 1):
        lines += ["", f"**Q{i}.** {q.stem}", ""]
        lines += [f"- **{o.id}.** {o.text}" for o in q.options]
    return "\n".join(lines)


def _code(module_id: str, questions: tuple[Question, ...]) -> str:
    head = [f"# Skill check {module_id}: the letter of your choice for each question, then run."]
    head.append("ANSWERS = {")
    head += [
        f'    "q{i}": "",  # {q.slot.value if q.slot else q.id}' for i, q in enumerate(questions, 1)
    ]
    head.append("}")
    head.append('STUDENT = ""  # your id as your course knows you (empty: your login name)')
    head.append(f'_ALR_BLOB = "{_blob(module_id, questions)}"')
    return "\n".join(head) + "\n" + _CHECKER.rstrip("\n")


def skill_check_cells(module_id: str) -> list[nbformat.NotebookNode]:
    """The markdown and code cells of module `module_id`'s skill check (deterministic)."""
    quiz = load_skill_check(module_id)
    md = nbformat.v4.new_markdown_cell(_markdown(module_id, quiz.title, quiz.skill_check))
    code = nbformat.v4.new_code_cell(_code(module_id, quiz.skill_check))
    for cell, name in ((md, "intro"), (code, "answers")):
        cell.id = f"alr-skill-check-{module_id.replace('.', '-')}-{name}"
        cell.metadata["alr"] = {"skill_check": module_id}
    return [md, code]
