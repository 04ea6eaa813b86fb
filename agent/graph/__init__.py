"""The routing graph: guard → version → embed → retrieve → classify → decide → record."""
