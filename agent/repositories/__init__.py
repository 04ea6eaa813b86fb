"""All SQL lives here. Functions take a session; none of them commits."""
