"""mella's own datatrove steps, one concern per module."""
