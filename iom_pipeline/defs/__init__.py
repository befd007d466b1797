"""Dagster definitions, grouped by domain: survey (landing to marts) and publication."""

import warnings

import dagster as dg

# Per-partition asset checks are a preview feature we rely on deliberately (checks per survey year).
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
warnings.filterwarnings("ignore", category=dg.BetaWarning)
