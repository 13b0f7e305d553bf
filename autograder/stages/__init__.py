"""The grading stages of one submission, one module each, with typed hand-offs (`context`):

    load -> extract -> run -> compare -> diagnose -> score -> write_result

`pipeline.grade_submission` runs them in order.
"""
