"""Pseudonymising a coded project: a key of names and their replacements applied to every text and name,
every coding kept on its passage (see docs/pseudonymising.md).

:mod:`~refi_bridge.privacy.key` reads and compiles the key, :mod:`~refi_bridge.privacy.rewriting` rewrites one
text and maps its positions, :mod:`~refi_bridge.privacy.pseudonymising` applies the key to a whole project,
:mod:`~refi_bridge.privacy.files` decides what happens to files no key can rewrite,
:mod:`~refi_bridge.privacy.report` says what was done, :mod:`~refi_bridge.privacy.suggesting` drafts a key,
and :mod:`~refi_bridge.privacy.jobs` does it all on files.
"""
