"""The ``refi-bridge`` command's entry point (also ``python -m refi_bridge``).

Importing the command (click, and everything it needs) takes a moment; Ctrl-C in that moment must end the
command as quietly as it does later, so the import happens inside :func:`main`, where the interrupt is
caught. ``import refi_bridge`` itself imports nothing.
"""

import sys

INTERRUPTED = "interrupted; nothing was written"


def main() -> None:
    try:
        from refi_bridge.cli import cli
    except KeyboardInterrupt:
        sys.stderr.write(("\n" if sys.stderr.isatty() else "") + INTERRUPTED + "\n")
        sys.exit(130)
    cli(prog_name="refi-bridge")


if __name__ == "__main__":
    main()
