"""mella: language and culture data, training and evaluation for multimodal LLMs (MELLA method).

Importing this package is cheap: heavy dependencies (datatrove, pyarrow, torch...) load where used.
"""

__version__ = "0.1.0"
