"""Small reusable widgets, one per file (``qt_<thing>.py``)."""
