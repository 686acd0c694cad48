"""Builders behind the ``seed_demo`` and ``seed_scale`` management commands.

``common`` holds what both share (the quarterly calendar, weekly check-in days, value
paths, the one password, the guard against foreign databases); ``demo_content`` is the
demo company's story as plain data and ``demo`` writes it through the services;
``scale`` generates a large organisation and writes it in bulk.
"""
