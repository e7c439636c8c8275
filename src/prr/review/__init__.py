"""The review workflow: a decision by people around the evidence, recorded and frozen."""
