"""The work behind each pipeline component, as plain functions.

A KFP component body only imports one of these and calls it, so the same code runs in a pod, in a
kfp.local subprocess and in unit tests, and the compiled YAML stays small and stable.
"""
