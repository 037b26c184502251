"""Stop early, with a clear message, if the virtualenv is not on the Python the locks were made for."""

import sys

WANTED = (3, 11)

if sys.version_info[:2] != WANTED:
    sys.exit(
        f"The locked requirements are for Python {WANTED[0]}.{WANTED[1]}, but .venv runs Python "
        f"{sys.version.split()[0]}. Install Python {WANTED[0]}.{WANTED[1]}, then: "
        f"make distclean && make run PYTHON=/path/to/python{WANTED[0]}.{WANTED[1]}"
    )
