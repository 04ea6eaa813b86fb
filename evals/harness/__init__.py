"""Running golden cases through the real routing graph without touching production data."""
