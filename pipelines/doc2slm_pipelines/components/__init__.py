"""Thin KFP components: each body imports one function of doc2slm_pipelines.steps and calls it.

Bodies hold no logic because KFP ships only the function's source into the pod; everything else comes
from the image, where it is tested like any other library code.
"""
