"""nbval runs the notebooks here the way a visitor on Binder would: no key, offline provider.

The kernels nbval starts inherit this process's environment, so it is set before any notebook
runs: a throw-away LLM_MAGICS_HOME (no stored keys, history or settings from the host), no key
variables, the offline provider with no pacing delay (the pacing itself is not what nbval checks),
and no OS keyring.
"""

from __future__ import annotations

import os
import tempfile

_KEY_VARS = (
    "KIMI_API_KEY", "MOONSHOT_API_KEY", "KIMI_BASE_URL", "MOONSHOT_BASE_URL",
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL",
    "OPENAI_COMPATIBLE_API_KEY", "OPENAI_COMPATIBLE_BASE_URL",
    "LLM_MAGICS_PROVIDER", "LLM_MAGICS_MODEL", "LLM_MAGICS_TEMPERATURE", "LLM_MAGICS_MAX_TOKENS",
    "LLM_MAGICS_RPM", "LLM_MAGICS_CASSETTE",
)

for _var in _KEY_VARS:
    os.environ.pop(_var, None)
os.environ["LLM_MAGICS_HOME"] = tempfile.mkdtemp(prefix="llm-magics-nbval-")
os.environ["LLM_MAGICS_OFFLINE_DELAY"] = "0"
os.environ["LLM_MAGICS_REPLAY_SPEED"] = "0"
os.environ["LLM_MAGICS_NO_KEYRING"] = "1"
