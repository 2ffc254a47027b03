"""The networks chapters analyse: the ones the book trains and the one name resolver.

- ``zoo``: the small networks the book trains itself and every chapter shares.
- ``family``: the DI chapter's family of widths and depths, trained with the zoo's recipe.
- ``resolve``: one entry of a chapter's ``models`` list (a zoo, family or released name, a
  weight file spandrel reads, or ``package.module:callable``) -> a checked ``SRModel``.

May import: ``helpers.data``, ``helpers.models``, ``helpers.train`` (and the base modules).
"""
