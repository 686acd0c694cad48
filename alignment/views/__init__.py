"""Alignment pages: ``tree`` (the organisation's cascade for a cycle, and its gaps) and
``links`` (aligning an objective, cascading from a key result, supports, dependencies)."""
