"""The ReaLM method as small pure functions: verifiers, EAAI fade schedules, MRPV prompts, rewards.

Nothing here imports torch or Qt: the GUI uses the same functions (e.g. the fade editor draws
exactly the curve the engine runs).
"""
