"""Goals pages, by subject: ``pages`` (home, cycle, team, person), ``objectives``
(the objective page and writing goals), ``kpis`` and ``coach``."""
