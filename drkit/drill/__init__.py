"""Playbooks and recovery drills: YAML runbooks that run the real engine and measure RTO and RPO."""
