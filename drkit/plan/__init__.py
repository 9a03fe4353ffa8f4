"""The plan vocabulary every changing operation shares: steps, the conditions they check, and
the executor that runs them (recovery, resume, promotion, extraction, flashback)."""
