"""Tables and workbooks: the codings table, theme-by-case matrices, Excel layout (``excel``), the
agreement, merge and matrix workbooks (``workbooks``) and the jobs that read a project and write them
(``reports``, ``export``).
"""
