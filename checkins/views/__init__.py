"""Check-in pages: ``weekly`` (my weekly check-in, a key result's check-in history and
corrections) and ``review`` (the team's weekly review, one-to-ones)."""
