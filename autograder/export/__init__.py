"""LMS exports: graded results and quiz scores into the systems instructors already use.

Targets (each one module, each with a keyword-only API function and a thin `alr export` command):

- `gradescope`: an autograder zip (`setup.sh`, `run_autograder`, a wheel of this package) that
  grades `/autograder/submission` into `/autograder/results/results.json`.
- `canvas`: a Canvas gradebook import CSV, students matched against a Canvas roster export.
- `moodle`: a Moodle grade import CSV keyed by email, one grade and one feedback column per item.
- `lti`: LTI 1.3 Assignment and Grade Services score JSON per student, optionally posted.
- `nbgrader`: grades written into an nbgrader gradebook database through nbgrader's API.
- `qti`, `moodle-xml`: the skill checks and practice banks as a Canvas QTI 1.2 zip or Moodle XML.

Every grade export reads the result model only (`alr.results`: `DIR/<student>/<module>.json`)
and the quizzes package's skill-check scores (`DIR/quizzes/`), through one grade table
(`gradesheet`): a module a student did not submit is blank, never 0, and listed; a submission no
module could be given is a problem, listed, never a grade. Identity cells are validated and
written exactly as given (`identity`); only free text is guarded against spreadsheet formulas.
Malformed input is refused with an error naming file, field and fix; files are written
atomically.
"""
