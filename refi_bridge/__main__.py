"""``python -m refi_bridge`` runs the ``refi-bridge`` command."""

from refi_bridge.cli import main

main()
