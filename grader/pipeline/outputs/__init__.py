"""What grading leaves behind: the gradebook, the result files, feedback pages, the grade
export and the class report."""
