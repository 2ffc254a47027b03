"""The networks chapters analyse: the ones the book trains and the one name resolver.

- ``zoo``: the small networks the book trains itself and every chapter shares.
- ``family``: the DI chapter's family of widths and depths, trained with the zoo's recipe.

May import: ``helpers.data``, ``helpers.models``, ``helpers.train`` (and the base modules).
"""
