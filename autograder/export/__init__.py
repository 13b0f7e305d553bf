"""LMS exports: graded results and quiz scores into the systems instructors already use.

Targets (each one module, each with a keyword-only API function and a thin `alr export` command):

- `gradescope`: an autograder zip (`setup.sh`, `run_autograder`, a wheel of this package) that
  grades `/autograder/submission` into `/autograder/results/results.json`.
- `canvas`: a Canvas gradebook import CSV, students matched against a Canvas roster export.
- `moodle`: a Moodle grade import CSV keyed by email, one grade and one feedback column per item.
- `lti`: LTI 1.3 Assignment and Grade Services score JSON per student, optionally posted.
- `nbgrader`: grades written into an nbgrader gradebook database through nbgrader's API.
- `qti`, `moodle-xml`: the skill checks and practice banks as a Canvas QTI 1.2 zip or Moodle XML.

Every export reads result files (`DIR/<student>.json`) and quiz scores (`DIR/quizzes/`), refuses
malformed input with an `ExportError` naming file, field and fix, writes atomically, and
neutralises spreadsheet formulas in student-derived text.
"""
