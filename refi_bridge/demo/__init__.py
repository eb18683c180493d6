"""The bundled dyad study (``study``: 12 therapist-client dyads, 47 interviews, three coders in three tools)
and ``refi-bridge demo``, the whole pipeline run on it (``pipeline``).
"""
