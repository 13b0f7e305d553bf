"""Naming a student's mistake: the known wrong variants of every graded function (`variants`),
each the reference with one piece replaced (`compose`)."""
