"""Skill checks, practice banks, answer storage, scoring and the adaptive practice queue.

Modules:
    model           Question (id, module, slot, kind, stem, options, partial_credit, answer,
                    tolerance, concepts, points, generator, parameters; `instantiate(seed)`,
                    `presentation(student)`, `misconceptions`), ModuleQuiz, QuizCatalog
    bank            load_quizzes(), validate_quizzes(), load_skill_check(module) - the YAML in
                    data/, read with alr.yamlio
    generators      realisable states, keys and wrong keys of generated numeric questions
    misconceptions  the misconceptions a wrong answer can reveal, their concepts and words
    concepts        the concept prerequisite DAG and the function/diagnosis -> concept tables
    notebook        skill_check_cells(module) - the cells appended to each student notebook
    store           answer files (<student>.jsonl, schema "alr-answer/1"), locked appends, sync
    scoring         score_response(), score files (quizzes/<student>.json, "alr-quiz-score/1");
                    first answers count, later ones are practice
    evidence        Event (the queue's input) and the readers of today's result and score files
    mastery         the student model: BKT mastery, FSRS review, misconceptions shown
    queue           the ordered practice queue -> queues/<student>.json ("alr-queue/1")
    api, cli        the jobs as keyword-only functions, and `alr quiz ...` / `alr queue`

The file schemas are documented in the docstrings of store (answers), scoring (scores) and
queue (queues).
"""
