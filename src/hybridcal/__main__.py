"""``python -m hybridcal``: the same command line as the ``hybridcal`` script."""

from hybridcal.cli import main

if __name__ == "__main__":
    main(prog_name="hybridcal")
