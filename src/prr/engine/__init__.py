"""The assessment layer: run collectors and checks, decide items, apply the rules."""
