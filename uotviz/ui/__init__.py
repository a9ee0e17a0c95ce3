"""Streamlit widgets and session-state helpers of the app (the only part of uotviz importing
Streamlit). Each module returns plain values or core objects; the logic they call lives outside
this package."""
