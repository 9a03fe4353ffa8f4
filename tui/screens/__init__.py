"""The console's screens: dashboard, timeline, recovery, extraction, promotion, audit, help."""
