"""Learner, trainer, manager and HR pages under /learning/, and the JSON API."""
