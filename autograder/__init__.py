"""The grading pipeline, its sandbox, diagnosis, reports and LMS exports.

    from autograder.grade import grade_batch
    summary = grade_batch(["alice.ipynb", "bob.py"], out="results", workers=2)

writes results/<student>/<module>.json for each module a submission is scoped to (a
Gradescope results.json; the project's fields in `extra_data`, each test tagged [module, function,
misconception id]) with results/<student>/<module>.html beside it where something failed,
results/<student>/unscoped-<name>.json for a file no module could be given,
results/summary.csv and results/.batch.json (the batch seed). `alr grade` is the same call.

One submission flows through the stages of `autograder.stages` (each a module, see
`stages.pipeline`): load -> extract definitions -> run the cases in the sandbox (`sandbox`) ->
compare in the parent -> diagnose (the known wrong variants in `diagnosis`) -> score -> write the
result and its feedback page (`feedback`). The cases come from the course (`course.cases`); the
batch `plan` holds them with their reference outcomes. The LMS exports (`export`) and the class
report (`class_report`) read only the result model (`alr.results`).
"""

#: Wall-clock seconds a submission may run in the sandbox (alr grade --timeout).
DEFAULT_TIMEOUT = 60.0
