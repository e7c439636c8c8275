"""Renderings of checklists, assessments and reviews for people and machines."""
