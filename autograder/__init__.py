"""The grading pipeline, its sandbox, diagnosis, reports and LMS exports.

    from autograder.grade import grade_batch
    summary = grade_batch(["alice.ipynb", "bob.py"], out="results", workers=2)

writes results/<student>.json (a Gradescope results.json; the project's fields in `extra_data`,
each test tagged [module, function, misconception id]), results/feedback/<student>.html,
results/summary.csv and results/.batch.json (the batch seed). `alr grade` is the same call.

One submission flows through `autograder.pipeline.STAGES`: load (`load`) -> extract definitions
(`extract`) -> run the cases in the sandbox (`run`) -> compare in the parent (`compare`) ->
name the mistake (`diagnose`, wrong variants in `variants*`, hints in `hints`) -> score
(`score`) -> write the result and feedback (`report`, `feedback`). The cases come from the
course's `CaseSpec`s (`harness`, call signatures in `functions`); the batch `plan` holds them
with their reference outcomes (`reference`).
"""

#: Wall-clock seconds a submission may run in the sandbox (alr grade --timeout).
DEFAULT_TIMEOUT = 60.0
