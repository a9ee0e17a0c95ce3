"""uotviz: object-detection matching seen as entropic unbalanced optimal transport."""
