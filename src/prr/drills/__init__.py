"""Drills: active, bounded, opt-in failure-scenario tests whose outcomes are evidence."""
