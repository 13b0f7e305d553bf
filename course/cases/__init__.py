"""Concrete cases of the graded functions, shared by the notebooks' visible tests and the grader.

program   a case as a straight-line program of calls (plain data; also copied into the sandbox)
expand    CaseSpec -> CaseInstance: the calls, the seeded inputs, the tolerance
trusted   running a case with trusted code (the references, or a known wrong variant)
"""
