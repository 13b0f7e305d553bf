"""The grading pipeline, its sandbox, diagnosis, reports and LMS exports."""
