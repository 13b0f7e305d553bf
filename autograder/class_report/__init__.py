"""The class report: one static HTML page an instructor opens in a browser.

`build_report(results_dir=DIR)` (in `build`) reads the graded results of a class through the
result model (`alr.results`) and writes `DIR/report.html`: score distributions per module and
function, the most frequent misconceptions per function with counts and an example hint,
skill-check answers per question (which distractors students pick), the students who need
attention, the blank cells (modules not submitted, never counted as 0) and the submissions that
no module could be given (problems, never grades), and the grader version and sandbox level used.
Plots are inline SVG; the page has no scripts and loads nothing from the network. `alr report
RESULTS_DIR [--out DIR]` is its command.
"""
