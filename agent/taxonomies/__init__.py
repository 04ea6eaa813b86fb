"""Packaged taxonomies (YAML) and the drafting of a team's own (``draft``)."""
