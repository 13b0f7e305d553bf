"""The bottom layer of the course package: what every other part shares, and nothing else.

    contract   the graded-function contract: modules, functions, call shapes, tolerances
    misconceptions  the misconception ids (an enum) with their teaching hints
    results    the result model: one graded (student, module) cell, read and written
    errors     the exception hierarchy (AlrError and its kinds)
    fileio     atomic file writes
    yamlio     the typed YAML reader of course and quiz files
    markdown   the markdown/math checker of course and quiz text

Nothing here imports torch, the reference solutions or any other package of the project.
"""

#: The top-level packages of this distribution, bottom layer first (pyproject's package list; a
#: test checks they agree): what the Gradescope wheel ships and student code may never import.
PACKAGES: tuple[str, ...] = ("alr", "solutions", "course", "autograder", "quizzes", "cli")
