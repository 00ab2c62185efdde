"""`python -m assistant` runs the command line."""

from assistant.cli.main import main

# Guarded: skill worker processes are spawned and must not run the command line again.
if __name__ == "__main__":
    raise SystemExit(main())
