"""Team work: hand a master project to N coders (``splitting``), merge what they return from any tool
(``merging``, with ``anchoring`` to put codings back on the master text), and the file-level jobs of both
(``jobs``).
"""
