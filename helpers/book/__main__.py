"""``python -m helpers.book``: see :mod:`helpers.book.runner`."""

from .runner import main

main()
