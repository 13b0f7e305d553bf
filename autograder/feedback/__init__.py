"""The student's feedback page of one graded result (`page`)."""
