"""The review UI's read queries. Writes go through ``agent`` services and repositories."""
