"""The playground's catalogs for a shop away from Kenya (``dukabot playground --currency XOF``): one per currency."""
