"""The daemon's command line as a module, so that ``python -m cProfile -m bench._daemon_main``
can profile the very process the sync benchmark measures (``hybridcal.cli`` has no ``__main__``).
"""

from __future__ import annotations

from hybridcal.cli import main

if __name__ == "__main__":
    main(prog_name="hybridcal")
