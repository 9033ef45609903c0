#!/usr/bin/env python
"""Django's conventional entry point; `telederm` (pyproject scripts) does the same."""

from telederm.__main__ import main

if __name__ == "__main__":
    main()
