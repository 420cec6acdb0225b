"""Hypothesis profiles. Under CI=true hypothesis' built-in ``ci`` profile is in charge; set
HYPOTHESIS_PROFILE=dev (quick) or HYPOTHESIS_PROFILE=thorough (hunting) to pick one of ours."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=20, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])

if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
