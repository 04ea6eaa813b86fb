"""The sections of :class:`agent.config.Settings`, one module each."""
