"""``python -m kenning.cli``: the same as the ``kenning`` script."""

from kenning.cli.app import main

main()
