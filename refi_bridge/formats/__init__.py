"""The REFI-QDA files: the project XML (``qde``), the zip archive (``qdpx``), position units, text
encodings, the writer dialects, schema and rule validation, and ``read``/``write`` on top of them.

This is the only package that touches lxml or zipfile; everything above it sees the model.
"""
