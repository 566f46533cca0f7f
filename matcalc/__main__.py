"""`python -m matcalc`: the same command line as `matcalc` (matcalc/cli.py)."""
from .cli import main

if __name__ == "__main__":
    main()
