"""Running a scenario: the session, one trial, the executors (local, Ray, fake), setup."""
