"""What the person asked of their model: stated preferences and facts, how they are
recognised in a message (`extract`), and how an answer is checked against them (`check`).
Stored in the log (`personal.log.preferences`)."""

from personal.prefs.preferences import (
    Candidate,
    Preference,
    Preferences,
    ScanReport,
    derive_checks,
    extract_from_message,
    scan,
)

__all__ = ["Candidate", "Preference", "Preferences", "ScanReport", "derive_checks",
           "extract_from_message", "scan"]
