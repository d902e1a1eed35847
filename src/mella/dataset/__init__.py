"""The MELLA dataset: templates, splits, samples and mixing, and the composed dataset folder."""
