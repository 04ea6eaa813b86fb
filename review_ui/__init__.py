"""Review UI and operator console."""
