"""Taking submissions in: finding them in the course, reading and repairing them, and
collecting them from an LMS export."""
