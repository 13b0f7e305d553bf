"""The skill-check cells the course build appends to each student notebook.

`skill_check_cells(module_id)` returns a markdown cell (the four questions, with the content each
is answered from: a formula, a code fragment, a log of numbers) and a code cell that works with
only the notebook (standard library only):

- run with `ANSWERS` empty, it lists each question's options in the student's own order (the
  order `Question.presentation(student)` gives, recomputed in the cell with hashlib);
- run with letters filled in, it first records each new answer as a line of
  `alr-answers/<student>.jsonl` beside the notebook (the answer-file format of `quizzes.store`:
  option ids, not letters; appended under a lock with fsync, starting a new line after a torn
  one), and only then shows the feedback of each recorded answer. Re-running an unchanged answer
  records nothing and shows its feedback again;
- the first answer to a question is the one that counts; a later one is marked practice.

Skill checks are formative. The cell carries no answer key and no hash of any option: each
option's feedback (whether it is right, and why) is XOR-encrypted with a keystream derived from
the module, the question and that option, so reading the cell shows none of it and the cell opens
only the feedback of an answer it has just recorded. Someone who reads the code can still open
every option's feedback; graded quizzes therefore go through the QTI and Moodle XML exports,
whose keys stay on the LMS server. The cells are a pure function of the quiz YAML: the build is
byte-for-byte stable.
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
# --- the checker below records your answers next to this notebook, then shows their feedback ---
def _alr_skill_check(answers, student, blob):
    import base64, datetime, getpass, hashlib, json, os, re, uuid, zlib
    data = json.loads(zlib.decompress(base64.b64decode(blob)))
    if not student.strip():
        try:
            student = getpass.getuser()
        except Exception:
            student = "student"
    student = re.sub(r"[^A-Za-z0-9._-]", "_", student.strip())[:128]
    path = os.path.join("alr-answers", student + ".jsonl")

    def order(q):  # your own order of the options (the same everywhere for you)
        key = lambda o: hashlib.sha256(f"{student}|{q['id']}|{o}".encode()).hexdigest()
        return sorted(q["options"], key=key)

    def opened(q, option):  # the feedback of one option, opened only for a recorded answer
        sealed = base64.b64decode(q["feedback"][option])
        seed = f"{data['module']}|{q['id']}|{option}".encode()
        stream = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest()
                          for i in range(len(sealed) // 32 + 1))
        return json.loads(bytes(a ^ b for a, b in zip(sealed, stream)))

    earlier = {}  # question id -> the option ids you recorded, oldest first
    try:
        with open(path, "rb") as f:
            for raw in f.read(16 * 2**20).split(b"\\n"):
                try:
                    if len(raw) < 65536 and raw.count(b"[") + raw.count(b"{") < 9:
                        r = json.loads(raw)
                        earlier.setdefault(r["question"], []).append(r["response"])
                except Exception:
                    pass
    except OSError:
        pass
    picked = {k: str(answers.get(k) or "").strip().lower() for k in data["questions"]}
    if not any(picked.values()):
        print(f"Options in your order ({student}); put your letters in ANSWERS and run again.")
        for key, q in data["questions"].items():
            print(f"\\n{key.upper()}")
            for letter, option in zip("abcdefgh", order(q)):
                print(f"  {letter}. {q['texts'][option]}")
        return
    records, shown, now = [], [], datetime.datetime.now(datetime.timezone.utc)
    for key, q in data["questions"].items():
        letters, choice = dict(zip("abcdefgh", order(q))), picked[key]
        if not choice:
            print(f"{key}: not answered yet")
            continue
        if choice not in letters:
            print(f"{key}: {choice!r} is not one of {', '.join(letters)}: not recorded")
            continue
        option, before = letters[choice], earlier.get(q["id"], [])
        if not before or before[-1] != option:  # unchanged answers are not recorded twice
            records.append({"schema": "alr-answer/1", "event_id": uuid.uuid4().hex,
                            "student": student, "module": data["module"], "question": q["id"],
                            "response": option, "source": "notebook",
                            "answered_at": now.strftime("%Y-%m-%dT%H:%M:%SZ")})
            before = before + [option]
        shown.append((key, q, option, before))
    if records:
        payload = "".join(json.dumps(r, sort_keys=True) + "\\n" for r in records).encode()
        os.makedirs("alr-answers", exist_ok=True)
        with open(path, "a+b") as f:
            try:
                import fcntl
                fcntl.flock(f, fcntl.LOCK_EX)
            except ImportError:
                pass
            if f.seek(0, 2) > 0:  # after a torn last line, start on a line of our own
                f.seek(-1, 2)
                payload = (b"" if f.read(1) == b"\\n" else b"\\n") + payload
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        print(f"recorded {len(records)} answer(s) in {path}; send them with `alr quiz sync`\\n")
    right = counted = 0
    for key, q, option, before in shown:
        feedback = opened(q, option)
        verdict = "right" if feedback["right"] else "not right"
        if len(before) == 1:
            counted, right = counted + 1, right + feedback["right"]
            note = "your first answer: the one that counts"
        else:
            mine = {o: letter for letter, o in zip("abcdefgh", order(q))}
            note = f"practice: your first answer, {mine.get(before[0], '?')}, is what counts"
        print(f"{key}: {verdict} ({note}). {feedback['why']}")
    if counted:
        print(f"\\nfirst answers: {right}/{counted} right")


_alr_skill_check(ANSWERS, STUDENT, _ALR_BLOB)
"""


def _sealed(module_id: str, question_id: str, option_id: str, plain: bytes) -> str:
    """`plain` XOR a SHA-256 keystream of (module, question, option), in base64: what the cell's
    `opened` inverts."""
    seed = f"{module_id}|{question_id}|{option_id}".encode()
    blocks = len(plain) // 32 + 1
    stream = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(blocks))
    return base64.b64encode(bytes(a ^ b for a, b in zip(plain, stream, strict=False))).decode()


def _blob(module_id: str, questions: tuple[Question, ...]) -> str:
    payload = {
        "module": module_id,
        "questions": {
            f"q{i}": {
                "id": q.id,
                "options": list(q.option_ids),
                "texts": {o.id: o.text for o in q.options},
                "feedback": {
                    o.id: _sealed(
                        module_id,
                        q.id,
                        o.id,
                        json.dumps({"right": o.correct, "why": o.explanation}).encode(),
                    )
                    for o in q.options
                },
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
        "Four questions to check the section's math and feed your practice queue. They are "
        "formative: your first answer to each question is what your score and your queue use, "
        "and answering again is practice. Put your id in `STUDENT` in the next cell and run it: "
        "it lists each question's options in your own order. Then put your letters in `ANSWERS` "
        "and run it again: it saves your answers in `alr-answers/` beside this notebook (send "
        "them with `alr quiz sync`) and then shows why each one is right or not.",
    ]
    for i, q in enumerate(questions, 1):
        lines += ["", f"**Q{i}.** {q.stem.strip()}"]
    return "\n".join(lines)


def _code(module_id: str, questions: tuple[Question, ...]) -> str:
    head = [f"# Skill check {module_id}: run once to see your options, then fill in your letters."]
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
